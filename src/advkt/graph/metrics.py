"""Evaluation of the ARGA protocol: link prediction (AUC, AP) and clustering (ACC, NMI, ARI, F1)."""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import (
    adjusted_rand_score,
    average_precision_score,
    f1_score,
    normalized_mutual_info_score,
    roc_auc_score,
)
from torch import Tensor


def link_scores(mu: Tensor, pos: Tensor, neg: Tensor) -> dict[str, float]:
    """ROC-AUC and AP of the scores σ(μ_i · μ_j) on positive and negative pairs (2, E)."""
    with torch.no_grad():
        s_pos = torch.sigmoid((mu[pos[0]] * mu[pos[1]]).sum(-1))
        s_neg = torch.sigmoid((mu[neg[0]] * mu[neg[1]]).sum(-1))
    y = np.r_[np.ones(s_pos.numel()), np.zeros(s_neg.numel())]
    s = torch.cat([s_pos, s_neg]).double().numpy()
    return {"auc": float(roc_auc_score(y, s)), "ap": float(average_precision_score(y, s))}


def match_clusters(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Relabel clusters by the Hungarian matching that maximises agreement with ``y_true``."""
    k = int(max(y_true.max(), y_pred.max())) + 1
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (y_pred, y_true), 1)
    rows, cols = linear_sum_assignment(-counts)
    mapping = np.arange(k)
    mapping[rows] = cols
    return mapping[y_pred]


def cluster_scores(
    mu: Tensor, y: Tensor, num_clusters: int | None = None, seed: int = 0
) -> dict[str, float]:
    """KMeans (k = number of classes) on μ; matched accuracy, NMI, ARI and macro F1."""
    y_true = y.cpu().numpy()
    k = num_clusters or int(y_true.max()) + 1
    pred = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(mu.detach().numpy())
    matched = match_clusters(y_true, pred)
    return {
        "acc": float((matched == y_true).mean()),
        "nmi": float(normalized_mutual_info_score(y_true, pred)),
        "ari": float(adjusted_rand_score(y_true, pred)),
        "f1": float(f1_score(y_true, matched, average="macro")),
    }
