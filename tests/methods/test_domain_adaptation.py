"""The semi-supervised domain-adaptation methods and their parts: gradient reversal, the cosine
classifier, entropy, VAT's direction, MME's minimax step, DANN's ramp and BiAT's switches."""

from __future__ import annotations

import math

import pytest
import torch

from advkt.losses.domain import entropy, vat_direction, vat_loss
from advkt.methods.base import Batch
from advkt.models import build_model
from advkt.nn.cosine import CosineClassifier, grad_reverse
from advkt.registry import METHODS

BACKBONE = {"name": "mlp", "hidden": [16], "in_size": 6, "ndim": 1}


def _student():
    torch.manual_seed(0)
    return build_model(
        {"name": "cosine_head", "num_classes": 3, "in_channels": 1, "backbone": BACKBONE}
    )


def _batch(n=12) -> Batch:
    g = torch.Generator().manual_seed(1)
    y = torch.arange(n) % 3
    dom = (torch.arange(n) >= n // 2).long()
    y = torch.where((dom == 1) & (torch.arange(n) >= n - 3), torch.full_like(y, -1), y)
    return Batch(x=torch.randn(n, 1, 6, generator=g), y=y, domain=dom)


def test_gradient_reversal_is_the_identity_forward_and_minus_eta_backward():
    x = torch.randn(4, 3, requires_grad=True)
    y = grad_reverse(x, 0.5)
    assert torch.equal(y, x)
    (y * torch.arange(3.0)).sum().backward()
    torch.testing.assert_close(x.grad, -0.5 * torch.arange(3.0).expand(4, 3))


def test_cosine_classifier_divides_cosine_similarities_by_the_temperature():
    c = CosineClassifier(3, 2, temperature=0.5)
    with torch.no_grad():
        c.fc.weight.copy_(torch.tensor([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]))
    z = c(torch.tensor([[3.0, 4.0, 0.0]]))
    torch.testing.assert_close(z, torch.tensor([[0.6 / 0.5, 2 * 0.8 / 0.5]]))
    assert c.fc.bias is None


def test_entropy_is_log_k_for_uniform_logits_and_zero_for_an_empty_batch():
    assert float(entropy(torch.zeros(5, 4))) == pytest.approx(math.log(4))
    assert float(entropy(torch.zeros(0, 4))) == 0.0


def test_the_vat_direction_has_radius_eps_and_beats_a_random_one():
    torch.manual_seed(0)
    f = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 3))
    x = torch.randn(32, 1, 6)
    r = vat_direction(f, x, eps=0.5)
    torch.testing.assert_close(r.flatten(1).norm(dim=1), torch.full((32,), 0.5))
    rand = torch.randn_like(x)
    rand = 0.5 * rand / rand.flatten(1).norm(dim=1).view(-1, 1, 1)
    with torch.no_grad():
        assert float(vat_loss(f, x, r)) > float(vat_loss(f, x, rand))


def test_mme_minimax_raises_the_classifier_entropy_and_lowers_it_for_the_features():
    m = METHODS.get("mme")(_student(), None, 3, torch.randn(2, 1, 6), lam=1.0)
    b = _batch()
    out = m.minimax(b)
    out["loss"].backward()
    fc_grad = m.student.fc.fc.weight.grad.clone()
    # the same entropy without reversal, differentiated directly
    m.zero_grad()
    _, feats = m.student(b.x[(b.domain == 1) & (b.y < 0)], features=True)
    entropy(m.student.fc(feats.pooled)).backward()
    torch.testing.assert_close(fc_grad, -m.student.fc.fc.weight.grad)  # C ascends H
    first = next(m.student.parameters())  # an extractor weight
    assert first.grad is not None  # F gets the (reversed) gradient too


def test_mme_and_biat_refuse_a_student_without_a_cosine_classifier():
    plain = build_model({**BACKBONE, "num_classes": 3, "in_channels": 1})
    for name in ("mme", "biat"):
        with pytest.raises(ValueError, match=f"method '{name}' needs a student with a cosine"):
            METHODS.get(name)(plain, None, 3, torch.randn(2, 1, 6))


def test_dann_ramps_lambda_from_0_to_its_published_curve():
    m = METHODS.get("dann")(_student(), None, 3, torch.randn(2, 1, 6), ramp_epochs=10)
    assert m.ramp(0.0) == 0.0
    assert m.ramp(5.0) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert m.ramp(20.0) == pytest.approx(2 / (1 + math.exp(-10)) - 1)
    out = m.student_loss(_batch())
    assert set(out) == {"loss", "ce", "domain"} and torch.isfinite(out["loss"])


def test_biat_with_every_term_off_is_hnet_and_tnet_cross_entropy():
    off = dict(at_weight=0.0, aat_weight=0.0, evat_weight=0.0, lam=0.0)
    m = METHODS.get("biat")(_student(), None, 3, torch.randn(2, 1, 6), **off)
    b = _batch()
    out = m.supervised(b)
    assert set(out) == {"loss", "ce", "tnet_ce"}
    torch.testing.assert_close(out["loss"], out["ce"] + out["tnet_ce"])
    full = METHODS.get("biat")(_student(), None, 3, torch.randn(2, 1, 6))
    terms = full.supervised(b)
    assert {"at", "aat", "evat"} <= set(terms) and all(torch.isfinite(v) for v in terms.values())
    with pytest.raises(ValueError, match="aat_direction must be descent or ascent"):
        METHODS.get("biat")(_student(), None, 3, torch.randn(2, 1, 6), aat_direction="up")
