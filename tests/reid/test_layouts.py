"""The Market-1501, DukeMTMC-reID and CUHK03 (new protocol) layouts, on folders the tests write."""

from __future__ import annotations

import numpy as np
import pytest

from advkt.data.base import DataError
from advkt.reid.layouts import cuhk03, dukemtmc, market1501


def _touch(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        (folder / n).write_bytes(b"\xff\xd8\xff")  # names are what is read, not pixels


def test_market1501_ids_cameras_junk_and_distractors(tmp_path):
    base = tmp_path / "Market-1501-v15.09.15"
    _touch(
        base / "bounding_box_train",
        ["0002_c1s1_000451_03.jpg", "0007_c2s3_070952_01.jpg", "0002_c3s1_000551_01.jpg"],
    )
    _touch(base / "query", ["0007_c1s1_000151_01.jpg"])
    _touch(
        base / "bounding_box_test",
        ["-1_c1s1_000401_03.jpg", "0000_c6s1_000076_03.jpg", "0007_c5s1_000476_02.jpg"],
    )
    d = market1501(tmp_path)
    train = sorted((im.pid, im.camid, im.label) for im in d["train"])
    assert train == [(2, 0, 0), (2, 2, 0), (7, 1, 1)]
    assert [(im.pid, im.camid) for im in d["gallery"]] == [(-1, 0), (0, 5), (7, 4)]
    assert d["query"][0].pid == 7 and d["query"][0].camid == 0


def test_dukemtmc_and_a_misnamed_file(tmp_path):
    base = tmp_path / "DukeMTMC-reID"
    _touch(base / "bounding_box_train", ["0001_c2_f0046182.jpg"])
    _touch(base / "query", ["0005_c1_f0051234.jpg"])
    _touch(base / "bounding_box_test", ["0005_c3_f0061234.jpg"])
    d = dukemtmc(tmp_path)
    assert (d["train"][0].pid, d["train"][0].camid, d["train"][0].label) == (1, 1, 0)
    _touch(base / "query", ["person5.jpg"])
    with pytest.raises(DataError, match="person5.jpg does not follow the dukemtmc"):
        dukemtmc(tmp_path)
    with pytest.raises(DataError, match="market1501: none of"):
        market1501(tmp_path)


def test_cuhk03_new_protocol_from_its_mat_file(tmp_path):
    from scipy.io import savemat

    base = tmp_path / "cuhk03"
    names = ["1_001_1_01.png", "1_001_2_06.png", "1_002_1_01.png", "1_002_2_07.png"]
    _touch(base / "images_labeled", names)
    filelist = np.empty((4, 1), dtype=object)
    for i, n in enumerate(names):
        filelist[i, 0] = np.array([n])
    savemat(
        str(base / "cuhk03_new_protocol_config_labeled.mat"),
        {
            "filelist": filelist,
            "labels": np.array([[1], [1], [2], [2]]),
            "camId": np.array([[1], [2], [1], [2]]),
            "train_idx": np.array([[1], [2]]),
            "query_idx": np.array([[3]]),
            "gallery_idx": np.array([[4]]),
        },
    )
    d = cuhk03(tmp_path)
    assert [(im.path.name, im.pid, im.camid, im.label) for im in d["train"]] == [
        ("1_001_1_01.png", 1, 0, 0),
        ("1_001_2_06.png", 1, 1, 0),
    ]
    assert (d["query"][0].pid, d["gallery"][0].camid) == (2, 1)
    with pytest.raises(DataError, match="missing .*detected.mat"):
        cuhk03(tmp_path, "detected")
