from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import advkt.data.webdataset as wds
from advkt.data import DataError, load


def _png(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return buf.getvalue()


def _add(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tf.addfile(info, io.BytesIO(data))


def _shard(path: Path, images: list[np.ndarray], labels: list[int], gz: bool = True) -> None:
    with tarfile.open(path, "w:gz" if gz else "w") as tf:
        for i, (a, y) in enumerate(zip(images, labels)):
            _add(tf, f"{path.name.split('.')[0]}_{i:03d}.png", _png(a))
            _add(tf, f"{path.name.split('.')[0]}_{i:03d}.cls", str(y).encode())


def _tiny_shards(folder: Path, n_shards: int = 2, n: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """PNG (lossless) shards, so decoded pixels must equal the written arrays exactly."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    xs, ys = [], []
    for s in range(n_shards):
        images = [rng.integers(0, 256, (5, 7, 3), dtype=np.uint8) for _ in range(n)]
        labels = rng.integers(0, 3, n).tolist()
        _shard(
            folder / f"train-{s:05d}.tar{'.gz' if s % 2 == 0 else ''}", images, labels, s % 2 == 0
        )
        xs += images
        ys += labels
    return np.stack(xs).transpose(0, 3, 1, 2), np.array(ys)


@pytest.mark.parametrize("workers", [1, 2])
def test_webdataset_decodes_in_shard_order(tmp_path: Path, workers: int) -> None:
    x, y = _tiny_shards(tmp_path / "shards")
    d = load("webdataset", tmp_path / "shards", "train", workers=workers, num_classes=3)
    assert d.x.dtype == torch.uint8 and d.x.shape == (8, 3, 5, 7)
    assert np.array_equal(d.x.numpy(), x) and d.y.tolist() == y.tolist()
    assert d.mean == (0.5, 0.5, 0.5) and d.num_classes == 3


def test_webdataset_glob_and_classes_txt(tmp_path: Path) -> None:
    x, _ = _tiny_shards(tmp_path)
    (tmp_path / "classes.txt").write_text("a\nb\nc\nd\n")
    d = load("webdataset", str(tmp_path / "train-*1.tar*"), split="")
    assert np.array_equal(d.x.numpy(), x[4:]) and d.num_classes == 4
    one = load("webdataset", tmp_path / "train-00000.tar.gz", split="")
    assert np.array_equal(one.x.numpy(), x[:4])
    every = load("webdataset", tmp_path, split="", workers=1)
    assert np.array_equal(every.x.numpy(), x)


def test_webdataset_cache_reused_and_invalidated(
    tmp_path: Path, _tmp_cache: Path, monkeypatch
) -> None:
    x, _ = _tiny_shards(tmp_path / "s")
    first = load("webdataset", tmp_path / "s", workers=1)
    files = list(_tmp_cache.glob("webdataset-train-*.safetensors"))
    assert len(files) == 1

    def refuse(*a, **k):
        raise AssertionError("decoded again despite a valid cache entry")

    monkeypatch.setattr(wds, "decode_shards", refuse)
    again = load("webdataset", tmp_path / "s", workers=1)
    assert torch.equal(first.x, again.x) and torch.equal(first.y, again.y)
    shard = tmp_path / "s" / "train-00000.tar.gz"
    st = shard.stat()
    os.utime(shard, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # "touched": a new key
    with pytest.raises(AssertionError, match="decoded again"):
        load("webdataset", tmp_path / "s", workers=1)
    monkeypatch.undo()
    assert torch.equal(load("webdataset", tmp_path / "s", workers=1, cache=False).x, first.x)


def test_corrupt_image_names_shard_and_member(tmp_path: Path) -> None:
    path = tmp_path / "train-00000.tar"
    with tarfile.open(path, "w") as tf:
        _add(tf, "a.png", _png(np.zeros((4, 4, 3), np.uint8)))
        _add(tf, "a.cls", b"1")
        _add(tf, "b.jpg", b"\xff\xd8\xff\xe0 definitely not a jpeg")
        _add(tf, "b.cls", b"2")
    with pytest.raises(DataError, match=r"train-00000\.tar: member b\.jpg: cannot decode image"):
        load("webdataset", tmp_path, workers=1)


@pytest.mark.parametrize("workers", [1, 2])
def test_truncated_shard_named(tmp_path: Path, workers: int) -> None:
    _tiny_shards(tmp_path, n=20)
    bad = tmp_path / "train-00000.tar.gz"
    bad.write_bytes(bad.read_bytes()[:-400])
    with pytest.raises(DataError, match=r"train-00000\.tar\.gz: corrupt shard"):
        load("webdataset", tmp_path, workers=workers)


def test_sample_without_label_and_bad_label(tmp_path: Path) -> None:
    path = tmp_path / "train-0.tar"
    with tarfile.open(path, "w") as tf:
        _add(tf, "a.png", _png(np.zeros((4, 4, 3), np.uint8)))
    with pytest.raises(DataError, match=r"train-0\.tar: sample 'a' has an image but no \.cls"):
        load("webdataset", tmp_path, workers=1)
    with tarfile.open(path, "w") as tf:
        _add(tf, "a.png", _png(np.zeros((4, 4, 3), np.uint8)))
        _add(tf, "a.cls", b"cat")
    with pytest.raises(DataError, match=r"train-0\.tar: member a\.cls: class must be an integer"):
        load("webdataset", tmp_path, workers=1)


def test_no_shards_for_split(tmp_path: Path) -> None:
    _tiny_shards(tmp_path)
    with pytest.raises(DataError, match=r"no shards for split 'test' in .*test-00000\.tar"):
        load("webdataset", tmp_path, "test")
