"""MobileNetV2 for CIFAR (Sandler et al., "MobileNetV2: inverted residuals and linear bottlenecks",
CVPR 2018), in RepDistiller's CIFAR layout (Tian et al., ICLR 2020; ``width_mult=0.5`` is its
``mobile_half`` student).

Stem conv3x3 stride 2 (C_in -> 32w) - BN - ReLU, then inverted residual blocks

    y = [x +] BN(conv1x1(ReLU(BN(dwconv3x3_s(ReLU(BN(conv1x1_{t c_in}(x))))))))

(residual only when stride 1 and c_in = c_out) in seven groups (t, c, n, s) =
(1,16,1,1) (t,24,2,1) (t,32,3,2) (t,64,4,2) (t,96,3,1) (t,160,3,2) (t,320,1,1) with c scaled by w,
then conv1x1 -> 1280 (1280w if w > 1) - BN - ReLU, global average pooling, linear.

The stem is conv3x3 and group 0 (the single t = 1 block, 16w at 16x16 for a 32x32 input); each of
groups 1-6 is one stage of :class:`Features` (24w@16, 32w@8, 64w@4, 96w@4, 160w@2, 320w@2), so
that the blocks of a stage share one shape. RepDistiller's four ``feats`` are the outputs of stages
0, 1, 3 and 5 (the last stage at each resolution). Blocks end linearly (no activation), as in the
paper.
"""

from __future__ import annotations

import torch
from torch import nn

from advkt.models._factory import model_factory
from advkt.models._staged import StagedNet, global_pool, init_conv_bn

# groups (c, n, stride) after the t = 1 group (16, 1, 1) that ends the stem
_GROUPS = [(24, 2, 1), (32, 3, 2), (64, 4, 2), (96, 3, 1), (160, 3, 2), (320, 1, 1)]


def _conv_bn(c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(c_in, c_out, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
    ]


class InvertedResidual(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = c_in * expand
        self.residual = stride == 1 and c_in == c_out
        self.conv = nn.Sequential(
            *_conv_bn(c_in, hidden, 1), nn.ReLU(),
            *_conv_bn(hidden, hidden, 3, stride, groups=hidden), nn.ReLU(),
            *_conv_bn(hidden, c_out, 1),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.residual else out


@model_factory("mobilenetv2")
def mobilenetv2(
    num_classes: int = 10, in_channels: int = 3, width_mult: float = 1.0, expand: int = 6
) -> StagedNet:
    """MobileNetV2 for 32x32 inputs; ``width_mult`` scales every width, ``expand`` is t."""
    if width_mult <= 0 or expand < 1:
        raise ValueError(
            f"mobilenetv2: width_mult must be > 0 and expand >= 1, got {width_mult}, {expand}"
        )
    c_in = int(16 * width_mult)
    stem = nn.Sequential(
        *_conv_bn(in_channels, int(32 * width_mult), 3, 2),
        nn.ReLU(),
        InvertedResidual(int(32 * width_mult), c_in, 1, 1),
    )
    stages = []
    for c, n, stride in _GROUPS:
        c_out = int(c * width_mult)
        stages.append([])
        for b in range(n):
            stages[-1].append(InvertedResidual(c_in, c_out, stride if b == 0 else 1, expand))
            c_in = c_out
    last = int(1280 * width_mult) if width_mult > 1.0 else 1280
    head = nn.Sequential(*_conv_bn(c_in, last, 1), nn.ReLU(), global_pool())
    net = StagedNet(stem, stages, head, nn.Linear(last, num_classes), in_channels)
    init_conv_bn(net)
    nn.init.normal_(net.fc.weight, 0.0, 0.01)
    nn.init.zeros_(net.fc.bias)
    return net
