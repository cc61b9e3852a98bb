"""The proposed splits of Xian et al. 2017 ("Zero-shot learning: the good, the bad and the ugly"),
``xlsa17``: ``<root>/<DATASET>/res101.mat`` (``features`` 2048 x N ResNet-101 features,
``labels`` N x 1 in 1..C) and ``att_splits.mat`` (``att`` D x C class attributes,
``trainval_loc``, ``test_seen_loc``, ``test_unseen_loc``, 1-based sample indices), read through
``scipy.io.loadmat`` (arrays only, no code runs), into a :class:`advkt.zsl.task.ZSLTask`, which
also holds that paper's measures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from advkt.data.base import DataError
from advkt.zsl.task import ZSLTask


def read_xlsa17(folder: str | Path) -> ZSLTask:
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

    return ZSLTask(
        feats, labels, attributes, loc("trainval_loc"), loc("test_seen_loc"), loc("test_unseen_loc")
    )
