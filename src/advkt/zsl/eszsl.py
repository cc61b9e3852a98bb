r"""ESZSL (Romera-Paredes & Torr, "An embarrassingly simple approach to zero-shot learning",
ICML 2015), the closed-form peer of :mod:`advkt.zsl.afrnet`.

With X (d × m) the training features, Y ∈ {−1, 1}^{m × z} (1 at each row's class among the z
seen classes) and S (a × z) the seen classes' semantics, the bilinear map is

.. math:: V = (X X^\top + \gamma I)^{-1}\, X Y S^\top\, (S S^\top + \lambda I)^{-1},

and a feature x scores class c by :math:`(x - \bar x)^\top V s_c`. **Paper**: the objective, its
closed form and the {−1, 1} labels. **Ours**: one weight for both, γ = λ (``reg``), chosen on a
validation split like every peer's main weight; the features centred on the training mean x̄
(``center``, on: the bilinear model has no bias, and non-negative CNN features share a large
common component that otherwise decides the arg-max — on the tests' synthetic tasks, uncentred,
one unseen class took every prediction).
"""

from __future__ import annotations

import numpy as np

from advkt.zsl.task import ZSLTask


class ESZSL:
    def __init__(self, reg: float = 1.0, center: bool = True) -> None:
        if not reg > 0:
            raise ValueError(f"ESZSL: reg must be > 0, got {reg}")
        self.reg, self.center = reg, center

    def fit(self, task: ZSLTask, seed: int = 0) -> ESZSL:
        """Closed form: ``seed`` is unused (nothing is random)."""
        tr, seen = task.trainval, task.seen_classes
        x = task.features[tr].astype(np.float64)
        self.mean_ = x.mean(0) if self.center else np.zeros(x.shape[1])
        x = (x - self.mean_).T  # (d, m)
        pos = np.searchsorted(seen, task.labels[tr])
        y = -np.ones((len(tr), len(seen)))
        y[np.arange(len(tr)), pos] = 1.0
        s = task.attributes[seen].astype(np.float64).T  # (a, z)
        left = np.linalg.solve(x @ x.T + self.reg * np.eye(x.shape[0]), x @ y @ s.T)
        self.V_ = np.linalg.solve(s @ s.T + self.reg * np.eye(s.shape[0]), left.T).T  # (d, a)
        self.attributes_, self.unseen_ = task.attributes.astype(np.float64), task.unseen_classes
        return self

    def _scores(self, x: np.ndarray, classes: np.ndarray) -> np.ndarray:
        return (x.astype(np.float64) - self.mean_) @ self.V_ @ self.attributes_[classes].T

    def predict_zsl(self, x: np.ndarray) -> np.ndarray:
        return self.unseen_[self._scores(x, self.unseen_).argmax(1)]

    def predict_gzsl(self, x: np.ndarray) -> np.ndarray:
        return self._scores(x, np.arange(len(self.attributes_))).argmax(1)
