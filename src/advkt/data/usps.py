"""USPS handwritten digits (Hull, 1994) in the Elements of Statistical Learning text format.

Layout: ``<root>/usps/zip.{train,test}[.gz]``: one digit a line, the label (0-9, written as a
float) then 16 x 16 = 256 grey values in [-1, 1], row by row. Stored here as uint8
``round((v + 1) / 2 * 255)``, so ``to_float`` maps them back to [0, 1] = (v + 1) / 2.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from advkt.data._files import first_existing, missing_files_error, read_bytes
from advkt.data.base import DataError, TensorData, check_split
from advkt.registry import register_dataset

# Per-pixel mean/std of the 7,291 training digits on the [0, 1] scale, measured on this format.
MEAN = (0.2545,)
STD = (0.3846,)
LAYOUT = "<root>/usps/zip.{train,test}.gz (ESL text format)"
_FILES = {"train": "zip.train", "test": "zip.test"}


def read_usps(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Parse one ESL USPS file into uint8 images (N, 16, 16) and int64 labels (N,)."""
    try:
        text = read_bytes(path).decode("ascii")
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not an ESL USPS text file ({e})") from e
    rows = []
    for i, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 257:
            raise DataError(
                f"{path}, line {i}: {len(fields)} values, expected 257 (label + 16x16 pixels)"
            )
        try:
            rows.append(np.array(fields, dtype=np.float64))
        except ValueError as e:
            raise DataError(f"{path}, line {i}: {e}") from e
    if not rows:
        raise DataError(f"{path}: no digits in the file")
    a = np.stack(rows)
    labels, pixels = a[:, 0], a[:, 1:]
    if not np.all((labels >= 0) & (labels <= 9) & (labels == np.round(labels))):
        raise DataError(f"{path}: labels must be integers 0-9")
    if pixels.min() < -1.0001 or pixels.max() > 1.0001:
        raise DataError(
            f"{path}: pixel values in [{pixels.min()}, {pixels.max()}], expected [-1, 1]"
        )
    images = np.rint((np.clip(pixels, -1, 1) + 1) * 127.5).astype(np.uint8)
    return images.reshape(-1, 16, 16), labels.astype(np.int64)


def to_size(x: torch.Tensor, size: int = 28) -> torch.Tensor:
    """uint8 digit images (N, 1, H, W) resized to size x size (bilinear, rounded back to uint8);
    images already that size are returned as they are. USPS 16 x 16 -> MNIST's 28 x 28."""
    if x.shape[-2:] == (size, size):
        return x
    y = torch.nn.functional.interpolate(x.float(), size=(size, size), mode="bilinear")
    return y.round().clamp(0, 255).to(torch.uint8)


@register_dataset("usps")
def usps(root: str | Path, split: str = "train", download: bool = False, **kw) -> TensorData:
    """USPS ``split`` ("train": 7,291, "test": 2,007) as uint8 (N, 1, 16, 16), labels 0-9."""
    check_split("usps", split, _FILES, kw)
    folder = Path(root) / "usps"
    name = _FILES[split]
    path = first_existing(folder, (name + ".gz", name))
    if path is None and download:
        from advkt.data.download import download as fetch_dataset

        fetch_dataset("usps", root)
        path = first_existing(folder, (name + ".gz", name))
    if path is None:
        raise missing_files_error("usps", [name + ".gz"], [folder], LAYOUT)
    images, labels = read_usps(path)
    x = torch.from_numpy(images).unsqueeze(1)
    return TensorData(x, torch.from_numpy(labels), 10, MEAN, STD, {}, "usps")
