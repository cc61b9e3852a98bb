from __future__ import annotations

import io
import os
import pickle
import pickletools
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from advkt.data import DataError, load
from advkt.data.cifar import CIFAR10_MEAN, RestrictedUnpickler, read_batch


def _batch_bytes(data: np.ndarray, labels: list[int], label_key: str, numpy1: bool) -> bytes:
    """A batch in the official shape (bytes keys, as Python 2 str arrive); protocol 3 spells
    globals as GLOBAL text, so the numpy 1 name of _reconstruct can be written in."""
    n = len(labels)
    batch = {
        b"batch_label": b"tiny batch",
        label_key.encode(): labels,
        b"data": data,
        b"filenames": [f"img_{i}.png".encode() for i in range(n)],
    }
    blob = pickle.dumps(batch, protocol=3)
    if numpy1:
        blob = blob.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    return blob


def _tiny_cifar10(root: Path, n: int = 3, numpy1: bool = True) -> dict[str, np.ndarray]:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    written = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, n).tolist()
        (folder / name).write_bytes(_batch_bytes(data, labels, "labels", numpy1))
        written[name] = (data, labels)
    return written


@pytest.mark.parametrize("numpy1", [True, False])
def test_cifar10_python_batches(tmp_path: Path, numpy1: bool) -> None:
    written = _tiny_cifar10(tmp_path, numpy1=numpy1)
    train = load("cifar10", tmp_path, "train")
    assert train.x.shape == (15, 3, 32, 32) and train.x.dtype == torch.uint8
    data, labels = written["data_batch_2"]
    # Row layout: value c*1024 + r*32 + col is channel c, row r, column col.
    for i, c, r, col in [(0, 0, 0, 0), (1, 1, 5, 7), (2, 2, 31, 31), (0, 2, 16, 3)]:
        assert train.x[3 + i, c, r, col] == data[i, c * 1024 + r * 32 + col]
    assert train.y[3:6].tolist() == labels
    assert train.augment == {"crop": 4, "flip": True} and train.mean == CIFAR10_MEAN
    assert len(load("cifar10", tmp_path, "test")) == 3


def test_cifar10_exclude_drops_classes_and_renumbers_the_rest(tmp_path: Path) -> None:
    written = _tiny_cifar10(tmp_path, n=40)
    labels = np.concatenate([written[f"data_batch_{i}"][1] for i in range(1, 6)])
    full = load("cifar10", tmp_path, "train")
    part = load("cifar10", tmp_path, "train", exclude=["cat", 9])  # cat is 3, truck 9
    keep = (labels != 3) & (labels != 9)
    assert part.num_classes == 8 and len(part) == keep.sum()
    renumber = {c: c - (c > 3) for c in range(9) if c != 3}  # 0-2 stay, 4-8 move down by one
    assert part.y.tolist() == [renumber[c] for c in labels[keep]]
    assert torch.equal(part.x, full.x[torch.from_numpy(keep)])
    with pytest.raises(DataError, match="cannot exclude 'kitten'"):
        load("cifar10", tmp_path, "train", exclude=["kitten"])


def test_cifar100_python_batches(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    data = np.arange(2 * 3072, dtype=np.uint32).astype(np.uint8).reshape(2, 3072)
    for split, labels in (("train", [99, 0]), ("test", [5, 42])):
        (folder / split).write_bytes(_batch_bytes(data, labels, "fine_labels", True))
    d = load("cifar100", tmp_path, "test")
    assert d.num_classes == 100 and d.y.tolist() == [5, 42]
    assert torch.equal(d.x.reshape(2, -1), torch.from_numpy(data))


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_restricted_unpickler_refuses_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({"data": _Evil(marker), "labels": [0]}, protocol=2))
    with pytest.raises(DataError, match=r"data_batch_1: refused .*system.* is not allowed"):
        read_batch(path, "labels")
    assert not marker.exists()
    for module, name in [("builtins", "eval"), ("numpy", "load"), ("builtins", "getattr")]:
        with pytest.raises(pickle.UnpicklingError, match="not allowed"):
            RestrictedUnpickler(io.BytesIO(b"")).find_class(module, name)


def test_cifar_corrupt_batch_named(tmp_path: Path) -> None:
    _tiny_cifar10(tmp_path)
    bad = tmp_path / "cifar-10-batches-py" / "test_batch"
    bad.write_bytes(bad.read_bytes()[:100])
    with pytest.raises(DataError, match=r"test_batch: .*(corrupt|truncated)"):
        load("cifar10", tmp_path, "test")
    bad.write_bytes(pickle.dumps({b"data": [1, 2], b"labels": [0]}, protocol=3))
    with pytest.raises(DataError, match=r"test_batch: 'data' is .* expected uint8 \(n, 3072\)"):
        load("cifar10", tmp_path, "test")


def test_cifar_missing_lists_both_layouts(tmp_path: Path) -> None:
    with pytest.raises(DataError) as e:
        load("cifar10", tmp_path, "train")
    msg = str(e.value)
    assert "cifar-10-batches-py" in msg and "data_batch_5" in msg
    assert "cifar10-jpeg" in msg and "train-*.tar" in msg
    with pytest.raises(DataError, match="cifar-100-python"):
        load("cifar100", tmp_path, "test")


def test_cifar10_real_shards(shared_data: Path, cifar10_real) -> None:
    train, test = cifar10_real
    assert train.x.shape == (50000, 3, 32, 32) and test.x.shape == (10000, 3, 32, 32)
    assert train.x.dtype == torch.uint8 and train.y.dtype == torch.int64
    assert torch.bincount(train.y).tolist() == [5000] * 10
    assert torch.bincount(test.y).tolist() == [1000] * 10
    # The first sample of the test shard, decoded here by Pillow directly.
    from PIL import Image

    with tarfile.open(shared_data / "cifar10-jpeg" / "test-00000.tar.gz") as tf:
        members = tf.getmembers()[:2]
        img = tf.extractfile(members[0]).read()
        cls = int(tf.extractfile(members[1]).read())
    assert members[0].name.endswith(".jpg") and members[1].name.endswith(".cls")
    want = np.asarray(Image.open(io.BytesIO(img)).convert("RGB")).transpose(2, 0, 1)
    assert np.array_equal(test.x[0].numpy(), want) and test.y[0] == cls
    # Per-channel train mean near the published CIFAR-10 figures (JPEG shifts it slightly).
    mean = train.x[::10].float().mean((0, 2, 3)) / 255
    assert torch.allclose(mean, torch.tensor(CIFAR10_MEAN), atol=0.01)


def _py2_str(b: bytes) -> bytes:
    """A Python 2 str as cPickle writes it: SHORT_BINSTRING, or BINSTRING past 255 bytes."""
    return b"U" + bytes([len(b)]) + b if len(b) < 256 else b"T" + struct.pack("<i", len(b)) + b


def _py2_int(v: int) -> bytes:
    return b"K" + bytes([v]) if 0 <= v < 256 else b"M" + struct.pack("<H", v)


def _py2_batch(data: np.ndarray, labels: list[int]) -> bytes:
    """Protocol-2 opcodes as Python 2 numpy batches hold them: _reconstruct(ndarray, (0,), 'b')
    then BUILD with (1, shape, dtype('u1') + its state, False, raw bytes as a str)."""
    dtype = (
        b"cnumpy\ndtype\n" + _py2_str(b"u1") + _py2_int(0) + _py2_int(1) + b"\x87R("
        + _py2_int(3) + _py2_str(b"|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xff"
        + _py2_int(0) + b"tb"
    )  # fmt: skip
    shape = b"(" + b"".join(_py2_int(d) for d in data.shape) + b"t"
    array = (
        b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n" + _py2_int(0) + b"\x85"
        + _py2_str(b"b") + b"\x87R(" + _py2_int(1) + shape + dtype + b"\x89"
        + _py2_str(data.tobytes()) + b"tb"
    )  # fmt: skip
    items = _py2_str(b"batch_label") + _py2_str(b"testing batch 1 of 1")
    items += _py2_str(b"data") + array
    items += _py2_str(b"labels") + b"](" + b"".join(_py2_int(v) for v in labels) + b"e"
    return b"\x80\x02}(" + items + b"u."


def test_cifar10_python2_format_batch(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    data = np.random.default_rng(3).integers(0, 256, (4, 3072), dtype=np.uint8)
    (folder / "test_batch").write_bytes(_py2_batch(data, [3, 1, 4, 1]))
    assert "GLOBAL" in "".join(op.name for op, _, _ in pickletools.genops(_py2_batch(data, [1])))
    d = load("cifar10", tmp_path, "test")
    assert np.array_equal(d.x.reshape(4, -1).numpy(), data) and d.y.tolist() == [3, 1, 4, 1]
