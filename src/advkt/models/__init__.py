"""Backbones, each registered by name; ``import advkt.models`` registers them all.

Every model maps ``x`` to logits and, with ``features=True``, also returns the
:class:`~advkt.models.base.Features` of its stages; every model carries ``spec``, the JSON-ready
arguments that :func:`build_model` turns back into the same architecture.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from advkt.models import (  # noqa: F401  (imported so that their models register)
    cifar_resnet,
    conv1d,
    descriptor,
    digits,
    imagenet_resnet,
    mobilenetv2,
    vgg,
    wrn,
)
from advkt.models.base import Features
from advkt.registry import MODELS

__all__ = ["Features", "build_model", "model_names"]


def model_names() -> list[str]:
    """Every registered model name, sorted."""
    return MODELS.names()


def build_model(spec: dict[str, Any]) -> nn.Module:
    """Rebuild a model from its ``spec`` ({"name": ..., "num_classes": ..., **kwargs})."""
    if not isinstance(spec, dict) or "name" not in spec:
        raise ValueError(
            f"a model spec must be a dict with a 'name' key (and the model's arguments), "
            f"got {spec!r}"
        )
    kwargs = {k: v for k, v in spec.items() if k != "name"}
    return MODELS.get(spec["name"])(**kwargs)
