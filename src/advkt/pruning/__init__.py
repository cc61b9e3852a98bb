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
a convolution whose output reaches exactly one next convolution or linear layer through
channel-wise modules. They are found by walking module names:
(a) along a sequential chain: conv → [BatchNorm] → [ReLU/Tanh/pooling/dropout ...] → conv, or
    → ``nn.Flatten`` → linear (the linear's input columns come in blocks of H·W per channel).
    A chain is an ``nn.Sequential`` with nested sequences unrolled, or an ``advkt.models``
    backbone (children ``stem``, ``stages``, ``head``, ``fc``: stem, every block in order, head,
    fc); a ``Dense`` child (one ``linear``, applied to the flattened input) counts as
    flatten → linear. This covers LeNet-5, VGG and the digit CNNs;
(b) inside a residual block, a module with children ``conv1``, ``conv2`` (, ``conv3``): the
    pair conv_i → conv_{i+1} through the BatchNorm registered between them (``bn1`` after a
    post-activation ``conv1``, ``bn2`` in a pre-activation block); the block's last conv, which
    feeds the residual sum, keeps its width. The activation between them in ``forward`` is
    assumed to map 0 to 0 (ReLU).
A channel is removable when its filter and conv bias are zero and its BatchNorm maps 0 to 0
(β = 0 and γ·μ = 0): then it carries exact zeros and dropping it does not change the output.
:func:`filter_masks` zeros whole channels (filter, bias, γ, β) so that this holds.
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
