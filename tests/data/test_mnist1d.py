from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from advkt.data import DataError, load
from advkt.data.mnist1d import gaussian_smooth, resample, templates


@pytest.fixture(scope="module")
def mnist1d_sets():
    return load("mnist1d", None, "train", cache=False), load("mnist1d", None, "test", cache=False)


def test_mnist1d_shapes(mnist1d_sets) -> None:
    train, test = mnist1d_sets
    assert train.x.shape == (4000, 1, 40) and test.x.shape == (1000, 1, 40)
    assert train.x.dtype == torch.float32 and train.y.dtype == torch.int64
    assert train.num_classes == 10 and train.mean == () and train.augment == {}
    both = torch.cat([train.x, test.x])
    assert abs(float(both.mean())) < 1e-4 and abs(float(both.std()) - 1) < 1e-3


def test_mnist1d_matches_the_reference_generator(mnist1d_sets) -> None:
    """Values printed by greydanus/mnist1d's own make_dataset() (pip package mnist1d 0.0.2.post1,
    default arguments), copied here by hand."""
    train, test = mnist1d_sets
    assert train.y[:20].tolist() == [2, 6, 4, 5, 6, 6, 6, 0, 3, 1, 6, 9, 4, 3, 4, 5, 1, 9, 0, 3]
    assert test.y[-10:].tolist() == [8, 3, 3, 6, 1, 2, 5, 9, 6, 4]
    ref0 = [-0.3320056674, -0.4719103657, -0.7786970763, -1.0097408265, -0.8823525654]
    assert np.allclose(train.x[0, 0, :5].numpy(), ref0, atol=1e-6)
    ref_last = [-0.3959105508, -0.0986460926, 0.4472328851, 0.6598756471, 0.8777343498]
    assert np.allclose(test.x[-1, 0, -6:-1].numpy(), ref_last, atol=1e-6)
    assert abs(float(train.x.double().sum()) - (-51.78746787509556)) < 1e-2


def test_mnist1d_logistic_regression_band(mnist1d_sets) -> None:
    """Published anchor: logistic regression ~32% test accuracy."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    train, test = mnist1d_sets
    with threadpool_limits(1):  # a busy shared CPU makes multi-threaded BLAS spin for minutes
        clf = LogisticRegression(max_iter=1000).fit(train.x[:, 0].numpy(), train.y.numpy())
    acc = clf.score(test.x[:, 0].numpy(), test.y.numpy())
    assert 0.28 <= acc <= 0.42, acc


def test_gaussian_smooth_matches_scipy() -> None:
    from scipy.ndimage import gaussian_filter

    x = np.random.default_rng(0).normal(size=72)
    assert np.allclose(gaussian_smooth(x), gaussian_filter(x, 2), atol=1e-12)


def test_resample_and_templates() -> None:
    assert np.allclose(resample(np.array([0.0, 2.0]), 5), [0, 0.5, 1, 1.5, 2])
    t = templates()
    assert t.shape == (10, 12) and np.allclose(t[:, 0], 0)
    # Before the shift each template had unit std: after it, std is 1/6.
    assert np.allclose(t.std(1), 1 / 6)


def test_mnist1d_cached_and_options(tmp_path: Path, _tmp_cache: Path) -> None:
    small = load("mnist1d", None, "test", num_samples=100, seed=3)
    assert small.x.shape == (20, 1, 40)
    assert len(list(_tmp_cache.glob("mnist1d-n100-seed3-*.safetensors"))) == 1
    again = load("mnist1d", None, "test", num_samples=100, seed=3)
    assert torch.equal(small.x, again.x)
    other = load("mnist1d", None, "test", num_samples=100, seed=4, cache=False)
    assert not torch.equal(small.x, other.x)
    with pytest.raises(DataError, match="unknown split 'val'"):
        load("mnist1d", None, "val")
