"""benchmarks/ewgan_diagnosis.py: its two-sample test and its geometry on data with known
answers."""

import numpy as np

from tests.benchmarks.scripts import load

diag = load("ewgan_diagnosis")


def test_the_two_sample_auc_is_near_half_for_one_distribution_and_near_one_for_two():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(80, 3))
    assert abs(diag._c2st(rng.normal(size=(200, 3)), real, 0) - 0.5) < 0.12
    assert diag._c2st(rng.normal(size=(200, 3)) + 3.0, real, 0) > 0.97


def test_geometry_measures_distances_and_the_majority_neighbourhood():
    X = np.array([[0.0], [1.0], [10.0], [11.0], [12.0], [13.0], [14.0]])
    y = np.array([1, 1, 0, 0, 0, 0, 0])
    g = diag._geometry(X, y, np.array([[0.5], [12.5]]))
    np.testing.assert_allclose(g["d_min"], [0.5, 11.5])
    np.testing.assert_allclose(g["d_maj"], [9.5, 0.5])
    np.testing.assert_allclose(g["maj5"], [0.6, 1.0])  # 5 nearest of 0.5: 0, 1, 10, 11, 12
