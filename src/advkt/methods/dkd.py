"""Decoupled knowledge distillation (Zhao et al., CVPR 2022).

L = CE(s, y) + min(1, (⌊epoch⌋ + 1) / warmup) · (α · TCKD + β · NCKD), each KL × T²; α = 1, β = 8,
T = 4, warm-up 20 epochs (shorter schedules set a shorter warm-up in their recipe). ``epoch`` is
the engine's fractional epoch, 0.0 at the first batch, so the ramp is mdistiller's
``min(epoch / warmup, 1)`` with epochs counted from 1: constant within an epoch, 1/warmup for the
whole first epoch and 1 from epoch ``warmup`` on. Unlabelled samples (semi-supervised runs) take
the teacher's arg-max as their target class (ours).
"""

from __future__ import annotations

import math

import torch

from advkt.losses.kd import dkd_loss
from advkt.methods.base import Batch, Method, labelled_ce
from advkt.registry import register_method


@register_method("dkd")
class DKD(Method):
    def __init__(
        self,
        student,
        teacher,
        num_classes,
        example_input,
        alpha: float = 1.0,
        beta: float = 8.0,
        T: float = 4.0,
        warmup: float = 20.0,
        ce_weight: float = 1.0,
    ) -> None:
        super().__init__(student, teacher, num_classes, example_input)
        self.alpha, self.beta, self.T, self.warmup = alpha, beta, T, warmup
        self.ce_weight = ce_weight

    def ramp(self, epoch: float) -> float:
        """The DKD term's warm-up weight at fractional epoch ``epoch`` (0.0 = first batch)."""
        if self.warmup <= 0:
            return 1.0
        return min(1.0, (math.floor(epoch) + 1) / self.warmup)

    def student_loss(self, batch: Batch) -> dict:
        s = self.student_forward(batch)
        t = batch.t_logits.float()
        target = torch.where(batch.labelled, batch.y, t.argmax(1))
        ramp = self.ramp(batch.epoch)
        dkd = dkd_loss(s.float(), t, target, self.alpha, self.beta, self.T)
        ce = labelled_ce(s, batch.y)
        return {"loss": self.ce_weight * ce + ramp * dkd, "ce": ce, "dkd": dkd}
