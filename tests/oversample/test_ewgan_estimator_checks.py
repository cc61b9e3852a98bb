"""imbalanced-learn's compliance suite for samplers, on a short-trained EWGAN."""

from __future__ import annotations

import pytest
import sklearn.utils.estimator_checks as sk_checks
from imblearn.utils.estimator_checks import parametrize_with_checks

from advkt.oversample import EWGANOverSampler


@parametrize_with_checks([EWGANOverSampler(n_iter=3, random_state=0)])
def test_imblearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    "check",
    [
        sk_checks.check_no_attributes_set_in_init,
        sk_checks.check_parameters_default_constructible,
        sk_checks.check_get_params_invariance,
        sk_checks.check_set_params,
        sk_checks.check_param_validation,
    ],
    ids=lambda c: c.__name__,
)
def test_sklearn_api_checks(check):
    check("EWGANOverSampler", EWGANOverSampler(n_iter=2, random_state=0))
