"""VGG with batch norm for CIFAR (Simonyan & Zisserman, ICLR 2015), in RepDistiller's variant
(the ``vgg8_bn`` / ``vgg11_bn`` / ``vgg13_bn`` of Tian et al., ICLR 2020, named vgg8/11/13 there).

Every layer is conv3x3 (with bias) - BN - ReLU. Five groups of layers: the first group is the stem
(32x32), groups 1-4 are the stages; a 2x2 max-pool opens stages 1, 2 and 3 (32 -> 16 -> 8 -> 4)
and stage 4 runs at the resolution of stage 3, as in the reference for 32x32 inputs. Head: global
average pooling -> linear(512 -> K). Each conv layer is one block of :class:`Features`.

    vgg8:  [64] | [128] [256] [512] [512]
    vgg11: [64] | [128] [256, 256] [512, 512] [512, 512]
    vgg13: [64, 64] | [128, 128] [256, 256] [512, 512] [512, 512]
"""

from __future__ import annotations

from torch import nn

from advkt.models._factory import model_factory
from advkt.models._staged import StagedNet, global_pool, init_conv_bn

_CFG = {
    "vgg8": [[64], [128], [256], [512], [512]],
    "vgg11": [[64], [128], [256, 256], [512, 512], [512, 512]],
    "vgg13": [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]],
}


def _layer(c_in: int, c_out: int, pool: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.MaxPool2d(2)] if pool else []
    layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]
    return nn.Sequential(*layers)


def vgg(cfg: list[list[int]], num_classes: int, in_channels: int) -> StagedNet:
    c_in, stem = in_channels, []
    for c_out in cfg[0]:
        stem.append(_layer(c_in, c_out, False))
        c_in = c_out
    stages = []
    for s, widths in enumerate(cfg[1:]):
        blocks = []
        for b, c_out in enumerate(widths):
            blocks.append(_layer(c_in, c_out, pool=(b == 0 and s < 3)))
            c_in = c_out
        stages.append(blocks)
    net = StagedNet(
        nn.Sequential(*stem), stages, global_pool(), nn.Linear(c_in, num_classes), in_channels
    )
    init_conv_bn(net)
    nn.init.normal_(net.fc.weight, 0.0, 0.01)
    nn.init.zeros_(net.fc.bias)
    return net


def _named(name: str):
    def build(num_classes: int = 10, in_channels: int = 3) -> StagedNet:
        return vgg(_CFG[name], num_classes, in_channels)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = f"{name} with BN for CIFAR, layers {_CFG[name]}."
    return model_factory(name)(build)


vgg8 = _named("vgg8")
vgg11 = _named("vgg11")
vgg13 = _named("vgg13")
