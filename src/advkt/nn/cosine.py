"""The cosine classifier of MME (Saito et al. 2019) and the gradient reversal layer of DANN
(Ganin & Lempitsky 2015), shared by the domain-adaptation methods."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class _GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, eta: float) -> torch.Tensor:
        ctx.eta = eta
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.eta * grad, None


def grad_reverse(x: torch.Tensor, eta: float = 1.0) -> torch.Tensor:
    """The identity forward; the gradient multiplied by −η backward."""
    return _GradReverse.apply(x, eta)


class CosineClassifier(nn.Module):
    r"""Logits from cosine similarity: :math:`z = W\,x / (\lVert x\rVert\,T)`, W without bias
    (MME's released code: an L2-normalised input, a bias-free linear layer, T = 0.05)."""

    def __init__(self, in_features: int, num_classes: int, temperature: float = 0.05) -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"CosineClassifier temperature must be > 0, got {temperature}")
        self.in_features, self.out_features = in_features, num_classes
        self.temperature = temperature
        self.fc = nn.Linear(in_features, num_classes, bias=False)

    def forward(self, x: torch.Tensor, reverse: bool = False, eta: float = 1.0) -> torch.Tensor:
        if reverse:  # MME's minimax step: the features receive the reversed gradient
            x = grad_reverse(x, eta)
        return self.fc(F.normalize(x, dim=1)) / self.temperature
