"""ADMM pruning (Ye et al. 2019): projection cardinality, penalty, Z/U updates, hard prune,
memory accounting and state round trip."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from advkt.pruning import ADMM, apply_masks, compression_rate, prunable_weights


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 16), nn.ReLU(),
        nn.Linear(16, 3),
    )  # fmt: skip


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_projection_keeps_exactly_k_nonzeros(scope):
    model = _model()
    admm = ADMM(model, rate=8.0, rho=0.01, scope=scope)
    sizes = {n: w.numel() for n, w in prunable_weights(model)}
    nnz = {n: int(torch.count_nonzero(z)) for n, z in admm.Z.items()}
    if scope == "layer":
        assert nnz == {n: round(s / 8) for n, s in sizes.items()}
    else:
        assert sum(nnz.values()) == round(sum(sizes.values()) / 8)
    # Π_S keeps the largest magnitudes: every kept |z| >= every dropped |w| (per layer)
    for n, w in prunable_weights(model):
        z = admm.Z[n]
        kept = z != 0
        assert torch.equal(z[kept], w.detach()[kept])
        if scope == "layer":
            assert w.detach().abs()[kept].min() >= w.detach().abs()[~kept].max()


def test_penalty_matches_flat_formula_and_update_rule():
    model = _model()
    admm = ADMM(model, sparsity=0.75, rho=0.3)
    with torch.no_grad():
        for u in admm.U.values():
            u.normal_()
    w = torch.cat([p.detach().flatten() for _, p in prunable_weights(model)])
    z = torch.cat([t.flatten() for t in admm.Z.values()])
    u = torch.cat([t.flatten() for t in admm.U.values()])
    r = w - z + u
    assert admm.penalty().item() == pytest.approx(0.15 * torch.dot(r, r).item(), rel=1e-5)
    # the penalty's gradient w.r.t. W is ρ(W − Z + U)
    admm.penalty().backward()
    g = torch.cat([p.grad.flatten() for _, p in prunable_weights(model)])
    assert torch.allclose(g, 0.3 * r, atol=1e-6)
    # Z ← Π_S(W + U), U ← U + W − Z
    u_old = {n: t.clone() for n, t in admm.U.items()}
    admm.update()
    for n, p in prunable_weights(model):
        v = p.detach() + u_old[n]
        k = round(v.numel() * 0.25)
        keep = v.abs().flatten().topk(k).indices
        expected = torch.zeros(v.numel())
        expected[keep] = v.flatten()[keep]
        assert torch.allclose(admm.Z[n].flatten(), expected)
        assert torch.allclose(admm.U[n], u_old[n] + p.detach() - admm.Z[n], atol=1e-6)


def _toy() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    x = torch.randn(256, 1, 8, 8)
    y = (x[:, 0, 2:5, 2:5].mean((1, 2)) > 0).long() + (x[:, 0, 5:, 5:].mean((1, 2)) > 0).long()
    return x, y


def _train(model, x, y, steps, admm=None, masks=None) -> list[float]:
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    residuals = []
    for step in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        (loss + admm.penalty() if admm is not None else loss).backward()
        opt.step()
        if masks is not None:
            apply_masks(model, masks)
        if admm is not None and (step + 1) % 30 == 0:
            residuals.append(admm.update()["admm_residual"])
    return residuals


@torch.no_grad()
def _acc(model, x, y) -> float:
    return (model(x).argmax(1) == y).float().mean().item()


def test_admm_pruning_beats_one_shot_magnitude_pruning():
    """ADMM rounds pull W towards the sparse set, so its hard prune costs far less accuracy
    than pruning a densely trained model to the same rate; masked fine-tuning keeps the rate."""
    x, y = _toy()
    dense = _model()
    _train(dense, x, y, 300)
    ADMM(dense, rate=5.0).prune()
    dense_pruned = _acc(dense, x, y)

    model = _model()
    admm = ADMM(model, rate=5.0, rho=0.5)
    residuals = _train(model, x, y, 300, admm=admm)
    assert residuals[-1] < 0.25 * residuals[0]
    masks = admm.prune()
    assert compression_rate(model) == pytest.approx(5.0, rel=0.02)
    admm_pruned = _acc(model, x, y)
    assert admm_pruned > dense_pruned + 0.2
    _train(model, x, y, 100, masks=masks)
    assert compression_rate(model) == pytest.approx(5.0, rel=0.02)
    assert _acc(model, x, y) >= admm_pruned


def test_memory_state_and_errors():
    model = _model()
    admm = ADMM(model, rate=4.0)
    weight_bytes = sum(w.numel() * w.element_size() for _, w in prunable_weights(model))
    assert admm.state_bytes() == 2 * weight_bytes
    admm.update()
    other = ADMM(_model(), rate=4.0)
    other.load_state_dict(admm.state_dict())
    assert all(torch.equal(other.Z[n], admm.Z[n]) for n in admm.Z)
    assert all(torch.equal(other.U[n], admm.U[n]) for n in admm.U)
    with pytest.raises(ValueError, match="missing"):
        other.load_state_dict({})
    with pytest.raises(ValueError, match="rho"):
        ADMM(model, rate=4.0, rho=0.0)
    with pytest.raises(ValueError, match="compression rate"):
        ADMM(model, rate=0.5)
