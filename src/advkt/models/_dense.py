"""Private parts for the digit and signal nets: fully connected layers as 3-D features."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Dense(nn.Module):
    """h = ReLU(W flatten(x) + b), returned as (N, out, 1) so that MLP layers obey the 3-D
    feature convention of :mod:`advkt.models.base`."""

    def __init__(self, in_features: int, out_features: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(F.relu(self.linear(x.flatten(1)))).unsqueeze(-1)


class FlattenInput(nn.Module):
    """Checks the full input shape (C, *S) and returns the input as (N, C·prod(S), 1)."""

    def __init__(self, name: str, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.name = name
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[1:]) != self.shape:
            raise ValueError(
                f"model '{self.name}' expects input of shape (N, {', '.join(map(str, self.shape))})"
                f", got {tuple(x.shape)}; set in_channels / in_size / ndim to match the data"
            )
        return x.flatten(1).unsqueeze(-1)
