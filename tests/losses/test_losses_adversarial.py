"""GAN losses against hand-computed values, WGAN-GP against closed forms, the weight penalty
against a hand sum."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from advkt.losses import KINDS, d_loss, g_loss, gradient_penalty, weight_penalty


def test_gan_losses_hand_values():
    zero = torch.zeros(3)
    assert d_loss(zero, zero, "gan").item() == pytest.approx(2 * math.log(2), rel=1e-6)
    assert g_loss(zero, "gan").item() == pytest.approx(math.log(2), rel=1e-6)
    r, f = torch.tensor([1.0, 3.0]), torch.tensor([0.0, 2.0])
    assert d_loss(r, f, "lsgan").item() == pytest.approx(0.5 * 2 + 0.5 * 2)
    assert g_loss(f, "lsgan").item() == pytest.approx(0.5 * (1 + 1) / 2)
    r, f = torch.tensor([0.5, 2.0]), torch.tensor([-2.0, 0.5])
    assert d_loss(r, f, "hinge").item() == pytest.approx(0.25 + 0.75)
    assert g_loss(f, "hinge").item() == pytest.approx(0.75)
    assert d_loss(r, f, "wgan").item() == pytest.approx(-0.75 - 1.25)
    assert g_loss(f, "wgan").item() == pytest.approx(0.75)


def test_gan_matches_log_sigmoid_formula():
    g = torch.Generator().manual_seed(0)
    r, f = torch.randn(7, generator=g) * 3, torch.randn(7, generator=g) * 3

    def sig(x):
        return 1 / (1 + math.exp(-x))

    exp_d = (
        -sum(math.log(sig(x)) for x in r.tolist()) / 7
        - sum(math.log(1 - sig(x)) for x in f.tolist()) / 7
    )
    exp_g = -sum(math.log(sig(x)) for x in f.tolist()) / 7
    assert d_loss(r, f, "gan").item() == pytest.approx(exp_d, rel=1e-5)
    assert g_loss(f, "gan").item() == pytest.approx(exp_g, rel=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_signs_d_pushes_apart_g_pushes_fake_up(kind):
    r = torch.tensor([0.3, -0.2], requires_grad=True)
    f = torch.tensor([0.1, 0.4], requires_grad=True)
    d_loss(r, f, kind).backward()
    assert (r.grad < 0).all() and (f.grad > 0).all()  # descent raises real, lowers fake scores
    f2 = torch.tensor([0.1, 0.4], requires_grad=True)
    g_loss(f2, kind).backward()
    assert (f2.grad < 0).all()


def test_unknown_kind_is_named():
    with pytest.raises(ValueError, match="'vanilla'.*gan, lsgan, hinge, wgan"):
        d_loss(torch.zeros(2), torch.zeros(2), "vanilla")
    with pytest.raises(ValueError, match="'vanilla'"):
        g_loss(torch.zeros(2), "vanilla")


def test_gradient_penalty_of_linear_critic():
    # D(x) = <w, x>: the gradient is w everywhere, so the penalty is lambda (|w| - 1)^2
    w = torch.randn(2, 3, 3, requires_grad=True)
    real, fake = torch.randn(5, 2, 3, 3), torch.randn(5, 2, 3, 3)
    gp = gradient_penalty(lambda x: (x * w).flatten(1).sum(1), real, fake, weight=10.0)
    norm = w.detach().norm().item()
    assert gp.item() == pytest.approx(10.0 * (norm - 1) ** 2, rel=1e-5)
    # and it trains the critic: d/dw = 2 lambda (|w| - 1) w / |w|
    gp.backward()
    torch.testing.assert_close(w.grad, 20.0 * (norm - 1) * w.detach() / norm, rtol=1e-4, atol=1e-6)


def test_gradient_penalty_interpolates_per_sample():
    # D(x) = sum x^2: gradient 2 x_hat, penalty lambda mean(2|x_hat| - 1)^2 at the interpolates
    real, fake = torch.randn(4, 3), torch.randn(4, 3)
    gp = gradient_penalty(
        lambda x: (x**2).sum(1), real, fake, weight=1.0, generator=torch.Generator().manual_seed(5)
    )
    eps = torch.rand((4, 1), generator=torch.Generator().manual_seed(5))
    x_hat = eps * real + (1 - eps) * fake
    expected = ((2 * x_hat.norm(dim=1) - 1) ** 2).mean()
    assert gp.item() == pytest.approx(expected.item(), rel=1e-5)


def test_gradient_penalty_takes_first_of_tuple_and_checks_shapes():
    w = torch.randn(3)
    gp = gradient_penalty(lambda x: (x @ w, x), torch.randn(4, 3), torch.randn(4, 3), weight=2.0)
    assert gp.item() == pytest.approx(2.0 * (w.norm().item() - 1) ** 2, rel=1e-5)
    with pytest.raises(ValueError, match="same shape"):
        gradient_penalty(lambda x: x.sum(1), torch.randn(4, 3), torch.randn(4, 2))


def test_weight_penalty_hand_sum():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    w1, w2 = m[0].weight.detach(), m[3].weight.detach()
    values = w1.flatten().tolist() + w2.flatten().tolist()
    expected = 0.1 * sum(abs(v) for v in values) + 0.5 * sum(v * v for v in values)
    assert weight_penalty(m, 0.1, 0.5).item() == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="BatchNorm1d has no trainable weight"):
        weight_penalty(nn.BatchNorm1d(3), 1.0, 1.0)
