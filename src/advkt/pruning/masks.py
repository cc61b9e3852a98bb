"""Pruning masks and the accounting of prunable weights (conv and linear ``weight`` tensors).

sparsity = #{w ∈ Ω : w = 0} / |Ω|,   compression rate = |Ω| / #{w ∈ Ω : w ≠ 0}.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

from advkt.distributed import unwrap
from advkt.pruning.groups import ChannelGroup


def prunable_weights(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """(name, weight) of every conv and linear layer, each shared tensor once."""
    out, seen = [], set()
    for name, mod in unwrap(model).named_modules():
        if isinstance(mod, (nn.modules.conv._ConvNd, nn.Linear)) and mod.weight is not None:
            if id(mod.weight) not in seen:
                seen.add(id(mod.weight))
                out.append((f"{name}.weight" if name else "weight", mod.weight))
    return out


def target_sparsity(sparsity: float | None, rate: float | None) -> float:
    if (sparsity is None) == (rate is None):
        raise ValueError("give exactly one of sparsity (fraction of zeros) or rate (total/nonzero)")
    if rate is not None:
        if not rate >= 1:
            raise ValueError(f"compression rate must be >= 1, got {rate}")
        sparsity = 1 - 1 / rate
    if not 0 <= sparsity < 1:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    return sparsity


def keep_count(n: int, sparsity: float) -> int:
    """How many of n weights a target sparsity keeps: round(n·(1 − s)), at least 1."""
    return max(1, min(n, round(n * (1 - sparsity))))


def topk_mask(w: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean mask of exactly the k largest |w| (ties broken by index order of topk)."""
    flat = torch.zeros(w.numel(), dtype=torch.bool, device=w.device)
    flat[w.detach().abs().flatten().topk(k).indices] = True
    return flat.view_as(w)


@torch.no_grad()
def magnitude_masks(
    model: nn.Module,
    sparsity: float | None = None,
    rate: float | None = None,
    scope: str = "global",
) -> dict[str, torch.Tensor]:
    """Magnitude-pruning masks {weight name: bool tensor} for a target sparsity or rate.

    scope "global": keep the k = round(|Ω|·(1 − s)) largest |w| over all prunable weights;
    "layer": keep round(n_l·(1 − s)) in each layer l. Apply with :func:`apply_masks`.
    """
    s = target_sparsity(sparsity, rate)
    params = prunable_weights(model)
    if not params:
        raise ValueError("model has no prunable (conv or linear) weights")
    if scope == "layer":
        return {n: topk_mask(w, keep_count(w.numel(), s)) for n, w in params}
    if scope != "global":
        raise ValueError(f"magnitude_masks scope must be 'global' or 'layer', got '{scope}'")
    flat = torch.cat([w.detach().abs().flatten().float() for _, w in params])
    keep = topk_mask(flat, keep_count(flat.numel(), s))
    out, i = {}, 0
    for n, w in params:
        out[n] = keep[i : i + w.numel()].view_as(w)
        i += w.numel()
    return out


@torch.no_grad()
def filter_masks(
    model: nn.Module, groups: list[ChannelGroup], sparsity: float | None = None
) -> dict[str, torch.Tensor]:
    """Structured masks that zero whole removable channels (filter, conv bias, BN γ and β) of
    ``groups`` (:func:`~advkt.pruning.groups.channel_groups` of the model).

    sparsity None: mask the channels whose filter is already zero (after group-lasso training).
    Otherwise, in each removable channel group, mask the round(C·s) filters of smallest ‖w_g‖₂
    (at least one filter stays). Apply with :func:`apply_masks`, then :func:`shrink`.
    """
    if sparsity is not None and not 0 <= sparsity < 1:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    net = unwrap(model)
    masks: dict[str, torch.Tensor] = {}
    for g in groups:
        conv = net.get_submodule(g.producer)
        norms = conv.weight.detach().flatten(1).norm(dim=1)
        if sparsity is None:
            keep = norms != 0
        else:
            keep = topk_mask(norms, keep_count(norms.numel(), sparsity))
        shape = (-1,) + (1,) * (conv.weight.dim() - 1)
        masks[f"{g.producer}.weight"] = keep.view(shape).expand_as(conv.weight).clone()
        if conv.bias is not None:
            masks[f"{g.producer}.bias"] = keep.clone()
        if g.bn is not None and net.get_submodule(g.bn).affine:
            masks[f"{g.bn}.weight"] = keep.clone()
            masks[f"{g.bn}.bias"] = keep.clone()
    return masks


@torch.no_grad()
def apply_masks(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> None:
    """In place, w ← w ⊙ m for every parameter named in ``masks``."""
    params = dict(unwrap(model).named_parameters())
    unknown = sorted(set(masks) - set(params))
    if unknown:
        raise ValueError(f"masks name parameters the model does not have: {', '.join(unknown)}")
    for name, m in masks.items():
        p = params[name]
        if m.shape != p.shape:
            raise ValueError(
                f"mask for '{name}' has shape {tuple(m.shape)}, the weight {tuple(p.shape)}"
            )
        p.mul_(m.to(device=p.device, dtype=p.dtype))


def count_weights(model: nn.Module) -> tuple[int, int]:
    """(total, non-zero) prunable weights."""
    params = prunable_weights(model)
    total = sum(w.numel() for _, w in params)
    nonzero = sum(int(torch.count_nonzero(w)) for _, w in params)
    return total, nonzero


def sparsity(model: nn.Module) -> float:
    """Fraction of prunable weights that are exactly zero."""
    total, nonzero = count_weights(model)
    return (total - nonzero) / total if total else 0.0


def compression_rate(model: nn.Module) -> float:
    """Total prunable weights / non-zero prunable weights (inf when all are zero)."""
    total, nonzero = count_weights(model)
    return total / nonzero if nonzero else math.inf
