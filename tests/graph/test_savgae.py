import math

import pytest
import torch
import torch.nn.functional as F

from advkt.graph.savgae import (
    SAVGAE,
    DenseTarget,
    Discriminator,
    VariationalGCNEncoder,
    _DenseWeightedBCE,
)
from advkt.graph.synthetic import sbm_graph
from advkt.graph.target import SparseTarget, adjacency, dense_target
from advkt.graph.train import embed, fit_savgae


def _model(adversarial="released", f=6):
    torch.manual_seed(0)
    return SAVGAE(VariationalGCNEncoder(f, 8, 4), Discriminator(4, 8, 4), adversarial)


def _naive_bce(x, t, pos_weight):
    """By hand: −[w₊ t log σ(x) + (1 − t) log(1 − σ(x))], averaged over all pairs."""
    s = torch.sigmoid(x.double())
    t = t.double()
    return -(pos_weight * t * torch.log(s) + (1 - t) * torch.log(1 - s)).mean()


def test_dense_target_weights_by_hand():
    t = torch.rand(4, 4)
    dt = DenseTarget.build(t, num_edges=6)
    assert dt.pos_weight == pytest.approx((16 - 6) / 6)
    assert dt.norm == pytest.approx(16 / (2 * (16 - 6)))
    with pytest.raises(ValueError, match="no edges"):
        DenseTarget.build(t, 0)


def test_dense_recon_loss_matches_naive_cross_entropy():
    g = torch.Generator().manual_seed(1)
    z = torch.randn(9, 4, generator=g)
    t = torch.rand(9, 9, generator=g)
    dt = DenseTarget.build(t, num_edges=20)
    loss = _model().recon_loss(z, dt)
    ref = dt.norm * _naive_bce(z @ z.T, t, dt.pos_weight)
    assert float(loss) == pytest.approx(float(ref), rel=1e-5)
    ref2 = dt.norm * F.binary_cross_entropy_with_logits(
        z @ z.T, t, pos_weight=torch.tensor(dt.pos_weight)
    )
    assert float(loss) == pytest.approx(float(ref2), rel=1e-5)


@pytest.mark.parametrize("symmetric", [True, False])
def test_dense_weighted_bce_gradient(symmetric):
    g = torch.Generator().manual_seed(2)
    z = torch.randn(6, 3, dtype=torch.float64, generator=g, requires_grad=True)
    t = torch.rand(6, 6, dtype=torch.float64, generator=g)
    if symmetric:
        t = (t + t.T) / 2
    pw = 3.5
    w = 1 + (pw - 1) * t
    dt = DenseTarget.build(t, num_edges=5)
    assert dt.symmetric is symmetric

    def loss(z):
        return _DenseWeightedBCE.apply(z, t, w, pw, symmetric)

    # the value and the gradient equal those of PyTorch's own weighted BCE on Z Zᵀ (sum
    # reduction); gradcheck cannot run: it calls backward twice on one graph, which is refused
    out = loss(z)
    out.backward()
    z2 = z.detach().clone().requires_grad_()
    ref = F.binary_cross_entropy_with_logits(
        z2 @ z2.T, t, pos_weight=torch.tensor(pw, dtype=torch.float64), reduction="sum"
    )
    ref.backward()
    assert float(out.detach()) == pytest.approx(float(ref.detach()), rel=1e-12)
    assert torch.allclose(z.grad, z2.grad, rtol=1e-10, atol=1e-12)


def test_dense_weighted_bce_refuses_a_second_backward():
    z = torch.randn(4, 2, requires_grad=True)
    t = torch.eye(4)
    out = _DenseWeightedBCE.apply(z, t, 1 + t, 2.0, True)
    out.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="one backward"):
        out.backward()


def test_sparse_loss_with_full_support_is_the_dense_loss():
    g = torch.Generator().manual_seed(3)
    z = torch.randn(7, 4, generator=g)
    t = torch.rand(7, 7, generator=g)
    row, col = torch.meshgrid(torch.arange(7), torch.arange(7), indexing="ij")
    st = SparseTarget(row.flatten(), col.flatten(), t.flatten(), 7, 10.0)
    dense = _model().recon_loss(z, DenseTarget.build(t, 10.0))
    assert float(_model().recon_loss(z, st)) == pytest.approx(float(dense), rel=1e-5)


def test_sparse_loss_is_unbiased_off_support():
    g = torch.Generator().manual_seed(4)
    n = 30
    z = 0.5 * torch.randn(n, 4, generator=g)
    row, col = torch.arange(n), (torch.arange(n) + 1) % n
    val = torch.rand(n, generator=g)
    st = SparseTarget(row, col, val, n, 40.0)
    t = torch.zeros(n, n)
    t[row, col] = val
    dense = float(_model().recon_loss(z, DenseTarget.build(t, 40.0)))
    m = _model()
    m.num_negatives = 50.0
    torch.manual_seed(0)
    est = sum(float(m.recon_loss(z, st)) for _ in range(200)) / 200
    # samples that land on the support are counted as T = 0: a bias of order |Ω|/N² = 3 %
    assert est == pytest.approx(dense, rel=0.05)


def test_adversarial_losses_by_hand():
    m = _model()
    x = torch.randn(6, 6)
    ei = torch.tensor([[0, 1, 2, 3, 4], [1, 2, 3, 4, 5]])
    ei = torch.cat([ei, ei.flip(0)], 1)
    z = m.encode(x, ei)
    mu = m.__mu__
    d_mu, d_z = torch.sigmoid(m.discriminator(mu)), torch.sigmoid(m.discriminator(z))
    ref_d = -torch.log(d_mu).mean() - torch.log(1 - d_z).mean()
    assert float(m.discriminator_loss(z)) == pytest.approx(float(ref_d), rel=1e-5)
    assert float(m.reg_loss(z)) == pytest.approx(float(-torch.log(1 - d_mu).mean()), rel=1e-5)
    nat = _model("natural")
    z = nat.encode(x, ei)
    d_z = torch.sigmoid(nat.discriminator(z))
    assert float(nat.reg_loss(z)) == pytest.approx(float(-torch.log(d_z).mean()), rel=1e-5)
    # only the discriminator gets a gradient from L_D
    m.discriminator_loss(z).backward()
    assert all(p.grad is None for p in m.encoder.parameters())


def test_kl_term_by_hand():
    m = _model()
    x = torch.randn(5, 6)
    ei = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
    m.encode(x, torch.cat([ei, ei.flip(0)], 1))
    mu, logstd = m.__mu__, m.__logstd__
    ref = -0.5 * (1 + 2 * logstd - mu**2 - torch.exp(logstd) ** 2).sum(1).mean()
    assert float(m.kl_loss()) == pytest.approx(float(ref), rel=1e-5)


def test_unknown_adversarial_variant():
    with pytest.raises(ValueError, match="adversarial must be one of"):
        SAVGAE(VariationalGCNEncoder(3), Discriminator(), adversarial="wgan")


@pytest.mark.parametrize("target", ["dense", "sparse", "adjacency"])
def test_fit_learns_block_structure(target):
    x, ei, y = sbm_graph(120, num_classes=3, num_features=8, deg_in=6, deg_out=1, seed=0)
    torch.manual_seed(0)
    losses = []
    m = fit_savgae(x, ei, iterations=30, target=target, callback=lambda i, l: losses.append(l))
    assert len(losses) == 30 and all(math.isfinite(v) for l in losses for v in l.values())
    assert losses[-1]["rec"] < losses[0]["rec"]
    mu = embed(m, x, ei)
    assert mu.shape == (120, 32)
    # linked pairs score above random pairs
    s_pos = (mu[ei[0]] * mu[ei[1]]).sum(-1).mean()
    r = torch.randint(0, 120, (2, 2000))
    s_rand = (mu[r[0]] * mu[r[1]]).sum(-1).mean()
    assert s_pos > s_rand


def test_dense_target_uses_binary_adjacency_for_weights():
    x, ei, _ = sbm_graph(40, num_classes=2, num_features=4, seed=1)
    dt = DenseTarget.build(dense_target(ei, 40), adjacency(ei, 40).nnz)
    assert dt.pos_weight == pytest.approx((1600 - ei.size(1)) / ei.size(1))


def test_a_diverging_savgae_stops_with_the_shared_divergence_error():
    from advkt.errors import DivergenceError
    from advkt.graph.train import fit_savgae

    torch.manual_seed(0)
    x = torch.randn(12, 5)
    x[3, 0] = float("inf")
    edges = torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 0]])
    edges = torch.cat([edges, edges.flip(0)], 1)
    with pytest.raises(DivergenceError, match="SAVGAE diverged at iteration 0"):
        fit_savgae(x, edges, iterations=3)
    assert issubclass(DivergenceError, FloatingPointError)  # what callers caught before


def test_the_adjacency_ablation_is_the_peers_a_plus_i_target():
    from advkt.graph.peers import self_loop_target
    from advkt.graph.train import build_target

    _, ei, _ = sbm_graph(30, num_classes=2, num_features=4, seed=3)
    t, ref = build_target(ei, 30, "adjacency"), self_loop_target(ei, 30)
    assert torch.equal(t.target, ref.target) and t.pos_weight == ref.pos_weight
    assert not torch.equal(t.target, build_target(ei, 30, "dense").target)


def test_without_the_adversary_only_the_reconstruction_steps_run():
    x, ei, _ = sbm_graph(60, num_classes=2, num_features=6, seed=0)
    torch.manual_seed(0)
    losses = []
    m = fit_savgae(x, ei, iterations=5, adversary=False, callback=lambda i, l: losses.append(l))
    torch.manual_seed(0)
    fresh = SAVGAE(VariationalGCNEncoder(6), Discriminator())
    d_now, d_init = m.discriminator.state_dict(), fresh.discriminator.state_dict()
    assert all(torch.equal(d_now[k], d_init[k]) for k in d_init)  # D never stepped
    assert all(l["d"] == 0 and l["g"] == 0 for l in losses)
    assert losses[-1]["rec"] < losses[0]["rec"]
