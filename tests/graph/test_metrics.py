import numpy as np
import pytest
import torch

from advkt.graph.metrics import cluster_scores, link_scores, match_clusters
from advkt.graph.synthetic import sbm_graph


def test_match_clusters_undoes_a_permutation():
    y = np.array([0, 0, 1, 1, 2, 2, 2])
    pred = np.array([2, 2, 0, 0, 1, 1, 0])  # one mistake in the last point
    assert (match_clusters(y, pred) == np.array([0, 0, 1, 1, 2, 2, 1])).all()


def test_cluster_scores_on_separated_blobs():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(3).repeat_interleave(20)
    mu = 10 * torch.eye(3)[y] + 0.1 * torch.randn(60, 3, generator=g)
    s = cluster_scores(mu, y[torch.randperm(60, generator=g)].sort().values)
    assert s == pytest.approx({"acc": 1.0, "nmi": 1.0, "ari": 1.0, "f1": 1.0})


def test_link_scores_by_hand():
    mu = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    pos = torch.tensor([[0], [1]])  # score σ(1)
    neg = torch.tensor([[0, 2], [3, 3]])  # σ(−1), σ(0)
    assert link_scores(mu, pos, neg) == {"auc": 1.0, "ap": 1.0}
    # one negative above the positive: AUC 1/2, AP = mean precision at the positive = 1/2
    neg = torch.tensor([[0], [0]])  # σ(1)·… tie counts half
    assert link_scores(mu, pos, neg)["auc"] == pytest.approx(0.5)


def test_sbm_graph_shape_and_homophily():
    x, ei, y = sbm_graph(500, num_classes=4, num_features=16, deg_in=8, deg_out=2, seed=1)
    assert x.shape == (500, 16) and y.shape == (500,)
    assert (ei[0] != ei[1]).all()
    key = set((ei[0] * 500 + ei[1]).tolist())
    assert len(key) == ei.size(1)  # no duplicates
    assert key == set((ei[1] * 500 + ei[0]).tolist())  # symmetric
    same = (y[ei[0]] == y[ei[1]]).float().mean()
    assert 0.7 < same < 0.9  # expected 8 / (8 + 2)
    assert 8 < ei.size(1) / 500 < 12
