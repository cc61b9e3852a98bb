"""FLOP, parameter and latency accounting checked against closed forms worked out by hand."""

from __future__ import annotations

import pytest
from torch import nn

from advkt.models import build_model
from advkt.models.profile import (
    count_flops,
    count_params,
    format_profile,
    latency_ms,
    parse_shape,
    profile,
)


def test_linear_flops_closed_form():
    assert count_flops(nn.Linear(13, 7), (13,)) == 2 * 13 * 7
    assert count_params(nn.Linear(13, 7)) == 13 * 7 + 7


@pytest.mark.parametrize(
    "layer, shape, expected",
    [
        # 2 * C_out * H_out * W_out * (C_in / g) * k_h * k_w, H_out = (15 + 2 - 3) // 2 + 1 = 8
        (nn.Conv2d(3, 8, 3, stride=2, padding=1), (3, 15, 15), 2 * 8 * 8 * 8 * 3 * 9),
        (nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False), (8, 10, 10), 2 * 8 * 100 * 9),
        (nn.Conv2d(4, 6, (1, 3)), (4, 5, 7), 2 * 6 * 5 * 5 * 4 * 3),
        # L_out = (40 + 2 - 5) // 2 + 1 = 19
        (nn.Conv1d(2, 4, 5, stride=2, padding=1), (2, 40), 2 * 4 * 19 * 2 * 5),
    ],
)
def test_conv_flops_closed_form(layer, shape, expected):
    assert count_flops(layer, shape) == expected


def test_resnet20_flops_by_hand():
    def conv(c_out, side, c_in, k):
        return c_out * side * side * c_in * k * k

    macs = conv(16, 32, 3, 3) + 6 * conv(16, 32, 16, 3)
    for c, side in ((32, 16), (64, 8)):
        macs += conv(c, side, c // 2, 3) + 5 * conv(c, side, c, 3) + conv(c, side, c // 2, 1)
    macs += 64 * 10
    net = build_model({"name": "resnet20"}).train()
    assert count_flops(net, (3, 32, 32)) == 2 * macs
    assert net.training  # the mode is restored


def test_latency_positive_and_mode_restored():
    net = build_model({"name": "cnn1d", "width": 8}).train()
    ms = latency_ms(net, (1, 40), batch=4, warmup=1, repeats=3)
    assert ms > 0 and net.training
    with pytest.raises(ValueError, match="repeats >= 1"):
        latency_ms(net, (1, 40), repeats=0)


def test_profile_with_teacher():
    p = profile("resnet8", "3x32x32", teacher="resnet20", warmup=1, repeats=2)
    s, t = build_model({"name": "resnet8"}), build_model({"name": "resnet20"})
    assert p["model"] == "resnet8" and p["teacher"] == "resnet20"
    assert p["input_shape"] == [3, 32, 32]
    assert p["params"] == count_params(s) and p["teacher_params"] == count_params(t)
    assert p["compression"] == pytest.approx(count_params(t) / count_params(s))
    assert p["flops"] > 0 and p["teacher_flops"] > p["flops"]
    assert p["latency_ms"] > 0
    table = format_profile(p)
    assert "| resnet20 (teacher) |" in table and "| resnet8 |" in table
    assert "compression" in table


def test_profile_fits_fixed_size_nets_to_the_input():
    # mlp / lenet5 / cnn1d take in_size (and ndim) from the shape asked for
    p = profile("mlp", (1, 40), warmup=0, repeats=1)
    assert p["params"] == (40 * 256 + 256) + 2 * (256 * 256 + 256) + (256 * 10 + 10)
    p = profile("lenet5", (1, 16, 16), num_classes=3, warmup=0, repeats=1)
    usps = build_model({"name": "lenet5", "in_size": 16, "num_classes": 3})
    assert p["params"] == count_params(usps)
    spec = {"name": "cnn1d", "width": 8}
    assert profile(spec, (1, 40), warmup=0, repeats=1)["params"] == count_params(build_model(spec))
    net = build_model(spec)
    assert profile(net, (1, 40), warmup=0, repeats=1)["model"] == "cnn1d"


def test_parse_shape():
    assert parse_shape("3x32x32") == (3, 32, 32)
    assert parse_shape("1x40") == (1, 40)
    for bad in ("", "3x", "ax32", "3x0x4"):
        with pytest.raises(ValueError, match="expected CxHxW"):
            parse_shape(bad)
