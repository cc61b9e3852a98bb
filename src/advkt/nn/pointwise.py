"""Per-position layers that work for any spatial rank: a 1x1 convolution and a batch norm.

A 1x1 convolution is a linear map of the channel vector at every position, so one module serves
(N, C) vectors, (N, C, L) signals and (N, C, H, W) images, and the rank is picked at forward
time. Both keep the parameter shapes and initialisation of their ``nn.Linear`` /
``nn.BatchNorm1d`` parents.
"""

from __future__ import annotations

import torch
from torch import nn


class Conv1x1(nn.Linear):
    r"""1x1 convolution on (N, C_in, *S) → (N, C_out, *S), or (N, C_in) → (N, C_out).

    :math:`y_{n,:,x} = W x_{n,:,x} + b` at every position x; weight (C_out, C_in), the same
    initialisation as ``nn.Conv2d(C_in, C_out, 1)`` (fan-in C_in).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim < 2 or x.shape[1] != self.in_features:
            raise ValueError(
                f"Conv1x1 expects (N, {self.in_features}, *S); got shape {tuple(x.shape)}"
            )
        if x.ndim == 2:
            return super().forward(x)
        return super().forward(x.movedim(1, -1)).movedim(-1, 1)


class ChannelBatchNorm(nn.BatchNorm1d):
    """Batch norm over channel C of (N, C, *S): statistics over N and all positions.

    The same as ``BatchNorm1d`` for (N, C) and (N, C, L) and as ``BatchNorm2d`` for (N, C, H, W).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim < 2 or x.shape[1] != self.num_features:
            raise ValueError(
                f"ChannelBatchNorm expects (N, {self.num_features}, *S); got shape {tuple(x.shape)}"
            )
        if x.ndim <= 3:
            return super().forward(x)
        return super().forward(x.flatten(2)).reshape(x.shape)
