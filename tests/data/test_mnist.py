from __future__ import annotations

import gzip
import hashlib
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from advkt.data import DataError, load
from advkt.data.mnist import IMAGES_MAGIC, read_idx

RAW = Path("mnist") / "MNIST" / "raw"


def test_mnist_real(shared_data: Path) -> None:
    train = load("mnist", shared_data, "train")
    test = load("mnist", shared_data, "test")
    assert train.x.shape == (60000, 1, 28, 28) and test.x.shape == (10000, 1, 28, 28)
    assert train.x.dtype == torch.uint8 and train.y.dtype == torch.int64
    assert train.y.min() == 0 and train.y.max() == 9 and train.num_classes == 10
    assert (train.mean, train.std, train.augment) == ((0.1307,), (0.3081,), {})
    # The published MD5 of the uncompressed train images, recomputed from the parsed pixels
    # behind the 16-byte IDX header (magic, count, rows, cols).
    header = struct.pack(">IIII", 0x803, 60000, 28, 28)
    digest = hashlib.md5(header + train.x.numpy().tobytes()).hexdigest()
    assert digest == "6bbc9ace898e44ae57da46a324031adb"
    assert torch.bincount(test.y).tolist()[:3] == [980, 1135, 1032]  # the known test class counts


def _write_idx(path: Path, arr: np.ndarray, magic: int, gz: bool = False) -> None:
    data = struct.pack(">I", magic) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)


def _tiny_mnist(root: Path, n: int = 5, gz: bool = False, layout: Path = RAW) -> np.ndarray:
    folder = root / layout
    folder.mkdir(parents=True)
    x = np.arange(n * 28 * 28, dtype=np.uint64).astype(np.uint8).reshape(n, 28, 28)
    sfx = ".gz" if gz else ""
    for p in ("train", "t10k"):
        _write_idx(folder / f"{p}-images-idx3-ubyte{sfx}", x, 0x803, gz)
        _write_idx(folder / f"{p}-labels-idx1-ubyte{sfx}", np.arange(n, dtype=np.uint8), 0x801, gz)
    return x


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("layout", [RAW, Path("MNIST") / "raw"])
def test_mnist_tiny_layouts(tmp_path: Path, gz: bool, layout: Path) -> None:
    x = _tiny_mnist(tmp_path, gz=gz, layout=layout)
    d = load("mnist", tmp_path, "test")
    assert torch.equal(d.x[:, 0], torch.from_numpy(x))
    assert d.y.tolist() == [0, 1, 2, 3, 4]


def test_mnist_missing_files_named(tmp_path: Path) -> None:
    with pytest.raises(DataError) as e:
        load("mnist", tmp_path, "train")
    msg = str(e.value)
    assert "train-images-idx3-ubyte" in msg and "train-labels-idx1-ubyte" in msg
    assert str(tmp_path / RAW) in msg and "Expected layout" in msg


def test_idx_bad_magic_and_truncation(tmp_path: Path) -> None:
    folder = tmp_path / RAW
    _tiny_mnist(tmp_path)
    img = folder / "train-images-idx3-ubyte"
    good = img.read_bytes()
    img.write_bytes(good[:-100])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.*truncated or corrupt"):
        load("mnist", tmp_path)
    img.write_bytes(struct.pack(">I", 0x801) + good[4:])
    with pytest.raises(DataError, match=r"magic number 0x00000801, expected 0x00000803"):
        load("mnist", tmp_path)
    img.write_bytes(good[:6])
    with pytest.raises(DataError, match="header needs 16"):
        read_idx(img, IMAGES_MAGIC)


def test_truncated_gzip_named(tmp_path: Path, shared_data: Path) -> None:
    folder = tmp_path / RAW
    folder.mkdir(parents=True)
    src = shared_data / RAW
    for f in src.iterdir():
        shutil.copy(f, folder / f.name)
    bad = folder / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:50000])
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz: corrupt or truncated gzip"):
        load("mnist", tmp_path, "test")


def test_label_count_mismatch(tmp_path: Path) -> None:
    _tiny_mnist(tmp_path)
    _write_idx(tmp_path / RAW / "t10k-labels-idx1-ubyte", np.zeros(3, np.uint8), 0x801)
    with pytest.raises(DataError, match="holds 5 images but .* holds 3 labels"):
        load("mnist", tmp_path, "test")
