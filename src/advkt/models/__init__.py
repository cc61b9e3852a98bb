"""Backbones, each registered by name; ``import advkt.models`` registers them all.

Every model maps ``x`` to logits and, with ``features=True``, also returns the
:class:`~advkt.models.base.Features` of its stages; every model carries ``spec``, the JSON-ready
arguments that :func:`build_model` turns back into the same architecture.
"""

from __future__ import annotations

from advkt.models import (  # noqa: F401  (imported so that their models register)
    cifar_resnet,
    conv1d,
    cosine_head,
    descriptor,
    digits,
    hornet,
    imagenet_resnet,
    mobilenetv2,
    vgg,
    wrn,
)
from advkt.models.base import Features, build_model, model_names

__all__ = ["Features", "build_model", "model_names"]
