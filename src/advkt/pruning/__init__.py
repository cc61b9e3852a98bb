"""Pruning: proximal operators, masks, sparsity accounting, ADMM and physical shrinking.

Prunable weights are the ``weight`` tensors of convolutions and linear layers (never biases or
normalisation parameters). With Ω the set of prunable weights,
    sparsity = #{w ∈ Ω : w = 0} / |Ω|,   compression rate = |Ω| / #{w ∈ Ω : w ≠ 0}.

Proximal gradient steps of Lee & Lee 2021 (robust_compression.md), after each gradient step of
size η on the loss, with threshold t = η·λ:
- ℓ1 (unstructured), R(W) = ‖W‖₁:  prox(w) = sign(w)·max(|w| − t, 0);
- group lasso (structured), R(W) = Σ_g ‖w_g‖₂ over the output filters g of a convolution:
  prox(w_g) = w_g·max(0, 1 − t/‖w_g‖₂)  (a zero group stays zero).

Structured pruning only touches the *channel groups* that :func:`shrink` can physically remove:
a convolution whose output channels reach exactly one next convolution or linear layer through
its BatchNorm and operations that keep zeros at zero. They are found on Torch-Pruning's
dependency graph, traced on an example input (:mod:`advkt.pruning.groups`), not by module names.
A channel is removable when its filter and conv bias are zero and its BatchNorm maps 0 to 0
(β = 0 and γ·μ = 0): then it carries exact zeros and dropping it does not change the output.
:func:`filter_masks` zeros whole channels (filter, bias, γ, β) so that this holds, and
:func:`shrink` checks the shrunk model's outputs against the original's on the example.
"""

from advkt.pruning.admm import ADMM
from advkt.pruning.groups import ChannelGroup, channel_groups
from advkt.pruning.masks import (
    apply_masks,
    compression_rate,
    count_weights,
    filter_masks,
    keep_count,
    magnitude_masks,
    prunable_weights,
    sparsity,
    target_sparsity,
    topk_mask,
)
from advkt.pruning.proximal import apply_proximal, prox_group_lasso, prox_l1
from advkt.pruning.shrink import load_shrunk, shrink

__all__ = [
    "ADMM",
    "ChannelGroup",
    "apply_masks",
    "apply_proximal",
    "channel_groups",
    "compression_rate",
    "count_weights",
    "filter_masks",
    "keep_count",
    "load_shrunk",
    "magnitude_masks",
    "prox_group_lasso",
    "prox_l1",
    "prunable_weights",
    "shrink",
    "sparsity",
    "target_sparsity",
    "topk_mask",
]
