"""Classic distillation peers against their reference code: DKD's beta and warm-up (mdistiller),
FitNet's regressor (RepDistiller ConvReg / mdistiller), FSP's two-stage protocol (RepDistiller)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

from advkt.losses.kd import dkd_loss
from advkt.methods.base import Batch, labelled_ce
from advkt.methods.dkd import DKD
from advkt.methods.fitnet import FitNet
from advkt.methods.fsp import FSP
from advkt.models import build_model
from advkt.nn.attention import ChannelTransform

RECIPES = Path(__file__).resolve().parents[2] / "recipes"


def _cnn1d(width: int) -> nn.Module:
    return build_model({"name": "cnn1d", "num_classes": 10, "in_channels": 1, "width": width})


def _make(cls, s_width=4, t_width=8, **kw):
    torch.manual_seed(0)
    x = torch.randn(8, 1, 40)
    m = cls(_cnn1d(s_width), _cnn1d(t_width).eval(), num_classes=10, example_input=x, **kw)
    return m, x


def _batch(m, x, epoch=0.0, features=True):
    y = torch.tensor([0, 1, 2, 3, 4, 5, -1, 7])
    with torch.no_grad():
        if features:
            t_logits, t_feats = m.teacher(x, features=True)
        else:
            t_logits, t_feats = m.teacher(x), None
    return Batch(x=x, y=y, t_logits=t_logits, t_feats=t_feats, epoch=epoch)


# --- DKD ------------------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", ["cifar10", "cifar100"])
def test_dkd_beta_for_resnet110_resnet32_is_mdistillers(dataset):
    # mdistiller configs/cifar100/dkd/res110_res32.yaml: DKD.BETA = 2.0
    recipe = yaml.safe_load((RECIPES / dataset / "dkd_resnet110_resnet32.yaml").read_text())
    assert recipe["method"]["args"]["beta"] == 2


def test_dkd_warmup_is_mdistillers_epoch_counted_from_one():
    m, _ = _make(DKD, warmup=20.0)
    # mdistiller: min(epoch / warmup, 1) with epoch = 1 during the whole first epoch
    assert m.ramp(0.0) == pytest.approx(1 / 20)
    assert m.ramp(0.99) == pytest.approx(1 / 20)
    assert m.ramp(1.0) == pytest.approx(2 / 20)
    assert m.ramp(18.99) == pytest.approx(19 / 20)
    assert m.ramp(19.0) == 1.0
    assert m.ramp(100.0) == 1.0
    m.warmup = 0.0
    assert m.ramp(0.0) == 1.0


def test_dkd_loss_uses_the_ramp_at_the_first_batch():
    m, x = _make(DKD, warmup=20.0)
    b = _batch(m, x, epoch=0.0, features=False)
    out = m.student_loss(b)
    s = m.student(x)
    target = torch.where(b.labelled, b.y, b.t_logits.argmax(1))
    dkd = dkd_loss(s, b.t_logits, target, m.alpha, m.beta, m.T)
    assert out["dkd"].item() > 0
    torch.testing.assert_close(out["loss"], labelled_ce(s, b.y) + dkd / 20)


# --- FitNet ---------------------------------------------------------------------------------


def test_fitnet_regressor_is_conv_bn_relu():
    m, x = _make(FitNet)
    assert any(isinstance(mod, nn.ReLU) for mod in m.regressor.modules())
    _, feats = m.student(x, features=True)
    out = m.regressor(feats.stages[m.hint_stage])
    assert out.shape[1] == 8
    assert (out >= 0).all() and (out == 0).any()


def test_channel_transform_default_has_no_relu():
    # HKSANC, FSP and dense flow keep conv (+ BN) without ReLU
    ct = ChannelTransform(4, 8)
    assert not any(isinstance(mod, nn.ReLU) for mod in ct.modules())
    assert (ct(torch.randn(8, 4, 10)) < 0).any()


# --- FSP ------------------------------------------------------------------------------------


def test_fsp_two_stage_init_stage_is_fsp_alone_and_leaves_the_classifier():
    m, x = _make(FSP, protocol="two_stage", init_epochs=3)
    for epoch in (0.0, 2.99):
        m.zero_grad(set_to_none=True)
        out = m.student_loss(_batch(m, x, epoch=epoch))
        assert set(out) == {"loss", "ce", "fsp"}
        torch.testing.assert_close(out["loss"], m.beta * out["fsp"])
        out["loss"].backward()
        assert all(p.grad is None for p in m.student.fc.parameters())
        assert m.student.stages[0][0][0].weight.grad.abs().sum() > 0
        assert any(p.grad is not None for p in m.adapters.parameters())  # widths 4 -> 8


def test_fsp_two_stage_main_stage_is_ce_alone():
    m, x = _make(FSP, protocol="two_stage", init_epochs=3)
    b = _batch(m, x, epoch=3.0)
    out = m.student_loss(b)
    assert set(out) == {"loss", "ce", "fsp"}
    assert out["fsp"].item() > 0  # still logged
    s = m.student(x)
    torch.testing.assert_close(out["loss"], labelled_ce(s, b.y))
    out["loss"].backward()
    assert m.student.fc.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in m.adapters.parameters())


def test_fsp_joint_is_ce_plus_beta_fsp_at_every_epoch():
    m, x = _make(FSP)
    assert m.protocol == "joint"
    b = _batch(m, x, epoch=0.0)
    out = m.student_loss(b)
    torch.testing.assert_close(out["loss"], out["ce"] + m.beta * out["fsp"])


def test_fsp_unknown_protocol_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown protocol 'twostage'"):
        _make(FSP, protocol="twostage")
    with pytest.raises(ValueError, match="init_epochs"):
        _make(FSP, protocol="two_stage", init_epochs=-1)
