"""Entropy-weighted label vectors of EWGAN (Ren, Liu, Liu, AAAI 2019 student abstract).

**Paper**: each class gets a label vector weighted by entropy that characterises how imbalanced
the data are; it is concatenated to the sample (critic) or the noise (generator).

**Ours** (the paper's exact formula was not at hand): with class priors p_c = n_c / N,

    h_c = -p_c log p_c,            s_c = h_c / sum_k h_k      (the class's share of H(Y))

and the label vector of class c is ``w_c * onehot(c)`` with

    w_c = s_c          (weighting="share")
    w_c = 1 - s_c      (weighting="complement")
    w_c = 1            (weighting="onehot": the ablation, a plain conditional WGAN).
"""

from __future__ import annotations

import numpy as np

WEIGHTINGS = ("share", "complement", "onehot")


def entropy_weights(counts: np.ndarray, weighting: str = "share") -> np.ndarray:
    """Per-class weights w (K,) from class counts n (K,), all n_c > 0, K >= 2."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size < 2 or np.any(counts <= 0):
        raise ValueError(f"expected at least 2 positive class counts, got {counts.tolist()}")
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    if weighting == "onehot":
        return np.ones_like(counts)
    p = counts / counts.sum()
    h = -p * np.log(p)
    if h.sum() == 0.0:  # cannot happen for K >= 2 positive counts; guards rounding only
        return np.full_like(p, 1.0 / p.size)
    share = h / h.sum()
    return share if weighting == "share" else 1.0 - share


def label_vectors(counts: np.ndarray, weighting: str = "share") -> np.ndarray:
    """Label matrix L (K, K) whose row c is w_c * onehot(c)."""
    return np.diag(entropy_weights(counts, weighting))
