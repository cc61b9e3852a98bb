"""HorNet's recurrent network as a model the engine builds from a recipe (issue #22;
:class:`advkt.reid.hornet.HORNet`, ``docs/methods/hornet.md``).

``{"name": "hornet", "backbone": {"name": "resnet20"}, "captioner": "<folder>"}``: the backbone
built as its spec says, the offshoots, the GRU and the identity classifier around it, and the
frozen captioner read from a folder :func:`advkt.reid.captioner.save_captioner` wrote
(``captioner: null``: the without-captions ablation). The captioner's weights are also saved
with the model (it is a submodule), so a run's checkpoint holds everything it ranks with;
the folder gives the vocabulary and the weights a new training starts from. ``mean`` / ``std``
are the normalisation of the images the model is fed (the ``reid`` data's ImageNet values by
default), undone before captioning; ``input_size`` (H, W) is the size the stage widths are
read at.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from advkt.data.reid import IMAGENET_MEAN, IMAGENET_STD
from advkt.models._factory import model_factory
from advkt.models.base import build_backbone

NAME = "hornet"


@model_factory(NAME)
def hornet(
    num_classes: int = 10,
    in_channels: int = 3,
    backbone: dict[str, Any] | None = None,
    captioner: str | None = None,
    input_size: tuple[int, int] | list[int] = (64, 32),
    embed: int = 64,
    hidden: int = 128,
    length: int = 24,
    mean: tuple[float, ...] | list[float] = IMAGENET_MEAN,
    std: tuple[float, ...] | list[float] = IMAGENET_STD,
) -> nn.Module:
    from advkt.reid.captioner import load_captioner
    from advkt.reid.hornet import HORNet

    net = build_backbone(NAME, backbone, num_classes, in_channels)
    cap = load_captioner(captioner)[0] if captioner is not None else None
    h, w = input_size
    return HORNet(
        net,
        num_classes,
        captioner=cap,
        mean=tuple(mean),
        std=tuple(std),
        embed=embed,
        hidden=hidden,
        length=length,
        example_input=torch.zeros(2, in_channels, h, w),
    )
