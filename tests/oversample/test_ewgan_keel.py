from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from advkt.data.base import DataError
from advkt.data.keel import read_keel

GOOD = """@relation toy
@attribute Sex {M, F, I}
@attribute Len real [0.0, 1.0]
@attribute Rings integer [1, 29]
@attribute Class {positive, negative}
@inputs Sex, Len, Rings
@outputs Class
@data
F, 0.5, 3, negative
M, 0.25, 7, positive
I, 1.0, 2, negative
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "toy.dat"
    p.write_text(text)
    return p


def test_reads_numeric_and_nominal(tmp_path):
    d = read_keel(_write(tmp_path, GOOD))
    assert d.name == "toy"
    assert d.classes == ("positive", "negative")
    np.testing.assert_array_equal(d.X, [[1, 0.5, 3], [0, 0.25, 7], [2, 1.0, 2]])
    np.testing.assert_array_equal(d.y, [1, 0, 1])
    assert d.nominal == [0]
    assert d.minority == 0
    td = d.to_tensor_data()
    assert td.x.shape == (3, 3) and td.num_classes == 2


def test_outputs_names_the_class_column(tmp_path):
    text = GOOD.replace("@outputs Class", "@outputs Sex")
    d = read_keel(
        _write(
            tmp_path,
            text.replace("Class {positive, negative}", "C {a, b}")
            .replace("negative\n", "a\n")
            .replace("positive\n", "b\n"),
        )
    )
    assert d.classes == ("M", "F", "I")
    np.testing.assert_array_equal(d.y, [1, 0, 2])
    assert d.X.shape == (3, 3) and d.nominal == [2]


@pytest.mark.parametrize(
    "old, new, match",
    [
        ("M, 0.25, 7, positive", "M, 0.25, positive", r"line 10: 3 values, expected 4"),
        ("M, 0.25, 7, positive", "M, abc, 7, positive", r"line 10: 'abc' is not a number"),
        ("M, 0.25, 7, positive", "X, 0.25, 7, positive", r"line 10: 'X' is not a declared"),
        ("M, 0.25, 7, positive", "M, ?, 7, positive", r"line 10: missing value"),
        ("@attribute Len real", "@attribute Len complex", r"line 3: expected '@attribute"),
        ("@data\n", "", r"line 8: expected a header line starting with '@'"),
        ("@relation toy", "@frobnicate toy", r"line 1: unknown header"),
        ("{positive, negative}", "real [0, 1]", r"class attribute 'Class' must be nominal"),
    ],
)
def test_malformed_files_name_the_line(tmp_path, old, new, match):
    assert old in GOOD
    with pytest.raises(DataError, match=match):
        read_keel(_write(tmp_path, GOOD.replace(old, new)))


def test_header_only_file(tmp_path):
    with pytest.raises(DataError, match="no '@data' line"):
        read_keel(_write(tmp_path, GOOD.split("@data")[0]))


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such KEEL"):
        read_keel(tmp_path / "nope.dat")


@pytest.mark.slow
def test_reads_the_20_shared_keel_files(shared_data):
    files = sorted((shared_data / "keel").glob("*.dat"))
    assert len(files) == 20
    for f in files:
        d = read_keel(f)
        assert d.classes == ("positive", "negative"), f
        assert d.minority == 0, f  # KEEL's positive class is the minority
        assert np.isfinite(d.X).all()
    ecoli1 = read_keel(shared_data / "keel" / "ecoli1.dat")
    assert ecoli1.X.shape == (336, 7) and int((ecoli1.y == 0).sum()) == 77
    abalone = read_keel(shared_data / "keel" / "abalone9-18.dat")
    assert abalone.nominal == [0] and abalone.features[0].categories == ("M", "F", "I")
    assert abalone.X.shape == (731, 8) and int((abalone.y == 0).sum()) == 42
