r"""AFRNet (Liu, Dong, Hu, "Zero-shot learning from adversarial feature residual to compact visual
feature", AAAI 2020; ``papers/afrnet.md``). Only the abstract is at hand: **paper** marks what it
states, **ours** everything else (each with a switch).

1. Feature selection (**paper**: keep the more compact, semantic dimensions; **ours**: how). A
   ridge map from semantics to class means, W = Sᵀ(SSᵀ + rI)⁻¹M over the seen classes, predicts
   each seen class's mean feature with that class left out; dimension j's error
   e_j = Σ_c (ŝ_cj − μ_cj)², divided by the spread of the class means Σ_c (μ_cj − μ̄_j)², ranks the
   dimensions, and the fraction ``keep`` with the lowest relative error is kept (``keep=1``: no
   selection, the ablation).
2. Prototype predictor P (**paper**; **ours**: an MLP a → 256 → D with ReLUs, MSE to the seen
   class means, Adam, weight decay 1e-3), then frozen.
3. Residual generator R and the synthetic feature (**paper**: prototype + residual; **ours**: R an
   MLP [z; a] → ``hidden`` → D, LeakyReLU 0.2, no output activation, the sum through a ReLU):

   .. math:: G(z, a) = \mathrm{ReLU}(P(a) + R(z, a)),

   trained against a conditional WGAN-GP critic on [x; a] with f-CLSWGAN's classification term
   (:mod:`advkt.zsl.generative`: **paper** a discriminator of synthetic against real features;
   **ours** the WGAN-GP form and the classification term, λ_GP 10, 5 critic steps, Adam 1e-4).
   ``residual=False`` is the prototype-only ablation: G(z, a) = ReLU(P(a) + σ ⊙ z), σ the seen
   classes' mean within-class standard deviation, nothing adversarial.
4. The final softmax classifiers on synthetic unseen features (and real seen ones for GZSL), as
   f-CLSWGAN.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from advkt.zsl.generative import FeatureGenerator, GenerativeZSL
from advkt.zsl.task import ZSLTask


def class_means(x: np.ndarray, y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    return np.stack([x[y == c].mean(0) for c in classes])


def selection_errors(means: np.ndarray, sem: np.ndarray, ridge: float = 1.0) -> np.ndarray:
    """(D,) leave-one-class-out error of a ridge map semantics → class mean, per dimension,
    relative to the spread of the class means in that dimension."""
    err = np.zeros(means.shape[1])
    for c in range(len(means)):
        rest = np.arange(len(means)) != c
        s, m = sem[rest], means[rest]
        w = s.T @ np.linalg.solve(s @ s.T + ridge * np.eye(len(s)), m)  # (A, D)
        err += (sem[c] @ w - means[c]) ** 2
    spread = ((means - means.mean(0)) ** 2).sum(0)
    return err / np.maximum(spread, 1e-12)


class _Synthetic(nn.Module):
    """ReLU(P(a) + R(z, a)), or ReLU(P(a) + σ ⊙ z) without a residual generator."""

    def __init__(self, proto: nn.Module, residual: nn.Module | None, sigma: torch.Tensor):
        super().__init__()
        self.proto, self.residual = proto.requires_grad_(False), residual
        self.register_buffer("sigma", sigma)

    def forward(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        p = self.proto(a)
        if self.residual is None:
            return F.relu(p + self.sigma * z[:, : p.shape[1]])
        return F.relu(p + self.residual(z, a))


class AFRNet(GenerativeZSL):
    name = "AFRNet"

    def __init__(self, keep: float = 0.5, residual: bool = True, proto_steps: int = 500, **kw):
        super().__init__(**kw)
        if not 0 < keep <= 1:
            raise ValueError(f"AFRNet: keep must be in (0, 1], got {keep}")
        self.keep, self.residual, self.proto_steps = keep, residual, proto_steps

    def prepare(self, task: ZSLTask) -> ZSLTask:
        tr, seen = task.trainval, task.seen_classes
        d = task.features.shape[1]
        if self.keep < 1:
            means = class_means(task.features[tr], task.labels[tr], seen)
            err = selection_errors(means, task.attributes[seen].astype(np.float64))
            self.dims_ = np.sort(np.argsort(err, kind="stable")[: max(1, round(self.keep * d))])
        else:
            self.dims_ = np.arange(d)
        return replace(task, features=task.features[:, self.dims_])

    def transform(self, x: np.ndarray) -> np.ndarray:
        return x[:, self.dims_]

    def noise_dim(self, sem: torch.Tensor) -> int:
        return max(sem.shape[1], len(self.dims_))

    def generator(self, task: ZSLTask, x: torch.Tensor, y: torch.Tensor):
        seen = task.seen_classes
        sem = torch.as_tensor(task.attributes[seen], dtype=torch.float32)
        means = torch.as_tensor(class_means(x.numpy(), y.numpy(), seen), dtype=torch.float32)
        proto = nn.Sequential(
            nn.Linear(sem.shape[1], 256), nn.ReLU(), nn.Linear(256, x.shape[1]), nn.ReLU()
        )
        opt = torch.optim.Adam(proto.parameters(), lr=1e-3, weight_decay=1e-3)
        for _ in range(self.proto_steps):
            loss = F.mse_loss(proto(sem), means)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        proto.eval()
        pos = torch.as_tensor(np.searchsorted(seen, y.numpy()))
        sigma = (x - means[pos]).pow(2).mean(0).sqrt()  # mean within-class std, per dimension
        if not self.residual:
            return _Synthetic(proto, None, sigma), False
        a = task.attributes.shape[1]
        r = FeatureGenerator(self.noise_dim(sem), a, self.hidden, x.shape[1], relu=False)
        return _Synthetic(proto, r, sigma), True
