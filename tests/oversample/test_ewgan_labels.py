from __future__ import annotations

import math

import numpy as np
import pytest

from advkt.oversample.labels import entropy_weights, label_vectors


def _by_hand(counts):
    n = sum(counts)
    h = [-(c / n) * math.log(c / n) for c in counts]
    return [x / sum(h) for x in h]


def test_share_weights_binary_by_hand():
    # p = (0.9, 0.1): h = (0.09482, 0.23026), shares (0.29161, 0.70839)
    w = entropy_weights(np.array([90, 10]), "share")
    assert w == pytest.approx([0.2916, 0.7084], abs=1e-4)
    assert w == pytest.approx(_by_hand([90, 10]))


def test_complement_and_onehot():
    share = _by_hand([50, 30, 20])
    assert entropy_weights(np.array([50, 30, 20]), "complement") == pytest.approx(
        [1 - s for s in share]
    )
    assert entropy_weights(np.array([50, 30, 20]), "onehot") == pytest.approx([1, 1, 1])
    assert entropy_weights(np.array([50, 30, 20]), "share").sum() == pytest.approx(1.0)


def test_label_vectors_are_weighted_onehots():
    L = label_vectors(np.array([8, 2]), "share")
    assert L.shape == (2, 2)
    assert L[0, 1] == 0 and L[1, 0] == 0
    assert np.diag(L) == pytest.approx(_by_hand([8, 2]))


@pytest.mark.parametrize(
    "counts, weighting, match",
    [([5], "share", "at least 2"), ([5, 0], "share", "positive"), ([5, 5], "bogus", "one of")],
)
def test_bad_input(counts, weighting, match):
    with pytest.raises(ValueError, match=match):
        entropy_weights(np.array(counts), weighting)
