"""Amazon reviews sentiment domains (Blitzer et al. 2007), in the 5,000-feature svmlight form of
the DANN paper's release (Ganin et al. 2016): books, dvd, electronics, kitchen.

Layout: ``<root>/amazon-reviews/<domain>_{train,test}.svmlight``, one review a line:
``<label> <index>:<count> ...`` with labels -1 / +1 (negative / positive) and 0-based feature
indices below 5,000. Parsed here as text (no stored code runs): dense float32 (N, 5000) counts,
labels 0 (negative) / 1 (positive).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from advkt.data._files import missing_files_error, read_bytes
from advkt.data.base import DataError, TensorData, check_split
from advkt.registry import register_dataset

DOMAINS = ("books", "dvd", "electronics", "kitchen")
FEATURES = 5000
LAYOUT = "<root>/amazon-reviews/<domain>_{train,test}.svmlight (labels -1/+1, index:count)"


def read_svmlight(path: Path, n_features: int = FEATURES) -> tuple[np.ndarray, np.ndarray]:
    """``(dense float32 (N, n_features), labels int64 (N,) in {0, 1})`` of one svmlight file."""
    try:
        text = read_bytes(path).decode("ascii")
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not an svmlight text file ({e})") from e
    rows, cols, vals, labels = [], [], [], []
    for i, line in enumerate(text.splitlines(), 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if fields[0] not in ("-1", "+1", "1"):
            raise DataError(f"{path}, line {i}: label '{fields[0]}', expected -1 or +1")
        labels.append(0 if fields[0] == "-1" else 1)
        for f in fields[1:]:
            idx, sep, val = f.partition(":")
            try:
                j, v = int(idx), float(val)
            except ValueError:
                raise DataError(f"{path}, line {i}: '{f}' is not index:value") from None
            if not sep or not 0 <= j < n_features:
                raise DataError(f"{path}, line {i}: feature '{f}' outside 0..{n_features - 1}")
            rows.append(len(labels) - 1)
            cols.append(j)
            vals.append(v)
    if not labels:
        raise DataError(f"{path}: no reviews in the file")
    x = np.zeros((len(labels), n_features), dtype=np.float32)
    np.add.at(x, (np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)), vals)
    return x, np.array(labels, dtype=np.int64)


@register_dataset("amazon_reviews")
def amazon_reviews(
    root: str | Path, split: str = "train", download: bool = False, domain: str = "books", **kw
) -> TensorData:
    """One domain's ``split`` ("train": 2,000 reviews, "test": 3,000-5,900), two classes."""
    check_split("amazon_reviews", split, ("train", "test"), kw)
    if domain not in DOMAINS:
        raise DataError(f"amazon_reviews: unknown domain '{domain}'; valid: {', '.join(DOMAINS)}")
    path = Path(root) / "amazon-reviews" / f"{domain}_{split}.svmlight"
    if not path.is_file():
        raise missing_files_error("amazon_reviews", [path.name], [path.parent], LAYOUT)
    x, y = read_svmlight(path)
    return TensorData(torch.from_numpy(x), torch.from_numpy(y), 2, name=f"amazon_reviews/{domain}")
