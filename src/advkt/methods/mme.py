r"""MME: minimax entropy for semi-supervised domain adaptation (Saito et al., ICCV 2019), as its
released code (SSDA_MME) computes it.

The student is an extractor F with a cosine classifier C (model ``cosine_head``: an L2-normalised
input, a bias-free linear layer, logits divided by T = 0.05). Each batch takes two steps:

.. math::
    \text{1.}\quad L = \mathrm{CE}(C(F(x_l)), y_l)
    \quad\text{on the labelled rows (source and target shots)};

    \text{2.}\quad L = -\lambda\, H\big(C(\mathrm{GRL}(F(x_u)))\big)
    \quad\text{on the unlabelled target rows, } \lambda = 0.1,

with H the mean entropy of the softmax and GRL the gradient reversal layer between F and C: C
descends −λH (it maximises the entropy, moving its weights toward the target features), F
receives the reversed gradient (it minimises the entropy, clustering the target features around
C's weights). MME's step-2 forward is fresh, after step 1's update (**paper**, its code).
"""

from __future__ import annotations

import torch

from advkt.methods.base import (
    Batch,
    Method,
    cosine_classifier,
    labelled_rows_ce,
    minimax_entropy,
)
from advkt.registry import register_method


@register_method("mme")
class MME(Method):
    """Args (``method.args``): lam λ (MME: 0.1)."""

    uses_teacher = False
    teacher_on_batch = False  # a recipe's teacher is not run

    def __init__(self, student, teacher, num_classes, example_input, lam: float = 0.1) -> None:
        super().__init__(student, teacher, num_classes, example_input)
        cosine_classifier(student, "mme")
        if lam < 0:
            raise ValueError(f"method.args.lam must be >= 0, got {lam}")
        self.lam = lam

    def steps(self):
        return [("student", self.supervised), ("student", self.minimax)]

    def supervised(self, batch: Batch) -> dict[str, torch.Tensor]:
        ce = labelled_rows_ce(self.student, batch)
        return {"loss": ce, "ce": ce}

    def minimax(self, batch: Batch) -> dict[str, torch.Tensor]:
        return minimax_entropy(self.student, batch, self.lam)
