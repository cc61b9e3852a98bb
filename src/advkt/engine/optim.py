"""Optimisers and the learning-rate schedule: one optimiser per parameter group of a method."""

from __future__ import annotations

import math

import torch

from advkt.methods.base import Method
from advkt.recipe import Recipe, RecipeError


def build_optimizers(method: Method, recipe: Recipe) -> tuple[dict, dict[str, bool]]:
    """One optimiser per named group; returns them and whether each follows the LR schedule."""
    optims, scheduled = {}, {}
    for name, (params, spec) in method.param_groups().items():
        params = [p for p in params if p.requires_grad]
        s = recipe.train.optimizer.model_dump() if spec is None else spec
        # CPU and CUDA: one multi-tensor kernel per update op over all parameters instead of a
        # Python loop over them (PyTorch's default on CPU is the loop)
        on_device = bool(params) and params[0].device.type in ("cpu", "cuda")
        if s["name"] == "sgd":
            # foreach, not fused: fused SGD with momentum fails when a parameter gets its first
            # gradient after the others have momentum (a classifier trained after a warm-up)
            opt = torch.optim.SGD(
                params,
                lr=s["lr"],
                momentum=s.get("momentum", 0.0),
                weight_decay=s.get("weight_decay", 0.0),
                nesterov=s.get("nesterov", False),
                foreach=on_device or None,
            )
        elif s["name"] in ("adam", "adamw"):
            cls = torch.optim.Adam if s["name"] == "adam" else torch.optim.AdamW
            fused = {"fused": True} if on_device else {}
            opt = cls(
                params,
                lr=s["lr"],
                betas=tuple(s.get("betas", (0.9, 0.999))),
                weight_decay=s.get("weight_decay", 0.0),
                **fused,
            )
        else:  # a method's own optimiser spec: the recipe's is checked by its schema
            raise RecipeError(
                f"optimiser '{s['name']}' of parameter group '{name}': expected sgd, adam or adamw"
            )
        optims[name] = opt
        scheduled[name] = spec is None or spec.get("schedule", False)
    return optims, scheduled


def lr_factor(recipe: Recipe, epoch: float) -> float:
    """Multiplier of the base LR at fractional epoch ``epoch`` (warm-up, then step or cosine)."""
    s, total = recipe.train.schedule, recipe.train.epochs
    if s.warmup_epochs > 0 and epoch < s.warmup_epochs:
        return (epoch + 1e-8) / s.warmup_epochs
    if s.name == "step":
        return s.gamma ** sum(epoch >= m for m in s.milestones)
    if s.name == "cosine":
        t = (epoch - s.warmup_epochs) / max(1e-8, total - s.warmup_epochs)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, t)))
    return 1.0


@torch.no_grad()
def max_norm_(params: list[torch.Tensor], c: float) -> None:
    """Max-norm constraint in place: each weight tensor's slices along dim 0 (a unit's incoming
    weights: a row of a linear layer, a filter of a convolution) rescaled to L2 norm <= ``c``;
    biases and normalisation parameters (fewer than 2 dims) untouched."""
    for p in params:
        if p.ndim >= 2:
            p.renorm_(2, 0, c)
