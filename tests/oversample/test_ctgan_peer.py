"""The CTGAN peer of the oversampling benchmark: counts, nominal codes, bad input."""

import numpy as np
import pytest

pytest.importorskip("ctgan")

from advkt.oversample.ctgan_peer import CTGANOverSampler  # noqa: E402


def _data(seed=0):
    rng = np.random.default_rng(seed)
    n_maj, n_min = 40, 10
    X = np.concatenate([rng.normal(0, 1, (n_maj, 2)), rng.normal(3, 1, (n_min, 2))])
    colour = np.concatenate([rng.integers(0, 3, n_maj), rng.integers(1, 3, n_min)])
    X = np.column_stack([colour, X]).astype(float)
    y = np.array([0] * n_maj + [1] * n_min)
    return X, y


def test_balances_the_classes_and_keeps_the_real_rows_first():
    X, y = _data()
    Xr, yr = CTGANOverSampler(categorical_features=[0], n_iter=2, random_state=0).fit_resample(X, y)
    assert np.bincount(yr).tolist() == [40, 40]
    np.testing.assert_array_equal(Xr[: len(X)], X)
    assert np.all(yr[len(X) :] == 1) and Xr.shape[1] == 3
    # nominal codes come back as codes seen in the minority's training rows
    assert set(np.unique(Xr[len(X) :, 0])) <= {1.0, 2.0}
    assert np.isfinite(Xr).all()


def test_single_class_is_refused():
    X, y = _data()
    with pytest.raises(ValueError, match="at least 2 classes"):
        CTGANOverSampler(n_iter=1).fit_resample(X, np.zeros(len(X), int))
