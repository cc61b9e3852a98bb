from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from advkt.data import DataError, load


def test_usps_real(shared_data: Path) -> None:
    train, test = load("usps", shared_data, "train"), load("usps", shared_data, "test")
    assert train.x.shape == (7291, 1, 16, 16) and test.x.shape == (2007, 1, 16, 16)
    assert train.x.dtype == torch.uint8 and train.y.dtype == torch.int64
    assert train.y.min() == 0 and train.y.max() == 9
    # First training digit, parsed independently: label 6; pixel 7 of row 0 is -0.631.
    with gzip.open(shared_data / "usps" / "zip.train.gz", "rt") as f:
        first = [float(v) for v in f.readline().split()]
    assert train.y[0] == int(first[0]) == 6
    want = np.rint((np.array(first[1:]) + 1) * 127.5).reshape(16, 16)
    assert np.array_equal(train.x[0, 0].numpy(), want)
    assert train.x[0, 0, 0, 7] == round((-0.631 + 1) * 127.5) == 47


def _write(root: Path, lines: list[str]) -> None:
    (root / "usps").mkdir()
    (root / "usps" / "zip.train.gz").write_bytes(gzip.compress("\n".join(lines).encode()))


def test_usps_bad_line_named(tmp_path: Path) -> None:
    _write(tmp_path, ["3 " + " ".join(["-1"] * 256), "4 " + " ".join(["0"] * 200)])
    with pytest.raises(DataError, match=r"zip\.train\.gz, line 2: 201 values, expected 257"):
        load("usps", tmp_path)


def test_usps_out_of_range(tmp_path: Path) -> None:
    _write(tmp_path, ["3 " + " ".join(["2.5"] * 256)])
    with pytest.raises(DataError, match=r"expected \[-1, 1\]"):
        load("usps", tmp_path)


def test_usps_missing(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"usps: missing zip\.test\.gz .*searched .*usps"):
        load("usps", tmp_path, "test")
