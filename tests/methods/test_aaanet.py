"""AAA-Net's terms and its minimax step on a small ResNet: the eraser's step reaches the eraser
alone, each weight at 0 removes its term, and the method trains through the engine on a
synthetic re-ID folder."""

from __future__ import annotations

import pytest
import torch

from advkt.methods.aaanet import AAANet
from advkt.methods.base import Batch
from advkt.models import build_model


def _method(**kw):
    torch.manual_seed(0)
    net = build_model({"name": "resnet8", "num_classes": 4, "in_channels": 3})
    return AAANet(net, None, 4, torch.randn(2, 3, 32, 16), **kw)


def _batch():
    return Batch(x=torch.randn(8, 3, 32, 16), y=torch.arange(4).repeat(2), epoch=0.0)


def test_the_terms_and_their_switches():
    m = _method()
    out = m.student_loss(_batch())
    assert {"ce", "triplet", "assign", "adv", "loss"} <= set(out)
    total = out["ce"] + out["triplet"] + out["assign"] + out["adv"]
    assert out["loss"].item() == pytest.approx(total.item(), rel=1e-5)
    off = _method(assign_weight=0.0, adv_weight=0.0).student_loss(_batch())
    assert "assign" not in off and "adv" not in off
    assert [name for name, _ in _method(adv_weight=0.0).steps()] == ["student"]
    assert [name for name, _ in m.steps()] == ["eraser", "student"]


def test_the_eraser_step_moves_only_the_eraser_and_raises_the_erased_loss():
    m = _method()
    b = _batch()
    out = m.eraser_loss(b)
    out["loss"].backward()
    assert m.eraser.weight.grad is not None and m.eraser.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in m.student.parameters())  # the network is not its to move
    assert 0 < out["area"].item() < 1
    # its loss is minus the erased CE (plus the area term): gradient ascent on the classifier's loss
    m2 = _method(area_weight=0.0)
    o2 = m2.eraser_loss(_batch())
    assert o2["loss"].item() == pytest.approx(-o2["erased_ce"].item(), rel=1e-5)


def test_bad_arguments_are_one_line_errors():
    with pytest.raises(ValueError, match="erase_share and area in"):
        _method(area=1.5)


def test_aaanet_trains_through_the_engine_on_a_synthetic_market_folder(tmp_path):
    from tests.reid.synthetic_run import train_and_evaluate

    s, r = train_and_evaluate(tmp_path, "aaanet", ids=12, per_cam=2, epochs=1, p=6, k=2)
    assert 0 <= s["test_acc"] <= 100 and r["queries"] == 6 * 3
