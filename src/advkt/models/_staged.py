"""Private base: a backbone as stem -> stages of blocks -> head -> classifier.

Every model in this package is a :class:`StagedNet`, which is what makes the feature contract of
:mod:`advkt.models.base` hold by construction:

    h_0 = stem(x),   h_{s,b} = block_{s,b}(h_{s,b-1}),   p = head(h_{S,B}),   logits = fc(p)

with ``Features(stem=h_0, blocks=[[h_{s,b}]_b]_s, pooled=p)``. Down-sampling that sits between two
stages in the reference nets (VGG's and LeNet's max-pools) is the first layer of the next stage's
first block, so every block output is an activation the next layer really consumes.
"""

from __future__ import annotations

import torch
from torch import nn

from advkt.models.base import Features


class StagedNet(nn.Module):
    """``forward(x)`` -> logits (N, K); ``forward(x, features=True)`` -> (logits, Features).

    ``in_dims`` is the number of spatial dims the input must have (2 images, 1 signals); it and
    ``in_channels`` are checked so a wrong input fails with a plain message.
    """

    spec: dict

    def __init__(
        self,
        stem: nn.Module,
        stages: list[list[nn.Module]],
        head: nn.Module,
        fc: nn.Module,
        in_channels: int,
        in_dims: int = 2,
    ) -> None:
        super().__init__()
        self.stem = stem
        self.stages = nn.ModuleList(nn.ModuleList(blocks) for blocks in stages)
        self.head = head
        self.fc = fc
        self.in_channels = in_channels
        self.in_dims = in_dims

    def _check(self, x: torch.Tensor) -> None:
        if x.dim() != 2 + self.in_dims or x.shape[1] != self.in_channels:
            name = getattr(self, "spec", {}).get("name", type(self).__name__)
            spatial = {1: "L", 2: "H, W"}.get(self.in_dims, "...")
            raise ValueError(
                f"model '{name}' expects input of shape (N, {self.in_channels}, {spatial}), "
                f"got {tuple(x.shape)}"
            )

    def forward(
        self, x: torch.Tensor, features: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, Features]:
        self._check(x)
        stem = self.stem(x)
        h = stem
        blocks: list[list[torch.Tensor]] = []
        for stage in self.stages:
            outs = []
            for block in stage:
                h = block(h)
                outs.append(h)
            blocks.append(outs)
        pooled = self.head(h)
        logits = self.fc(pooled)
        if features:
            return logits, Features(stem=stem, blocks=blocks, pooled=pooled)
        return logits


def global_pool() -> nn.Module:
    """Global average pooling to the (N, C) vector the classifier reads."""
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1))


def init_conv_bn(net: nn.Module) -> None:
    """He-normal convolutions (fan_out, as in the reference CIFAR nets), BN to the identity."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d | nn.Conv1d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def resnet_net(
    stem: nn.Module,
    block,
    c_in: int,
    plan: list[tuple[int, int, int]],
    num_classes: int,
    in_channels: int,
) -> StagedNet:
    """A ResNet as a :class:`StagedNet`: after ``stem`` (``c_in`` channels out), one stage per
    ``(planes, blocks, stride)`` of ``plan`` (the stride on its first block), global pooling and
    a linear classifier; convolutions and batch norms initialised by :func:`init_conv_bn`.
    ``block(c_in, planes, stride)`` has ``block.expansion`` (out channels = planes x expansion)."""
    stages = []
    for planes, n, stride in plan:
        blocks = []
        for b in range(n):
            blocks.append(block(c_in, planes, stride if b == 0 else 1))
            c_in = planes * block.expansion
        stages.append(blocks)
    net = StagedNet(stem, stages, global_pool(), nn.Linear(c_in, num_classes), in_channels)
    init_conv_bn(net)
    return net
