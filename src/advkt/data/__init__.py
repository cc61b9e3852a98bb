"""Dataset loaders: one module per on-disk format; each returns a :class:`TensorData` split.

Importing this package registers every loader under its name in ``advkt.registry.DATASETS``.
"""

from __future__ import annotations

import os
from pathlib import Path

from advkt.data import (  # noqa: F401 (register)
    amazon_reviews,
    cifar,
    imagefolder,
    mnist,
    mnist1d,
    office_caltech,
    reid,
    ssda,
    usps,
    webdataset,
)
from advkt.data.base import DataError, TensorData
from advkt.registry import DATASETS

DATA_ENV = "ADVKT_DATA"

__all__ = ["DATA_ENV", "DataError", "TensorData", "load", "resolve_root"]


def resolve_root(root: str | Path | None) -> Path:
    """The data root: ``root`` if given, else ``$ADVKT_DATA``, else ``./data``."""
    if root:
        return Path(root).expanduser()
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else Path("data")


def load(name: str, root: str | Path | None = None, split: str = "train", **kw) -> TensorData:
    """The ``split`` of dataset ``name`` (a registered loader) under the resolved data root."""
    return DATASETS.get(name)(resolve_root(root), split=split, **kw)
