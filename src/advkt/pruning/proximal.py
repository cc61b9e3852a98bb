"""Proximal steps of Lee & Lee 2021 (robust_compression.md), after each gradient step of size η
on the loss, with threshold t = η·λ:

- ℓ1 (unstructured), R(W) = ‖W‖₁:  prox(w) = sign(w)·max(|w| − t, 0);
- group lasso (structured), R(W) = Σ_g ‖w_g‖₂ over the output filters g of a convolution:
  prox(w_g) = w_g·max(0, 1 − t/‖w_g‖₂)  (a zero group stays zero).
"""

from __future__ import annotations

import torch
from torch import nn

from advkt.distributed import unwrap
from advkt.pruning.groups import ChannelGroup
from advkt.pruning.masks import prunable_weights


def prox_l1(w: torch.Tensor, thresh: float) -> torch.Tensor:
    """Soft threshold, the proximal map of t·‖·‖₁: sign(w)·max(|w| − t, 0)."""
    if thresh < 0:
        raise ValueError(f"prox_l1 threshold must be >= 0, got {thresh}")
    return w.sign() * (w.abs() - thresh).clamp_min(0)


def prox_group_lasso(w: torch.Tensor, thresh: float, dim: int = 0) -> torch.Tensor:
    """Block soft threshold, the proximal map of t·Σ_g ‖w_g‖₂ with groups the slices along ``dim``.

    w_g ← w_g·max(0, 1 − t/‖w_g‖₂); for a (C_out, C_in, k, k) conv weight and dim=0 a group is
    one output filter. A group with ‖w_g‖₂ ≤ t (the zero group included) becomes zero.
    """
    if thresh < 0:
        raise ValueError(f"prox_group_lasso threshold must be >= 0, got {thresh}")
    dim = dim % w.dim()
    other = [d for d in range(w.dim()) if d != dim]
    norms = torch.linalg.vector_norm(w, dim=other, keepdim=True) if other else w.abs()
    scale = torch.where(norms > thresh, 1 - thresh / norms.clamp_min(1e-30), 0.0)
    return w * scale


@torch.no_grad()
def apply_proximal(
    model: nn.Module,
    lr: float,
    lam: float,
    kind: str = "l1",
    groups: list[ChannelGroup] | None = None,
) -> None:
    """In place, the proximal step with threshold t = lr·lam after a gradient step of size lr.

    kind "l1": soft-threshold every prunable weight. kind "group": block soft-threshold the
    output filters of the convolution that heads each of ``groups`` (the removable channel
    groups, :func:`~advkt.pruning.groups.channel_groups`, found once before training).
    """
    thresh = lr * lam
    if kind == "l1":
        for _, w in prunable_weights(model):
            w.copy_(prox_l1(w, thresh))
    elif kind == "group":
        if groups is None:
            raise ValueError("apply_proximal kind 'group' needs groups (channel_groups(model, x))")
        net = unwrap(model)
        for g in groups:
            w = net.get_submodule(g.producer).weight
            w.copy_(prox_group_lasso(w, thresh, dim=0))
    else:
        raise ValueError(f"apply_proximal kind must be 'l1' or 'group', got '{kind}'")
