r"""DANN: domain-adversarial training (Ganin & Lempitsky, ICML 2015; Ganin et al., JMLR 2016), the
domain-adaptation peer, here on a semi-supervised batch (labelled source, target shots,
unlabelled target):

.. math::
    L = \mathrm{CE}(C(F(x_l)), y_l)
      + \lambda_p\, \mathrm{BCE}\big(D(\mathrm{GRL}(F(x))), d\big),\qquad
    \lambda_p = \frac{2}{1 + e^{-10 p}} - 1,

over every row x of the batch with its domain d (0 source, 1 target), D a domain classifier on
the pooled features F(x) and GRL the gradient reversal layer: D learns to tell the domains apart
while F learns features it cannot. **Paper**: the gradient reversal, the λ_p ramp over the
training progress p ∈ [0, 1]. **Ours**: D = Linear → ReLU → Linear → ReLU → Linear with
``d_hidden`` units; p = epoch / ``ramp_epochs`` (set it to the run's epochs; ``None``: λ_p = 1
throughout); ``weight`` scales the domain term.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from advkt.methods.base import Batch, Method, feature_shapes, labelled_ce
from advkt.nn.cosine import grad_reverse
from advkt.registry import register_method


@register_method("dann")
class DANN(Method):
    """Args (``method.args``): weight (domain term), d_hidden (D's width), ramp_epochs."""

    uses_teacher = False
    teacher_on_batch = False  # a recipe's teacher is not run

    def __init__(
        self,
        student,
        teacher,
        num_classes,
        example_input,
        weight: float = 1.0,
        d_hidden: int = 100,
        ramp_epochs: float | None = None,
    ) -> None:
        super().__init__(student, teacher, num_classes, example_input)
        if weight < 0 or d_hidden < 1 or (ramp_epochs is not None and not ramp_epochs > 0):
            raise ValueError(
                f"dann needs weight >= 0, d_hidden >= 1 and ramp_epochs > 0 or null; got "
                f"{weight}, {d_hidden}, {ramp_epochs}"
            )
        dim = feature_shapes(student, example_input).pooled.shape[1]
        self.domain_classifier = nn.Sequential(
            nn.Linear(dim, d_hidden),
            nn.ReLU(),
            nn.Linear(d_hidden, d_hidden),
            nn.ReLU(),
            nn.Linear(d_hidden, 1),
        )
        self.weight, self.ramp_epochs = weight, ramp_epochs

    def ramp(self, epoch: float) -> float:
        if self.ramp_epochs is None:
            return 1.0
        p = min(1.0, epoch / self.ramp_epochs)
        return 2.0 / (1.0 + math.exp(-10.0 * p)) - 1.0

    def student_loss(self, batch: Batch) -> dict[str, torch.Tensor]:
        if batch.domain is None:
            raise ValueError("method 'dann' needs domain-adaptation data (e.g. dataset 'ssda')")
        logits, feats = self.student(batch.x, features=True)
        lab = batch.y >= 0
        ce = labelled_ce(logits[lab], batch.y[lab])
        lam = self.ramp(batch.epoch)
        d = self.domain_classifier(grad_reverse(feats.pooled, lam)).squeeze(1)
        dom = F.binary_cross_entropy_with_logits(d.float(), batch.domain.float())
        return {"loss": ce + self.weight * dom, "ce": ce, "domain": dom}
