"""Logit and MLP discriminators: structure, shapes, errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from advkt.losses import d_loss, gradient_penalty
from advkt.nn import LogitDiscriminator, MLPDiscriminator


def test_logit_discriminator_layout_and_outputs():
    d = LogitDiscriminator(num_classes=10, hidden=32)
    kinds = [type(m) for m in d.net]
    assert kinds == [
        nn.BatchNorm1d, nn.Linear, nn.BatchNorm1d, nn.ReLU,
        nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Linear,
    ]  # fmt: skip
    assert d.net[-1].out_features == 11
    adv, cls = d(torch.randn(8, 10))
    assert adv.shape == (8,) and cls.shape == (8, 10)
    out = d.net(torch.randn(8, 10))
    d.eval()
    x = torch.randn(1, 10)
    adv, cls = d(x)
    torch.testing.assert_close(torch.cat([adv[:, None], cls], dim=1), d.net(x))
    assert out.shape == (8, 11)


def test_logit_discriminator_errors():
    with pytest.raises(ValueError, match=r"logits \(N, 10\)"):
        LogitDiscriminator(10)(torch.randn(4, 9))
    with pytest.raises(ValueError, match="num_classes >= 1"):
        LogitDiscriminator(0)


def test_mlp_discriminator_shapes_and_gradient_penalty():
    d = MLPDiscriminator(in_dim=16, hidden=(8,), out=1)
    assert d(torch.randn(5, 4, 4)).shape == (5,)
    assert d(torch.randn(5, 16)).shape == (5,)
    assert MLPDiscriminator(in_dim=6, hidden=(), out=3)(torch.randn(2, 2, 3)).shape == (2, 3)
    assert MLPDiscriminator(in_dim=1, hidden=(4,))(torch.randn(3)).shape == (3,)
    gp = gradient_penalty(d, torch.randn(5, 4, 4), torch.randn(5, 4, 4))
    gp.backward()
    assert d.net[0].weight.grad is not None
    with pytest.raises(ValueError, match="16 values per sample"):
        d(torch.randn(5, 3, 4))


@pytest.fixture
def one_thread():
    # the CPU is shared: more threads than free cores makes these small matmuls 10x slower
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("kind", ["gan", "lsgan", "hinge", "wgan"])
def test_logit_discriminator_learns_teacher_from_student_and_classes(kind, one_thread):
    # teacher logits peak sharply at the label, student logits are flatter: D must tell them
    # apart with its adversarial logit and read the label with its class logits (L_adv^C).
    # Both sides go through D in one batch: batch norm on a side-only batch would standardise
    # each side on its own and erase the difference D is meant to see.
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 5, (128,), generator=g)
    onehot = nn.functional.one_hot(y, 5).float()
    real = 6 * onehot + 0.5 * torch.randn(128, 5, generator=g)
    fake = 2 * onehot + 0.5 * torch.randn(128, 5, generator=g)
    torch.manual_seed(0)
    d = LogitDiscriminator(5, hidden=32)
    opt = torch.optim.Adam(d.parameters(), lr=1e-2)
    for _ in range(60):
        opt.zero_grad()
        adv, cls = d(torch.cat([real, fake]))
        ce = nn.functional.cross_entropy(cls, torch.cat([y, y]))
        (d_loss(adv[:128], adv[128:], kind) + ce).backward()
        opt.step()
    d.eval()
    with torch.no_grad():
        adv_r, cls_r = d(real)
        adv_f, _ = d(fake)
    if kind == "wgan":  # the critic's scale and offset are arbitrary: compare the two sides
        assert (adv_r > adv_f.median()).float().mean() > 0.9
        assert (adv_f < adv_r.median()).float().mean() > 0.9
    else:
        threshold = 0.5 if kind == "lsgan" else 0.0
        correct = torch.cat([adv_r > threshold, adv_f <= threshold]).float().mean()
        assert correct > 0.9, correct
    assert (cls_r.argmax(1) == y).float().mean() > 0.9
