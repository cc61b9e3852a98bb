"""Discriminators: HKSANC's logit discriminator and a plain MLP discriminator."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn


class LogitDiscriminator(nn.Module):
    r"""Discriminator on logits with an auxiliary classifier (HKSANC/KSANC, papers/hksanc.md).

    **paper**: BN → FC → BN-ReLU → FC → BN-ReLU → FC with 1 + C outputs, one teacher(real)/
    student(fake) logit and C class logits; the class logits serve L_adv^C (Xu et al. 2017,
    conditional adversarial distillation). **ours**: the hidden width (256).

    .. math:: D(z) = [d(z),\ c_1(z), \dots, c_C(z)],\quad z \in \mathbb{R}^C.

    ``forward(z)`` with z (N, C) returns ``(adv_logit (N,), class_logits (N, C))``; the adversarial
    logit is raw (apply a GAN loss from :mod:`advkt.losses.adversarial`).

    Its batch norms make scores depend on the whole batch. Score teacher and student logits in
    one batch, ``d(torch.cat([t, s]))``: fed one side at a time, the first batch norm
    standardises each side on its own and erases the scale difference D should see (a sharp
    teacher vs a flatter student). For the same reason, do not pair it with the WGAN gradient
    penalty.
    """

    def __init__(self, num_classes: int, hidden: int = 256) -> None:
        super().__init__()
        if num_classes < 1 or hidden < 1:
            raise ValueError(
                f"LogitDiscriminator needs num_classes >= 1 and hidden >= 1; got {num_classes} "
                f"and {hidden}"
            )
        self.num_classes = num_classes
        self.net = nn.Sequential(
            nn.BatchNorm1d(num_classes),
            nn.Linear(num_classes, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, 1 + num_classes),
        )

    def forward(self, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if logits.ndim != 2 or logits.shape[1] != self.num_classes:
            raise ValueError(
                f"LogitDiscriminator expects logits (N, {self.num_classes}); got shape "
                f"{tuple(logits.shape)}"
            )
        out = self.net(logits)
        return out[:, 0], out[:, 1:]


class MLPDiscriminator(nn.Module):
    r"""Fully connected discriminator on flattened inputs (FSP matrices, embeddings).

    .. math:: D(x) = W_{L+1}\,\phi(\cdots\phi(W_1 \mathrm{vec}(x) + b_1)\cdots) + b_{L+1},
       \quad \phi = \mathrm{LeakyReLU}(0.2),

    (N, ...) with ``prod(...) == in_dim`` → (N,) when ``out == 1``, else (N, out). No batch
    norm, so each sample is scored on its own and the WGAN gradient penalty applies; LeakyReLU
    0.2 is the usual choice for GAN discriminators (Radford et al. 2016).
    """

    def __init__(self, in_dim: int, hidden: Sequence[int] = (256, 256), out: int = 1) -> None:
        super().__init__()
        if in_dim < 1 or out < 1 or any(h < 1 for h in hidden):
            raise ValueError(
                f"MLPDiscriminator needs positive sizes; got in_dim={in_dim}, "
                f"hidden={tuple(hidden)}, out={out}"
            )
        self.in_dim = in_dim
        self.out = out
        layers: list[nn.Module] = []
        width = in_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2, inplace=True)]
            width = h
        layers.append(nn.Linear(width, out))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim < 1 or math.prod(x.shape[1:]) != self.in_dim:
            raise ValueError(
                f"MLPDiscriminator expects (N, ...) with {self.in_dim} values per sample; got "
                f"shape {tuple(x.shape)}"
            )
        y = self.net(x.flatten(1) if x.ndim > 1 else x.unsqueeze(1))
        return y.squeeze(1) if self.out == 1 else y
