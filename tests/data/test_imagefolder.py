from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from advkt.data import DataError, load


def _folder(root: Path) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2)
    written = {}
    for cls, names in (("zebra", ["1.png", "0.png"]), ("ant", ["x.png"])):
        (root / "val" / cls).mkdir(parents=True)
        for n in names:
            a = rng.integers(0, 256, (6, 10, 3), dtype=np.uint8)
            Image.fromarray(a).save(root / "val" / cls / n)
            written[f"{cls}/{n}"] = a
    (root / "val" / "ant" / "notes.txt").write_text("not an image")
    return written


def test_imagefolder_sorted_classes_and_files(tmp_path: Path) -> None:
    written = _folder(tmp_path)
    d = load("imagefolder", tmp_path, "val", workers=1)
    assert d.num_classes == 2 and d.y.tolist() == [0, 1, 1]  # ant, zebra/0, zebra/1
    order = ["ant/x.png", "zebra/0.png", "zebra/1.png"]
    want = np.stack([written[k] for k in order]).transpose(0, 3, 1, 2)
    assert d.x.dtype == torch.uint8 and np.array_equal(d.x.numpy(), want)


def test_imagefolder_center_crop(tmp_path: Path) -> None:
    written = _folder(tmp_path)
    # resize=6 keeps the 6x10 images as they are (shorter side already 6); crop 4 from the
    # centre: rows 1..4, columns 3..6.
    d = load("imagefolder", tmp_path, "val", size=4, resize=6, workers=1)
    assert d.x.shape == (3, 3, 4, 4)
    assert np.array_equal(d.x[0].numpy(), written["ant/x.png"][1:5, 3:7].transpose(2, 0, 1))
    d2 = load("imagefolder", tmp_path, "val", size=3, workers=1)  # shorter side 6 -> 3, then crop
    assert d2.x.shape == (3, 3, 3, 3)


def test_imagefolder_mixed_sizes_need_size(tmp_path: Path) -> None:
    _folder(tmp_path)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "val" / "ant" / "y.png")
    with pytest.raises(DataError, match="different sizes .* pass size="):
        load("imagefolder", tmp_path, "val", workers=1)


def test_imagefolder_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"is not a folder; expected layout <root>/<split>/<class>"):
        load("imagefolder", tmp_path, "train")
    _folder(tmp_path)
    (tmp_path / "val" / "ant" / "bad.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(DataError, match=r"bad\.png: cannot decode image"):
        load("imagefolder", tmp_path, "val", workers=1)


def test_imagefolder_pool_keeps_order(tmp_path: Path) -> None:
    """Enough files for several pool chunks: the order is still class, then file name."""
    values = []
    for c in ("a", "b"):
        (tmp_path / "train" / c).mkdir(parents=True)
        for i in range(260):
            v = (i * 7 + (c == "b") * 3) % 256
            Image.fromarray(np.full((2, 3), v, np.uint8)).save(
                tmp_path / "train" / c / f"{i:03d}.png"
            )
            values.append(v)
    d = load("imagefolder", tmp_path, "train", mode="L", mean=(0.5,), std=(0.5,), workers=2)
    assert d.x.shape == (520, 1, 2, 3) and d.y.tolist() == [0] * 260 + [1] * 260
    assert d.x[:, 0, 0, 0].tolist() == values
