r"""ENT: entropy minimisation on the unlabelled target (Grandvalet & Bengio 2005), the
semi-supervised domain-adaptation peer of MME's paper, as MME's released code runs it:

.. math::
    \text{1.}\quad L = \mathrm{CE}(f(x_l), y_l);\qquad
    \text{2.}\quad L = \lambda\, H(f(x_u)),\ \lambda = 0.1,

two steps a batch on the labelled rows (source and target shots) and on the unlabelled target
rows, both minimising (no gradient reversal), with the same classifier as the other peers.
"""

from __future__ import annotations

import torch

from advkt.losses.domain import entropy
from advkt.methods.base import (
    Batch,
    Method,
    labelled_rows_ce,
    unlabelled_target,
)
from advkt.registry import register_method


@register_method("ent")
class ENT(Method):
    """Args (``method.args``): lam λ (MME's code: 0.1)."""

    uses_teacher = False
    teacher_on_batch = False  # a recipe's teacher is not run

    def __init__(self, student, teacher, num_classes, example_input, lam: float = 0.1) -> None:
        super().__init__(student, teacher, num_classes, example_input)
        if lam < 0:
            raise ValueError(f"method.args.lam must be >= 0, got {lam}")
        self.lam = lam

    def steps(self):
        return [("student", self.supervised), ("student", self.minimise_entropy)]

    def supervised(self, batch: Batch) -> dict[str, torch.Tensor]:
        ce = labelled_rows_ce(self.student, batch)
        return {"loss": ce, "ce": ce}

    def minimise_entropy(self, batch: Batch) -> dict[str, torch.Tensor]:
        h = entropy(self.student(batch.x[unlabelled_target(batch)]))
        return {"loss": self.lam * h, "entropy": h.detach()}
