"""HKSANC's task-driven attention estimator and its helpers.

Li, Shu, Xie, Qu, Kong, "Hierarchical knowledge squeezed adversarial network compression",
AAAI 2020; formulation from its earlier version KSANC (arXiv 1904.05100), figure and equations.
See papers/hksanc.md. Every module here works on (N, C, *S) features of any spatial rank:
(H, W) images, (L,) signals, (1,) MLP layers.
"""

from __future__ import annotations

import torch
from torch import nn

from advkt.nn.pointwise import ChannelBatchNorm, Conv1x1


class GlobalDescriptor(nn.Module):
    r"""Global descriptor g of a network's last feature map (**paper**: KSANC figure).

    .. math:: g = \mathrm{GAP}(\mathrm{conv}_{1\times1}(F)) = W\,\mathrm{GAP}(F) + b,

    (N, C, *S) → (N, dim). A 1x1 convolution followed by global average pooling equals pooling
    first and applying the same linear map, which is what is computed (|S| times cheaper).
    """

    def __init__(self, channels: int, dim: int = 128) -> None:
        super().__init__()
        self.proj = Conv1x1(channels, dim)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        if f.ndim < 3 or f.shape[1] != self.proj.in_features:
            raise ValueError(
                f"GlobalDescriptor expects (N, {self.proj.in_features}, *S); got shape "
                f"{tuple(f.shape)}"
            )
        return self.proj(f.flatten(2).mean(dim=2))


class ChannelTransform(nn.Module):
    r"""Lift a student feature to the teacher's width (**paper**: KSANC figure, e.g. 16 → 64).

    .. math:: \tilde F_s = \mathrm{BN}(\mathrm{conv}_{1\times1}(F_s)),

    (N, c_in, *S) → (N, c_out, *S) for any spatial rank. The batch norm (on by default, as in
    FitNet-style regressors of mdistiller/RepDistiller) is **ours**; ``bn=False`` gives the bare
    convolution. ``relu=True`` appends a ReLU, :math:`\max(0, \tilde F_s)`: the FitNet regressor
    of RepDistiller (``ConvReg``) and mdistiller. Off by default (HKSANC, FSP, dense flow).
    """

    def __init__(self, c_in: int, c_out: int, bn: bool = True, relu: bool = False) -> None:
        super().__init__()
        self.conv = Conv1x1(c_in, c_out, bias=not bn)
        self.bn = ChannelBatchNorm(c_out) if bn else nn.Identity()
        self.relu = nn.ReLU() if relu else nn.Identity()

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        if f.ndim < 3:
            raise ValueError(
                f"ChannelTransform expects a feature map (N, {self.conv.in_features}, *S); got "
                f"shape {tuple(f.shape)}"
            )
        return self.relu(self.bn(self.conv(f)))


class AttentionEstimator(nn.Module):
    r"""Task-driven attention estimator (**paper**: KSANC figure and equations).

    For a stage feature L (N, C, *S) and a global descriptor g (N, D):

    .. math::
        \hat g = \mathrm{conv}_{1\times1}(g) \in \mathbb{R}^{C},\qquad
        \hat L = L + \hat g \ \text{(broadcast over positions)},

        M = \mathrm{softmax}_{x \in S}\big(\mathrm{conv}_{1\times1}(\hat L)\big)
        \quad\text{(one channel, softmax over the } |S| \text{ positions)},

        a = \sum_{x \in S} M(x)\, \hat L(x) \in \mathbb{R}^{C}.

    The KSANC figure feeds the raw L into the product where its equation uses L̂; the equation
    is the default (**ours**), ``use_hat=False`` gives :math:`a = \sum_x M(x) L(x)`. Since M sums
    to 1, the two differ by exactly :math:`\hat g`. And since ĝ is the same at every position,
    it adds the same amount to every score, so M (a softmax over positions) does not depend on
    it: the guide reaches a only through that direct term. ``detach_hat=True`` (**ours**, off
    by default) keeps the value but stops the term's gradient,
    :math:`a = \sum_x M(x)\,(L(x) + \mathrm{sg}(\hat g))`: the guide then gets no gradient
    from a loss on a at all, while its output still enters a (in HKSANC it grew without bound).

    Returns:
        ``(a, M)``: the squeezed descriptor (N, C) and the attention weights (N, *S), which sum
        to 1 over the positions of each sample.
    """

    def __init__(
        self, channels: int, desc_dim: int, use_hat: bool = True, detach_hat: bool = False
    ) -> None:
        super().__init__()
        self.channels = channels
        self.desc_dim = desc_dim
        self.use_hat = use_hat
        self.detach_hat = detach_hat
        self.guide = Conv1x1(desc_dim, channels)
        self.score = Conv1x1(channels, 1)

    def forward(
        self, feat: torch.Tensor, desc: torch.Tensor, lift: Conv1x1 | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(a, M)`` of L = ``feat``, or of L = ``lift(feat)`` with ``lift`` a 1x1 convolution
        to this estimator's width (HKSANC's student transform), computed without building L:
        with lift(F) = W F + b the scores are (vW)·F + (v·b + c) and, since M sums to 1,
        Σ_x M(x) L(x) = W Σ_x M(x) F(x) + b. The same numbers and gradients as
        ``forward(lift(feat), desc)`` at C_in/C of its cost."""
        width = self.channels if lift is None else lift.in_features
        if lift is not None and lift.out_features != self.channels:
            raise ValueError(
                f"AttentionEstimator of width {self.channels} got a lift to {lift.out_features}"
            )
        if feat.ndim < 3 or feat.shape[1] != width:
            raise ValueError(
                f"AttentionEstimator expects a feature (N, {width}, *S); got shape "
                f"{tuple(feat.shape)}"
            )
        if desc.shape != (feat.shape[0], self.desc_dim):
            raise ValueError(
                f"AttentionEstimator expects a descriptor ({feat.shape[0]}, {self.desc_dim}); got "
                f"shape {tuple(desc.shape)}"
            )
        n = feat.shape[0]
        spatial = feat.shape[2:]
        # computed as a = sum_x M(x) L(x) + g_hat with M = softmax_x(w . L(x) + b): the same
        # numbers as the formula (M sums to 1, and w . g_hat shifts every score equally), without
        # building L_hat, the one (N, C, P) tensor the formula adds. Positions-major (N, P, C):
        # the layout a Conv1x1 output already has in memory; the weighted sum is a multiply and a
        # sum (on a CPU several times faster than a batch of (C, P) x (P, 1) products).
        flat = feat.flatten(2).transpose(1, 2)  # (N, P, C)
        v, c = self.score.weight, self.score.bias
        if lift is not None:  # fold the lift into the scores, and apply it after pooling
            v, c = v @ lift.weight, c + v @ lift.bias
        scores = nn.functional.linear(flat, v, c)  # (N, P, 1)
        weights = torch.softmax(scores, dim=1)
        a = (flat * weights).sum(1)  # (N, C)
        if lift is not None:
            a = lift(a)
        if self.use_hat:
            g_hat = self.guide(desc)
            a = a + (g_hat.detach() if self.detach_hat else g_hat)
        return a, weights.view(n, *spatial)
