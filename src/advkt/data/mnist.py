"""MNIST from the original IDX files (LeCun et al., 1998), gzipped or not.

Layout: ``<root>/mnist/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`` (what
``torchvision.datasets.MNIST(<root>/mnist)`` reads), or the same under ``<root>/MNIST/raw/``.

IDX: a big-endian header ``0x00 0x00 <type> <ndim>`` then ``ndim`` uint32 sizes, then the data
in C order. Images are type 0x08 (ubyte) with 3 dims (N, 28, 28): magic 0x00000803; labels are
ubyte with 1 dim: magic 0x00000801.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import torch

from advkt.data._files import first_existing, missing_files_error, read_bytes
from advkt.data.base import DataError, TensorData, check_split
from advkt.registry import register_dataset

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
MEAN = (0.1307,)
STD = (0.3081,)
LAYOUT = "<root>/mnist/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]"
_PREFIX = {"train": "train", "test": "t10k"}


def read_idx(path: Path, magic: int) -> np.ndarray:
    """Parse one IDX file of unsigned bytes; check its magic number and its length."""
    raw = read_bytes(path)
    ndim = magic & 0xFF
    head = 4 + 4 * ndim
    if len(raw) < head:
        raise DataError(f"{path}: truncated IDX file ({len(raw)} bytes, header needs {head})")
    (got,) = struct.unpack(">I", raw[:4])
    if got != magic:
        raise DataError(f"{path}: IDX magic number 0x{got:08x}, expected 0x{magic:08x}")
    dims = struct.unpack(f">{ndim}I", raw[4:head])
    want = int(np.prod(dims))
    if len(raw) - head != want:
        raise DataError(
            f"{path}: IDX header says {'x'.join(map(str, dims))} = {want} bytes of data, "
            f"found {len(raw) - head} (truncated or corrupt)"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=head).reshape(dims)


def mnist_folder(root: Path) -> Path | None:
    for d in (root / "mnist" / "MNIST" / "raw", root / "MNIST" / "raw"):
        if d.is_dir():
            return d
    return None


def _find(root: Path, split: str) -> tuple[Path, Path] | list[str]:
    """(images, labels) paths, or the list of missing file names."""
    p = _PREFIX[split]
    stems = (f"{p}-images-idx3-ubyte", f"{p}-labels-idx1-ubyte")
    folder = mnist_folder(root)
    found = [first_existing(folder, (s, s + ".gz")) if folder else None for s in stems]
    if all(found):
        return found[0], found[1]
    return [s + "[.gz]" for s, f in zip(stems, found) if f is None]


@register_dataset("mnist")
def mnist(root: str | Path, split: str = "train", download: bool = False, **kw) -> TensorData:
    """MNIST ``split`` ("train": 60,000, "test": 10,000) as uint8 (N, 1, 28, 28), labels 0-9."""
    check_split("mnist", split, _PREFIX, kw)
    root = Path(root)
    found = _find(root, split)
    if isinstance(found, list) and download:
        from advkt.data.download import download as fetch_dataset

        fetch_dataset("mnist", root)
        found = _find(root, split)
    if isinstance(found, list):
        searched = [root / "mnist" / "MNIST" / "raw", root / "MNIST" / "raw"]
        raise missing_files_error("mnist", found, searched, LAYOUT)
    images_path, labels_path = found
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = read_idx(labels_path, LABELS_MAGIC)
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"mnist: {images_path} holds {images.shape[0]} images but {labels_path} holds "
            f"{labels.shape[0]} labels"
        )
    if labels.size and labels.max() > 9:
        raise DataError(f"{labels_path}: label {int(labels.max())} outside 0-9")
    x = torch.from_numpy(images.copy()).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    return TensorData(x, y, 10, MEAN, STD, {}, "mnist")
