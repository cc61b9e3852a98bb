r"""A global-descriptor bottleneck in front of a backbone's classifier (HKSANC's student head).

KSANC's figure (papers/hksanc.md) maps each network's last feature map F to a 128-d vector g,
"1x1 conv, then global average pooling", and puts the logits after it. :func:`add_descriptor_head`
gives any backbone of this package that shape by replacing its classifier ``fc(p)`` with

.. math::
    g = W_g\,p + b_g \in \mathbb{R}^{d},\qquad \text{logits} = W_c\,g + b_c,

where p (N, P) is the vector the backbone's classifier reads (``Features.pooled``). When the
backbone's head is global average pooling of F (the CIFAR and ImageNet ResNets, WRN, VGG,
MobileNetV2, cnn_small), :math:`W_g\,\mathrm{GAP}(F) + b_g = \mathrm{GAP}(\mathrm{conv}_{1\times1}
(F))` exactly: the paper's descriptor. Where the head flattens F instead (cnn1d, LeNet-5, MLP), g
is a linear map of that flattened vector (**ours**: the head the backbone's own classifier reads
is kept, and only the 128-d bottleneck is added).

The wrapped network is still the same :class:`~advkt.models._staged.StagedNet`: ``forward``,
``features=True`` and every attack work unchanged, and its parameters count in its size. It is a
registered model, ``descriptor_head``, whose spec names the backbone's spec, so a saved student
is rebuilt from its ``spec.json`` alone (``advkt eval``)::

    {"name": "descriptor_head", "num_classes": 10, "in_channels": 1,
     "backbone": {"name": "cnn1d", "num_classes": 10, "in_channels": 1, "width": 32}, "dim": 128}
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from advkt.models._factory import model_factory
from advkt.models.base import build_backbone

NAME = "descriptor_head"


class DescriptorClassifier(nn.Module):
    r"""``p`` (N, in_features) → logits (N, K) through ``g = proj(p)`` (N, dim):
    :math:`\text{logits} = W_c (W_g p + b_g) + b_c`."""

    def __init__(self, in_features: int, dim: int, num_classes: int) -> None:
        super().__init__()
        if min(in_features, dim, num_classes) < 1:
            raise ValueError(
                f"DescriptorClassifier needs positive sizes; got in_features={in_features}, "
                f"dim={dim}, num_classes={num_classes}"
            )
        self.in_features, self.dim, self.out_features = in_features, dim, num_classes
        self.proj = nn.Linear(in_features, dim)
        self.cls = nn.Linear(dim, num_classes)

    def descriptor(self, pooled: torch.Tensor) -> torch.Tensor:
        """The global descriptor g (N, dim) of the classifier's input (N, in_features)."""
        return self.proj(pooled)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.cls(self.proj(pooled))


def descriptor_head_spec(backbone: dict[str, Any], dim: int) -> dict[str, Any]:
    """The ``descriptor_head`` spec of ``backbone`` (a model spec) with a ``dim``-d descriptor."""
    return {
        "name": NAME,
        "num_classes": backbone["num_classes"],
        "in_channels": backbone["in_channels"],
        "backbone": backbone,
        "dim": dim,
    }


def add_descriptor_head(net: nn.Module, dim: int = 128) -> nn.Module:
    """Replace ``net.fc`` (a linear classifier) by a :class:`DescriptorClassifier`, in place;
    ``net.spec`` becomes the ``descriptor_head`` spec. Returns ``net``."""
    fc = getattr(net, "fc", None)
    if not isinstance(fc, nn.Linear):
        raise ValueError(
            f"a descriptor head replaces a backbone's linear classifier 'fc'; "
            f"{type(net).__name__} has {type(fc).__name__ if fc is not None else 'none'}"
        )
    net.fc = DescriptorClassifier(fc.in_features, dim, fc.out_features)
    if isinstance(getattr(net, "spec", None), dict):
        net.spec = descriptor_head_spec(net.spec, dim)
    return net


@model_factory(NAME)
def descriptor_head(
    num_classes: int = 10,
    in_channels: int = 3,
    backbone: dict[str, Any] | None = None,
    dim: int = 128,
) -> nn.Module:
    """``backbone`` (a model spec, e.g. ``{"name": "resnet20"}``) with its classifier read from a
    ``dim``-d global descriptor."""
    if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
        raise ValueError(f"model '{NAME}': dim must be an integer >= 1, got {dim!r}")
    net = build_backbone(NAME, backbone, num_classes, in_channels)
    return add_descriptor_head(net, dim)
