"""Wide residual networks WRN-d-k for CIFAR (Zagoruyko & Komodakis, "Wide residual networks",
BMVC 2016), laid out as in RepDistiller / mdistiller.

Stem: conv3x3(C_in -> 16), no BN. Three stages of n = (d - 4) / 6 pre-activation blocks with widths
16k, 32k, 64k and strides 1, 2, 2; head BN - ReLU - global average pooling - linear:

    y = x + conv3x3(drop(ReLU(BN(conv3x3(ReLU(BN(x)))))))                  (same shape)
    y = conv1x1_s(a) + conv3x3(drop(ReLU(BN(conv3x3_s(a))))),  a = ReLU(BN(x))  (shape changes)

Being pre-activation, a block ends on the residual sum, so the block features of
:class:`~advkt.models.base.Features` are those sums (as RepDistiller's ``feats``); only ``pooled``
has passed the final BN-ReLU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from advkt.models._factory import model_factory
from advkt.models._staged import StagedNet, global_pool, init_conv_bn


class WideBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, dropout: float) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.dropout = dropout
        self.shortcut = (
            None
            if c_in == c_out and stride == 1
            else nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = F.relu(self.bn1(x))
        out = F.relu(self.bn2(self.conv1(a)))
        out = F.dropout(out, p=self.dropout, training=self.training)
        out = self.conv2(out)
        # the reference projects the activated input when the shape changes, the raw one otherwise
        return out + (x if self.shortcut is None else self.shortcut(a))


@model_factory("wrn")
def wrn(
    num_classes: int = 10,
    in_channels: int = 3,
    depth: int = 16,
    widen: int = 1,
    dropout: float = 0.0,
) -> StagedNet:
    """WRN-``depth``-``widen``; ``depth`` must be 6n + 4, ``dropout`` the in-block drop rate."""
    if depth < 10 or (depth - 4) % 6:
        raise ValueError(f"wrn depth {depth} is invalid: expected 6n + 4 (10, 16, 22, 28, 40, ...)")
    if widen < 1:
        raise ValueError(f"wrn widen {widen} is invalid: expected an integer >= 1")
    n = (depth - 4) // 6
    stem = nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)
    stages, c_in = [], 16
    for c_out, stride in zip((16 * widen, 32 * widen, 64 * widen), (1, 2, 2)):
        stages.append(
            [
                WideBlock(c_in if b == 0 else c_out, c_out, stride if b == 0 else 1, dropout)
                for b in range(n)
            ]
        )
        c_in = c_out
    head = nn.Sequential(nn.BatchNorm2d(c_in), nn.ReLU(), global_pool())
    net = StagedNet(stem, stages, head, nn.Linear(c_in, num_classes), in_channels)
    init_conv_bn(net)
    nn.init.zeros_(net.fc.bias)
    return net


def _named(name: str, depth: int, widen: int):
    def build(num_classes: int = 10, in_channels: int = 3, dropout: float = 0.0) -> StagedNet:
        return wrn(num_classes, in_channels, depth=depth, widen=widen, dropout=dropout)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = f"WRN-{depth}-{widen} for CIFAR."
    return model_factory(name)(build)


wrn_16_1 = _named("wrn_16_1", 16, 1)
wrn_16_2 = _named("wrn_16_2", 16, 2)
wrn_40_1 = _named("wrn_40_1", 40, 1)
wrn_40_2 = _named("wrn_40_2", 40, 2)
