"""The xlsa17 reader on files the test writes, and the ZSL / GZSL measures by hand."""

from __future__ import annotations

import numpy as np
import pytest

from advkt.data.base import DataError
from advkt.zsl.task import gzsl, per_class_accuracy
from advkt.zsl.xlsa17 import read_xlsa17


def test_read_xlsa17_from_its_two_mat_files(tmp_path):
    from scipy.io import savemat

    rng = np.random.default_rng(0)
    labels = np.array([1, 1, 2, 2, 3, 3])  # classes 1-2 seen, 3 unseen
    savemat(
        str(tmp_path / "res101.mat"), {"features": rng.random((2048, 6)), "labels": labels[:, None]}
    )
    savemat(
        str(tmp_path / "att_splits.mat"),
        {
            "att": rng.random((5, 3)),
            "trainval_loc": np.array([[1], [3]]),
            "test_seen_loc": np.array([[2], [4]]),
            "test_unseen_loc": np.array([[5], [6]]),
        },
    )
    d = read_xlsa17(tmp_path)
    assert d.features.shape == (6, 2048) and d.attributes.shape == (3, 5)
    assert d.labels.tolist() == [0, 0, 1, 1, 2, 2] and d.trainval.tolist() == [0, 2]
    assert d.seen_classes.tolist() == [0, 1] and d.unseen_classes.tolist() == [2]
    (tmp_path / "att_splits.mat").unlink()
    with pytest.raises(DataError, match="missing .*att_splits.mat"):
        read_xlsa17(tmp_path)


def test_per_class_accuracy_weighs_each_class_equally_and_h_is_the_harmonic_mean():
    truth = np.array([0, 0, 0, 0, 1])
    pred = np.array([0, 0, 0, 0, 0])  # 100 % on class 0, 0 % on class 1: 50, not 80
    assert per_class_accuracy(pred, truth) == pytest.approx(50.0)
    out = gzsl(np.array([0, 1]), np.array([0, 1]), np.array([2, 0]), np.array([2, 2]))
    assert (out["S"], out["U"]) == (100.0, 50.0) and out["H"] == pytest.approx(2 * 100 * 50 / 150)
