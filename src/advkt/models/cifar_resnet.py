"""CIFAR ResNets (He et al., "Deep residual learning for image recognition", CVPR 2016, sec. 4.2)
in the post-activation form and widths of RepDistiller (Tian et al., ICLR 2020) / mdistiller.

Stem: conv3x3(C_in -> w_0) - BN - ReLU. Three stages of ``n`` blocks with widths w_1, w_2, w_3 and
strides 1, 2, 2 (32x32 -> 32, 16, 8), then global average pooling and a linear classifier.

- Basic block, depth = 6n + 2:  y = ReLU(BN(conv3x3(ReLU(BN(conv3x3(x))))) + P(x))
- Bottleneck, depth = 9n + 2:   y = ReLU(BN(conv1x1_{4p}(a)) + P(x)), output width 4p,
                                a = ReLU(BN(conv3x3_p(ReLU(BN(conv1x1_p(x))))))
- P is the identity, or conv1x1(stride) - BN when the shape changes (option B).

Widths: resnet8..110 use (16 | 16, 32, 64); resnet8x4 / resnet32x4 use (32 | 64, 128, 256);
resnet164 is the bottleneck net with p = 16, 32, 64 (outputs 64, 128, 256) and n = 18.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from advkt.models._factory import model_factory
from advkt.models._staged import StagedNet, resnet_net


def _shortcut(c_in: int, c_out: int, stride: int) -> nn.Module:
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
    )


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, c_in: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = _shortcut(c_in, planes, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, c_in: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        c_out = planes * self.expansion
        self.conv1 = nn.Conv2d(c_in, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, c_out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c_out)
        self.shortcut = _shortcut(c_in, c_out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + self.shortcut(x))


def cifar_resnet(
    depth: int,
    widths: tuple[int, int, int, int],
    bottleneck: bool,
    num_classes: int,
    in_channels: int,
) -> StagedNet:
    """Build a CIFAR ResNet; ``widths`` = (stem, stage 1, stage 2, stage 3) planes."""
    block = Bottleneck if bottleneck else BasicBlock
    per_block = 9 if bottleneck else 6
    if depth < per_block + 2 or (depth - 2) % per_block:
        raise ValueError(
            f"CIFAR ResNet depth {depth} is invalid: expected {per_block}n + 2 "
            f"({'bottleneck' if bottleneck else 'basic'} blocks)"
        )
    n = (depth - 2) // per_block
    stem = nn.Sequential(
        nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False),
        nn.BatchNorm2d(widths[0]),
        nn.ReLU(),
    )
    plan = [(planes, n, stride) for planes, stride in zip(widths[1:], (1, 2, 2))]
    return resnet_net(stem, block, widths[0], plan, num_classes, in_channels)


_NARROW = (16, 16, 32, 64)
_WIDE = (32, 64, 128, 256)


def _basic(name: str, depth: int, widths: tuple[int, int, int, int]):
    def build(num_classes: int = 10, in_channels: int = 3) -> StagedNet:
        return cifar_resnet(depth, widths, False, num_classes, in_channels)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = f"CIFAR ResNet-{depth}, basic blocks, widths {widths} (stem | stages)."
    return model_factory(name)(build)


resnet8 = _basic("resnet8", 8, _NARROW)
resnet14 = _basic("resnet14", 14, _NARROW)
resnet20 = _basic("resnet20", 20, _NARROW)
resnet26 = _basic("resnet26", 26, _NARROW)
resnet32 = _basic("resnet32", 32, _NARROW)
resnet44 = _basic("resnet44", 44, _NARROW)
resnet56 = _basic("resnet56", 56, _NARROW)
resnet110 = _basic("resnet110", 110, _NARROW)
resnet8x4 = _basic("resnet8x4", 8, _WIDE)
resnet32x4 = _basic("resnet32x4", 32, _WIDE)


@model_factory("resnet164")
def resnet164(num_classes: int = 10, in_channels: int = 3) -> StagedNet:
    """CIFAR ResNet-164: bottleneck blocks, 18 per stage, stage outputs 64/128/256 (HKSANC's
    teacher)."""
    return cifar_resnet(164, _NARROW, True, num_classes, in_channels)
