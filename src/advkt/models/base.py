"""What every backbone exposes for distillation.

``model(x)`` returns logits (N, K). ``model(x, features=True)`` returns ``(logits, feats)`` with
``feats`` a :class:`Features`:

- ``stem``: the input of the first stage (N, C0, *S0), after the stem convolution;
- ``blocks``: ``blocks[s][b]`` is the output of block ``b`` of stage ``s`` (N, C_s, *S_s); the
  stage output is ``blocks[s][-1]``, the stage input is ``stem`` or ``blocks[s-1][-1]``;
- ``pooled``: the vector the classifier reads (N, D).

Spatial dims ``*S`` are (H, W) for images, (L,) for 1-D signals and (1,) for MLP layers, so every
feature is at least 3-D and losses can flatten dims 2.. without caring which. "Block" means a
residual block for ResNets/WRN/MobileNet, a conv(-bn-relu) layer for VGG/LeNet, a hidden layer for
an MLP. Features are taken after the block's last activation (the pre-activation variant, where a
loss wants it, is a loss-side choice).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from advkt.registry import MODELS


@dataclass
class Features:
    stem: torch.Tensor
    blocks: list[list[torch.Tensor]]
    pooled: torch.Tensor

    @property
    def stages(self) -> list[torch.Tensor]:
        """Stage outputs."""
        return [b[-1] for b in self.blocks]

    @property
    def stage_inputs(self) -> list[torch.Tensor]:
        return [self.stem] + [b[-1] for b in self.blocks[:-1]]


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


def build_backbone(
    wrapper: str, backbone: Any, num_classes: int, in_channels: int, example: str = "resnet20"
) -> nn.Module:
    """The backbone a wrapper model (``wrapper``: cosine_head, descriptor_head, hornet) is built
    around, from its spec, with the wrapper's classes and input channels; one-line errors for a
    missing spec, a wrapper nested in itself and sizes that disagree."""
    if not isinstance(backbone, dict) or "name" not in backbone:
        raise ValueError(
            f"model '{wrapper}' needs 'backbone', a model spec such as "
            f'{{"name": "{example}"}}; got {backbone!r}'
        )
    if backbone["name"] == wrapper:
        raise ValueError(f"model '{wrapper}': the backbone is itself a '{wrapper}'")
    for key, value in (("num_classes", num_classes), ("in_channels", in_channels)):
        if backbone.get(key, value) != value:
            raise ValueError(
                f"model '{wrapper}': {key}={value} but its backbone has {key}={backbone[key]}"
            )
    return build_model({**backbone, "num_classes": num_classes, "in_channels": in_channels})
