"""Readers of the domain-adaptation data: Office-Caltech10 SURF (.mat) and Amazon reviews
(svmlight), on files the tests write and on the real copies."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from advkt.data import DataError, load
from advkt.data.amazon_reviews import read_svmlight


def _write_mat(path, **arrays):
    from scipy.io import savemat

    path.parent.mkdir(parents=True, exist_ok=True)
    savemat(str(path), arrays)


def test_surf_features_and_labels_from_a_written_file(tmp_path):
    fts = np.arange(12, dtype=np.uint8).reshape(3, 4)
    _write_mat(
        tmp_path / "office-caltech-surf" / "dslr_SURF_L10.mat", fts=fts, labels=[[1], [10], [3]]
    )
    d = load("office_caltech", tmp_path, "all", domain="dslr")
    assert d.x.dtype.is_floating_point and d.x.shape == (3, 4) and d.num_classes == 10
    np.testing.assert_array_equal(d.x.numpy(), fts)
    assert d.y.tolist() == [0, 9, 2]


@pytest.mark.parametrize(
    "arrays,match",
    [
        ({"fts": np.zeros((2, 4))}, "no labels array"),
        ({"fts": np.zeros((2, 4)), "labels": [[1], [2], [3]]}, "do not match"),
        ({"fts": np.zeros((2, 4)), "labels": [[0], [11]]}, "integers 1-10"),
    ],
)
def test_bad_surf_files_give_one_line_errors(tmp_path, arrays, match):
    _write_mat(tmp_path / "office-caltech-surf" / "webcam_SURF_L10.mat", **arrays)
    with pytest.raises(DataError, match=match):
        load("office_caltech", tmp_path, "all", domain="webcam")


def test_office_caltech_names_the_missing_file_and_the_valid_domains(tmp_path):
    with pytest.raises(DataError, match="missing amazon_SURF_L10.mat .*Expected layout"):
        load("office_caltech", tmp_path, "all", domain="amazon")
    with pytest.raises(DataError, match="unknown domain 'art'; valid: amazon, caltech"):
        load("office_caltech", tmp_path, "all", domain="art")


def test_svmlight_reviews_dense_counts_and_binary_labels(tmp_path):
    p = tmp_path / "r.svmlight"
    p.write_text("-1 0:3 4:1.5\n+1 2:2 # a comment\n\n1 4999:1\n")
    x, y = read_svmlight(p)
    assert x.shape == (3, 5000) and y.tolist() == [0, 1, 1]
    assert x[0, 0] == 3 and x[0, 4] == 1.5 and x[1, 2] == 2 and x[2, 4999] == 1
    assert x.sum() == 3 + 1.5 + 2 + 1


@pytest.mark.parametrize(
    "line,match",
    [("0 1:1", "label '0'"), ("-1 5000:1", "outside 0..4999"), ("+1 3", "index:value")],
)
def test_bad_svmlight_lines_name_the_line(tmp_path, line, match):
    p = tmp_path / "r.svmlight"
    p.write_text(f"-1 0:1\n{line}\n")
    with pytest.raises(DataError, match=f"line 2: .*{match}|line 2: {match}"):
        read_svmlight(p)


def test_the_real_copies_have_the_published_sizes(shared_data):
    sizes = {"amazon": 958, "caltech": 1123, "dslr": 157, "webcam": 295}
    for domain, n in sizes.items():
        d = load("office_caltech", shared_data, "all", domain=domain)
        assert d.x.shape == (n, 800) and set(d.y.tolist()) == set(range(10))
    kitchen = load("amazon_reviews", shared_data, "train", domain="kitchen")
    assert kitchen.x.shape == (2000, 5000) and kitchen.y.bincount().tolist() == [1000, 1000]
    assert len(load("amazon_reviews", shared_data, "test", domain="books")) == 4465


def test_ssda_joins_source_and_target_with_domain_tags_and_a_disjoint_target_test(shared_data):
    kw = dict(family="office_caltech", source="amazon", target="webcam")
    train, test = load("ssda", shared_data, "train", **kw), load("ssda", shared_data, "test", **kw)
    assert train.domain.bincount().tolist() == [958, 144] and len(test) == 295 - 144
    assert train.x.shape[1:] == (1, 800) and bool((test.domain == 1).all())
    assert abs(float(train.x.mean())) < 1e-4  # standardised on the training split
    with pytest.raises(DataError, match="source and target are both 'dslr'"):
        load("ssda", shared_data, "train", family="office_caltech", source="dslr", target="dslr")
    with pytest.raises(DataError, match="unknown target 'kitchen' for office_caltech"):
        load("ssda", shared_data, "train", family="office_caltech", target="kitchen")


def test_ssda_digits_resize_usps_to_28_and_limit_the_source(shared_data):
    kw = dict(family="digits", source="mnist", target="usps", source_limit=500)
    train = load("ssda", shared_data, "train", **kw)
    assert train.x.shape[1:] == (1, 28, 28) and train.x.dtype == torch.uint8
    assert train.domain.bincount().tolist() == [500, 7291] and train.mean == (0.5,)
    test = load("ssda", shared_data, "test", **kw)
    assert len(test) == 2007 and test.x.shape[1:] == (1, 28, 28)
