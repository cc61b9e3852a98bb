"""ImageNet ResNet-18/34/50 (He et al., CVPR 2016), layer for layer the torchvision layout (the
"v1.5" bottleneck, stride on the 3x3 conv), written here without torchvision.

Stem conv7x7/2 (C_in -> 64) - BN - ReLU - maxpool3x3/2; four stages of basic (18, 34) or bottleneck
(50) blocks with planes 64, 128, 256, 512 and strides 1, 2, 2, 2 (224 -> 56, 28, 14, 7); global
average pooling; linear. The block maths is that of :mod:`advkt.models.cifar_resnet`. The
``stem`` feature is taken after the max-pool, i.e. the real input of stage 1.
"""

from __future__ import annotations

from torch import nn

from advkt.models._factory import model_factory
from advkt.models._staged import StagedNet, resnet_net
from advkt.models.cifar_resnet import BasicBlock, Bottleneck


def imagenet_resnet(
    block: type[BasicBlock] | type[Bottleneck],
    layers: tuple[int, int, int, int],
    num_classes: int,
    in_channels: int,
) -> StagedNet:
    stem = nn.Sequential(
        nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(3, stride=2, padding=1),
    )
    plan = list(zip((64, 128, 256, 512), layers, (1, 2, 2, 2)))
    return resnet_net(stem, block, 64, plan, num_classes, in_channels)


@model_factory("resnet18_imagenet")
def resnet18_imagenet(num_classes: int = 1000, in_channels: int = 3) -> StagedNet:
    """ResNet-18: basic blocks (2, 2, 2, 2); 11,689,512 parameters for 1000 classes."""
    return imagenet_resnet(BasicBlock, (2, 2, 2, 2), num_classes, in_channels)


@model_factory("resnet34_imagenet")
def resnet34_imagenet(num_classes: int = 1000, in_channels: int = 3) -> StagedNet:
    """ResNet-34: basic blocks (3, 4, 6, 3)."""
    return imagenet_resnet(BasicBlock, (3, 4, 6, 3), num_classes, in_channels)


@model_factory("resnet50_imagenet")
def resnet50_imagenet(num_classes: int = 1000, in_channels: int = 3) -> StagedNet:
    """ResNet-50: bottleneck blocks (3, 4, 6, 3), stage outputs 256/512/1024/2048."""
    return imagenet_resnet(Bottleneck, (3, 4, 6, 3), num_classes, in_channels)
