"""The graph peers as their papers' code trains them (GAE, VGAE, ARGA, ARGVA)."""

import pytest
import torch
import torch.nn.functional as F

from advkt.graph.metrics import link_scores
from advkt.graph.peers import CLUSTER_EPOCHS, EPOCHS, PEERS, build_peer, fit_peer, self_loop_target
from advkt.graph.savgae import dense_recon_loss
from advkt.graph.synthetic import sbm_graph
from advkt.graph.train import embed


def test_self_loop_target_is_a_plus_i_with_the_papers_weights():
    ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])  # path 0-1-2, both directions
    t = self_loop_target(ei, 4)
    a = torch.tensor([[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]]).float()
    assert torch.equal(t.target, a + torch.eye(4))
    # ΣA = 4 (self-loops not counted): w₊ = (16 − 4)/4, norm = 16 / (2 · 12)
    assert t.pos_weight == pytest.approx(3.0) and t.norm == pytest.approx(16 / 24)


def test_the_peers_loss_is_tensorflows_weighted_cross_entropy_on_a_plus_i():
    x, ei, _ = sbm_graph(30, num_classes=2, num_features=4, seed=2)
    t = self_loop_target(ei, 30)
    z = torch.randn(30, 5)
    logits = z @ z.T
    # tf.nn.weighted_cross_entropy_with_logits, averaged, times norm (the released code)
    naive = t.norm * F.binary_cross_entropy_with_logits(
        logits, t.target, pos_weight=torch.tensor(t.pos_weight)
    )
    assert float(dense_recon_loss(z, t)) == pytest.approx(float(naive), rel=1e-5)


def test_peer_shapes_and_schedules():
    assert EPOCHS == {"gae": 200, "vgae": 200, "arga": 200, "argva": 200}
    assert CLUSTER_EPOCHS["arga"] == CLUSTER_EPOCHS["argva"] == 50
    x, ei, _ = sbm_graph(20, num_classes=2, num_features=6, seed=0)
    for name, dim in zip(PEERS, (16, 16, 32, 32)):
        assert embed(build_peer(name, 6), x, ei).shape == (20, dim)
    d = build_peer("arga", 6).discriminator
    lin = [m for m in d.modules() if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in lin] == [64, 32, 1]
    assert all(
        float(m.bias.detach().abs().max()) == 0 and float(m.weight.detach().std()) < 0.02
        for m in lin
    )
    assert not any(p.dim() == 1 for p in build_peer("gae", 6).parameters())  # no biases
    with pytest.raises(ValueError, match="unknown peer 'sdne'"):
        build_peer("sdne", 6)
    with pytest.raises(ValueError, match="task must be"):
        fit_peer("gae", x, ei, task="classify")


@pytest.mark.parametrize("name", PEERS)
def test_each_peer_fits_its_target_and_scores_held_out_links(name):
    # A 4-block SBM with a fifth of its edges held out. GCN smoothing alone scores held-out links
    # at AUC 0.64-0.72 here, so the check is that training both fits the target and lifts the AUC.
    x, ei, _ = sbm_graph(200, num_classes=4, num_features=8, deg_in=8, deg_out=1, seed=0)
    und = ei[:, ei[0] < ei[1]]
    g = torch.Generator().manual_seed(0)
    perm = torch.randperm(und.size(1), generator=g)
    k = und.size(1) // 5
    test, train = und[:, perm[:k]], und[:, perm[k:]]
    neg = torch.randint(0, 200, (2, k), generator=g)
    train_ei = torch.cat([train, train.flip(0)], 1)
    target = self_loop_target(train_ei, 200)
    torch.manual_seed(0)
    fresh = build_peer(name, 8).eval()
    before = float(dense_recon_loss(embed(fresh, x, train_ei), target))
    untrained = link_scores(embed(fresh, x, train_ei), test, neg)["auc"]
    torch.manual_seed(0)
    m = fit_peer(name, x, train_ei, epochs=50)
    z = embed(m, x, train_ei)
    auc = link_scores(z, test, neg)["auc"]
    assert float(dense_recon_loss(z, target)) < 0.8 * before
    assert auc > 0.73 and auc > untrained
