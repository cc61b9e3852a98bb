"""CMC and mAP with the same-identity same-camera exclusion: a hand-computed case and an
independent computation on random data."""

from __future__ import annotations

import numpy as np
import pytest

from advkt.reid.evaluate import evaluate


def test_a_hand_computed_query():
    # gallery in distance order: g0 same id and camera (removed), g1 other id, g2 match,
    # g3 junk (removed), g4 match, g5 other id
    g_pids = np.array([1, 2, 1, -1, 1, 3])
    g_cams = np.array([0, 1, 1, 1, 2, 1])
    dist = np.array([[0.0, 0.1, 0.2, 0.3, 0.4, 0.5]])
    out = evaluate(dist, np.array([1]), g_pids, np.array([0]), g_cams, max_rank=4)
    # ranked after removal: g1 (no), g2 (yes), g4 (yes), g5 (no)
    np.testing.assert_allclose(out["cmc"], [0.0, 100.0, 100.0, 100.0])
    assert out["mAP"] == pytest.approx(100 * (1 / 2 + 2 / 3) / 2)


def test_a_query_without_a_valid_match_is_left_out():
    g_pids, g_cams = np.array([1, 2]), np.array([0, 1])
    dist = np.array([[0.1, 0.2], [0.3, 0.1]])
    # query 0 (id 1, camera 0): its only image of id 1 is in its own camera
    out = evaluate(dist, np.array([1, 2]), g_pids, np.array([0, 0]), g_cams, max_rank=2)
    assert out["queries"] == 1 and out["cmc"][0] == 100.0 and out["mAP"] == 100.0
    with pytest.raises(ValueError, match="no query has a valid match"):
        evaluate(dist[:1], np.array([1]), g_pids, np.array([0]), g_cams)
    with pytest.raises(ValueError, match="does not match 1 queries and 3 gallery"):
        evaluate(dist[:1], np.array([1]), np.array([1, 2, 3]), np.array([0]), np.array([0, 1, 2]))


def test_it_agrees_with_an_independent_computation():
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(0)
    nq, ng = 30, 200
    q_pids, g_pids = rng.integers(0, 15, nq), rng.integers(-1, 15, ng)
    q_cams, g_cams = rng.integers(0, 4, nq), rng.integers(0, 4, ng)
    dist = rng.random((nq, ng))
    out = evaluate(dist, q_pids, g_pids, q_cams, g_cams, max_rank=5)
    aps, firsts = [], []
    for i in range(nq):
        valid = (g_pids != -1) & ~((g_pids == q_pids[i]) & (g_cams == q_cams[i]))
        truth = g_pids[valid] == q_pids[i]
        if not truth.any():
            continue
        d = dist[i, valid]
        aps.append(average_precision_score(truth, -d))
        firsts.append(int((d < d[truth].min()).sum()))  # wrong images closer than the best match
    assert out["queries"] == len(aps)
    assert out["mAP"] == pytest.approx(100 * np.mean(aps))
    want = [100 * np.mean([f < k for f in firsts]) for k in range(1, 6)]
    np.testing.assert_allclose(out["cmc"], want)
