"""A backbone whose classifier is a cosine classifier (MME, Saito et al. 2019): the classifier
of every domain-adaptation method here (the peers share it, as in MME's released code).

``{"name": "cosine_head", "backbone": {"name": "mlp", ...}, "temperature": 0.05}``: the backbone
built as its spec says, its linear ``fc`` replaced by :class:`advkt.nn.cosine.CosineClassifier`
of the same sizes. ``advkt eval`` rebuilds it from this spec alone.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from advkt.models._factory import model_factory
from advkt.models.base import build_backbone
from advkt.nn.cosine import CosineClassifier

NAME = "cosine_head"


@model_factory(NAME)
def cosine_head(
    num_classes: int = 10,
    in_channels: int = 3,
    backbone: dict[str, Any] | None = None,
    temperature: float = 0.05,
) -> nn.Module:
    """``backbone`` (a model spec) with a cosine classifier at temperature ``temperature``."""
    net = build_backbone(NAME, backbone, num_classes, in_channels, example="mlp")
    fc = getattr(net, "fc", None)
    if not isinstance(fc, nn.Linear):
        raise ValueError(f"model '{NAME}': the backbone's classifier 'fc' is not a linear layer")
    net.fc = CosineClassifier(fc.in_features, fc.out_features, temperature)
    return net
