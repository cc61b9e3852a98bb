"""A zero-shot task and its measures (Xian et al. 2017, "Zero-shot learning: the good, the bad and
the ugly"), whatever the features and class semantics come from (the xlsa17 files,
:mod:`advkt.zsl.xlsa17`; the CIFAR-10 protocol, :mod:`advkt.zsl.cifar10`).

- ZSL: the mean over unseen classes of each class's top-1 accuracy, a prediction ranging over the
  unseen classes only (:func:`per_class_accuracy`);
- GZSL: the per-class accuracy on test-seen (S) and test-unseen (U) samples, a prediction ranging
  over all classes, and their harmonic mean H = 2SU / (S + U) (:func:`gzsl`).

A method is anything with ``fit(task, seed)``, ``predict_zsl(x)`` (class indices among
``task.unseen_classes``) and ``predict_gzsl(x)`` (among all classes); :func:`evaluate` scores it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass
class ZSLTask:
    features: np.ndarray  # (N, D) float32
    labels: np.ndarray  # (N,) int64, 0-based over all C classes
    attributes: np.ndarray  # (C, A) float32: each class's semantics
    trainval: np.ndarray  # sample indices, 0-based: the training rows (seen classes)
    test_seen: np.ndarray
    test_unseen: np.ndarray
    names: list[str] | None = None  # the C class names, when known

    @property
    def seen_classes(self) -> np.ndarray:
        return np.unique(self.labels[self.trainval])

    @property
    def unseen_classes(self) -> np.ndarray:
        return np.unique(self.labels[self.test_unseen])

    def minmax(self) -> ZSLTask:
        """The features scaled to [0, 1] per dimension by the training rows' range (the same
        preprocessing for every method; test rows may fall outside it)."""
        x = self.features[self.trainval]
        lo, span = x.min(0), np.maximum(x.max(0) - x.min(0), 1e-12)
        return replace(self, features=((self.features - lo) / span).astype(np.float32))

    def validation(self, n_classes: int, seed: int = 0, test_share: float = 0.2) -> ZSLTask:
        """A task inside the training rows, for choosing hyper-parameters: ``n_classes`` seen
        classes (drawn by ``seed``) play the unseen ones (all their training rows are its
        test-unseen rows), and ``test_share`` of the other classes' rows its test-seen rows."""
        rng = np.random.default_rng(seed)
        seen = self.seen_classes
        if not 1 <= n_classes < len(seen):
            raise ValueError(
                f"validation: {n_classes} of {len(seen)} seen classes cannot be held out"
            )
        held = rng.choice(seen, n_classes, replace=False)
        rows = rng.permutation(self.trainval)
        out = np.isin(self.labels[rows], held)
        rest = rows[~out]
        n_test = int(round(test_share * len(rest)))
        return replace(self, trainval=np.sort(rest[n_test:]), test_seen=np.sort(rest[:n_test]),
                       test_unseen=np.sort(rows[out]))  # fmt: skip


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


def evaluate(method, task: ZSLTask) -> dict[str, float]:
    """``{"zsl_top1", "gzsl_u", "gzsl_s", "gzsl_h"}`` (%) of a fitted ``method`` on ``task``."""
    x, y = task.features, task.labels
    xs, ys, xu, yu = x[task.test_seen], y[task.test_seen], x[task.test_unseen], y[task.test_unseen]
    g = gzsl(method.predict_gzsl(xs), ys, method.predict_gzsl(xu), yu)
    return {
        "zsl_top1": per_class_accuracy(method.predict_zsl(xu), yu),
        "gzsl_u": g["U"],
        "gzsl_s": g["S"],
        "gzsl_h": g["H"],
    }
