"""Feature encoding for the GAN: numeric columns min-max scaled to [-1, 1], nominal one-hot.

Fitted on the training data only; ``inverse`` maps generator output back: numeric columns are
unscaled, each nominal block is decoded by arg-max to the category it stands for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class TabularEncoder:
    numeric: list[int] = field(default_factory=list)
    nominal: list[int] = field(default_factory=list)
    lo: np.ndarray = field(default_factory=lambda: np.zeros(0))
    span: np.ndarray = field(default_factory=lambda: np.ones(0))
    categories: list[np.ndarray] = field(default_factory=list)
    n_features: int = 0

    @classmethod
    def fit(cls, X: np.ndarray, nominal: list[int]) -> TabularEncoder:
        d = X.shape[1]
        numeric = [j for j in range(d) if j not in set(nominal)]
        lo = X[:, numeric].min(axis=0) if numeric else np.zeros(0)
        hi = X[:, numeric].max(axis=0) if numeric else np.zeros(0)
        span = np.where(hi > lo, hi - lo, 1.0)  # constant columns map to -1 and back
        cats = [np.unique(X[:, j]) for j in nominal]
        return cls(list(numeric), list(nominal), lo, span, cats, d)

    @property
    def width(self) -> int:
        return len(self.numeric) + sum(len(c) for c in self.categories)

    @property
    def blocks(self) -> list[tuple[int, int]]:
        """(start, stop) of each one-hot block in the encoded layout (after the numeric part)."""
        out, start = [], len(self.numeric)
        for c in self.categories:
            out.append((start, start + len(c)))
            start += len(c)
        return out

    def transform(self, X: np.ndarray) -> np.ndarray:
        parts = [2.0 * (X[:, self.numeric] - self.lo) / self.span - 1.0]
        for j, cats in zip(self.nominal, self.categories):
            idx = np.searchsorted(cats, X[:, j]).clip(0, len(cats) - 1)
            onehot = np.zeros((X.shape[0], len(cats)))
            onehot[np.arange(X.shape[0]), idx] = 1.0
            parts.append(onehot)
        return np.concatenate(parts, axis=1).astype(np.float32)

    def inverse(self, Z: np.ndarray) -> np.ndarray:
        X = np.empty((Z.shape[0], self.n_features), dtype=np.float64)
        k = len(self.numeric)
        X[:, self.numeric] = (np.clip(Z[:, :k], -1.0, 1.0) + 1.0) / 2.0 * self.span + self.lo
        for j, cats, (a, b) in zip(self.nominal, self.categories, self.blocks):
            X[:, j] = cats[np.argmax(Z[:, a:b], axis=1)]
        return X
