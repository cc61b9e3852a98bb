"""The proposed splits of Xian et al. 2017 ("Zero-shot learning: the good, the bad and the ugly"),
``xlsa17``: ``<root>/<DATASET>/res101.mat`` (``features`` 2048 x N ResNet-101 features,
``labels`` N x 1 in 1..C) and ``att_splits.mat`` (``att`` D x C class attributes,
``trainval_loc``, ``test_seen_loc``, ``test_unseen_loc``, 1-based sample indices), read through
``scipy.io.loadmat`` (arrays only, no code runs), and the measures of that paper:

- ZSL: the mean over unseen classes of each class's top-1 accuracy (:func:`per_class_accuracy`);
- GZSL: the per-class accuracy on test-seen (S) and test-unseen (U) samples, a prediction ranging
  over all classes, and their harmonic mean H = 2SU / (S + U) (:func:`gzsl`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from advkt.data.base import DataError


@dataclass
class XLSA17:
    features: np.ndarray  # (N, 2048) float32
    labels: np.ndarray  # (N,) int64, 0-based classes
    attributes: np.ndarray  # (C, D) float32
    trainval: np.ndarray  # sample indices, 0-based
    test_seen: np.ndarray
    test_unseen: np.ndarray

    @property
    def seen_classes(self) -> np.ndarray:
        return np.unique(self.labels[self.trainval])

    @property
    def unseen_classes(self) -> np.ndarray:
        return np.unique(self.labels[self.test_unseen])


def read_xlsa17(folder: str | Path) -> XLSA17:
    """One data set folder of xlsa17 (e.g. ``xlsa17/data/CUB``)."""
    try:
        from scipy.io import loadmat
    except ImportError:  # pragma: no cover - scipy comes with the da extra
        raise DataError(
            "reading xlsa17's .mat files needs scipy: pip install 'advkt[da]'"
        ) from None
    folder = Path(folder)
    for name in ("res101.mat", "att_splits.mat"):
        if not (folder / name).is_file():
            raise DataError(f"xlsa17: missing {folder / name}")
    res, att = loadmat(str(folder / "res101.mat")), loadmat(str(folder / "att_splits.mat"))
    need = {
        "res101.mat": (res, ("features", "labels")),
        "att_splits.mat": (att, ("att", "trainval_loc", "test_seen_loc", "test_unseen_loc")),
    }
    for name, (d, keys) in need.items():
        missing = [k for k in keys if k not in d]
        if missing:
            raise DataError(f"xlsa17: {folder / name} lacks {', '.join(missing)}")
    feats = np.asarray(res["features"], dtype=np.float32).T
    labels = np.asarray(res["labels"]).reshape(-1).astype(np.int64) - 1
    attributes = np.asarray(att["att"], dtype=np.float32).T
    if feats.shape[0] != labels.shape[0]:
        raise DataError(f"xlsa17: {feats.shape[0]} feature rows but {labels.shape[0]} labels")
    if labels.min() < 0 or labels.max() >= attributes.shape[0]:
        raise DataError(f"xlsa17: labels outside 1..{attributes.shape[0]} (the attribute classes)")

    def loc(key: str) -> np.ndarray:
        idx = np.asarray(att[key]).reshape(-1).astype(np.int64) - 1
        if idx.size and (idx.min() < 0 or idx.max() >= len(labels)):
            raise DataError(f"xlsa17: {key} indexes outside the {len(labels)} samples")
        return idx

    return XLSA17(
        feats, labels, attributes, loc("trainval_loc"), loc("test_seen_loc"), loc("test_unseen_loc")
    )


def per_class_accuracy(
    pred: np.ndarray, truth: np.ndarray, classes: np.ndarray | None = None
) -> float:
    """Mean over ``classes`` (default: those in ``truth``) of each class's top-1 accuracy, in %."""
    pred, truth = np.asarray(pred), np.asarray(truth)
    classes = np.unique(truth) if classes is None else np.asarray(classes)
    accs = [np.mean(pred[truth == c] == c) for c in classes if np.any(truth == c)]
    if not accs:
        raise ValueError("per_class_accuracy: no sample of the given classes")
    return 100.0 * float(np.mean(accs))


def gzsl(
    pred_seen: np.ndarray, y_seen: np.ndarray, pred_unseen: np.ndarray, y_unseen: np.ndarray
) -> dict[str, float]:
    """``{"S", "U", "H"}`` in % from predictions over all classes on test-seen and test-unseen."""
    s, u = per_class_accuracy(pred_seen, y_seen), per_class_accuracy(pred_unseen, y_unseen)
    return {"S": s, "U": u, "H": 0.0 if s + u == 0 else 2 * s * u / (s + u)}
