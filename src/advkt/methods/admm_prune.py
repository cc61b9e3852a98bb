"""ADMM pruning baseline of Ye et al., "Adversarial Robustness vs. Model Compression, or Both?",
ICCV 2019 (robust_compression.md), as a method, with the same loss and schedule as ``robust``.

Before ``prune_epoch`` each optimiser step minimises, on the adversarial batch x',

    (1 − α)·CE(f_W(x'), y) + α·T²·KL(t(x') ‖ f_W(x')) + ρ/2·Σ_l ‖W_l − Z_l + U_l‖²

(α = 0: plain adversarial cross-entropy, Ye et al.'s setting), and every ``update_every`` steps
Z ← Π_S(W + U), U ← U + W − Z (S: at most |Ω|/rate non-zero weights, ``scope`` global or per
layer); at ``prune_epoch`` W ← Π_S(W) and masked fine-tuning to the end, as in ``robust``.
Z and U are buffers of this module, so checkpoints and ``--resume`` carry them; they are the two
extra copies of every weight that the proximal method does not need.
"""

from __future__ import annotations

import torch
from torch import nn

from advkt.methods.base import Batch
from advkt.methods.masked_pruning import MaskedPruning, buffer_name
from advkt.pruning import ADMM
from advkt.registry import register_method


@register_method("admm")
class ADMMPrune(MaskedPruning):
    """Args (``method.args``): rate (target compression rate, required), prune_epoch (required),
    rho ρ, update_every (optimiser steps between Z/U updates), scope "global" | "layer",
    alpha α and T (distillation on x'; α = 0 needs no teacher), init "teacher" | None (start
    from the teacher's weights, as Ye et al. prune a pre-trained robust network)."""

    def __init__(
        self,
        student,
        teacher,
        num_classes,
        example_input,
        rate: float | None = None,
        prune_epoch: float | None = None,
        rho: float = 1e-2,
        update_every: int = 100,
        scope: str = "global",
        alpha: float = 0.0,
        T: float = 4.0,
        init: str | None = None,
    ) -> None:
        if rate is None or prune_epoch is None:
            raise ValueError("method 'admm' needs method.args.rate and method.args.prune_epoch")
        super().__init__(
            student, teacher, num_classes, example_input, prune_epoch, rate, "l1", scope, init
        )
        if update_every < 1:
            raise ValueError(f"method.args.update_every must be >= 1, got {update_every}")
        if not 0 <= alpha <= 1:
            raise ValueError(f"method.args.alpha must be in [0, 1], got {alpha}")
        if alpha > 0 and teacher is None:
            raise ValueError("method 'admm' with alpha > 0 needs a teacher (recipe key 'teacher')")
        self.alpha, self.T, self.update_every = alpha, T, update_every
        self.teacher_on_batch = alpha > 0
        self.admm = ADMM(student, rate=rate, rho=rho, scope=scope)
        self.admm_z, self.admm_u = nn.Module(), nn.Module()
        for n in self.admm.params:
            self.admm_z.register_buffer(buffer_name(n), self.admm.Z[n])
            self.admm_u.register_buffer(buffer_name(n), self.admm.U[n])
        self.register_buffer("admm_steps", torch.zeros((), dtype=torch.long))
        self._bind()

    def _bind(self) -> None:
        """Point the ADMM state at this module's buffers (after ``.to()`` or a load)."""
        for n in self.admm.params:
            self.admm.Z[n] = getattr(self.admm_z, buffer_name(n))
            self.admm.U[n] = getattr(self.admm_u, buffer_name(n))

    def _apply(self, fn, *args, **kwargs):
        out = super()._apply(fn, *args, **kwargs)  # .to(device) replaces the buffers
        self._bind()
        return out

    def student_loss(self, batch: Batch) -> dict[str, torch.Tensor]:
        out = self.distill_loss(batch, self.alpha, self.T)
        if not self._in_finetune():
            pen = self.admm.penalty()
            out["loss"] = out["loss"] + pen
            out["admm_penalty"] = pen.detach()
        return out

    @torch.no_grad()
    def before_prune(self, name: str, lr: float) -> None:
        self.admm_steps += 1
        if int(self.admm_steps) % self.update_every == 0:
            self.admm.update()

    @torch.no_grad()
    def hard_prune(self) -> None:
        masks = self.admm.prune()
        for name, m in masks.items():
            getattr(self.masks, buffer_name(name)).copy_(m)
        self.pruned.fill_(True)
