"""Logit and MLP discriminators: structure, shapes, errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from advkt.losses import gradient_penalty
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
