r"""VAT: virtual adversarial training (Miyato et al., TPAMI 2018) on the unlabelled target, the
semi-supervised peer:

.. math::
    L = \mathrm{CE}(f(x_l), y_l) + \alpha\,\mathrm{KL}\big(\mathrm{sg}\,p(x_u)\,\Vert\,
        p(x_u + r)\big) + \beta\, H(f(x_u)),\qquad
    r = \epsilon\,\frac{d}{\lVert d\rVert},

d from one power iteration on the KL at x_u (:func:`advkt.losses.domain.vat_direction`; its
ξ = 10 is **ours**).
**Paper**: the loss and the power iteration. **Ours**: ε (inputs here are standardised features,
so ε is in their units), α, and β = 0 (the entropy term of VAT+Ent, off).
"""

from __future__ import annotations

import torch

from advkt.losses.domain import entropy, vat_direction, vat_loss
from advkt.methods.base import (
    Batch,
    Method,
    labelled_rows_ce,
    unlabelled_target,
)
from advkt.registry import register_method


@register_method("vat")
class VAT(Method):
    """Args (``method.args``): eps ε, alpha α, ent_weight β."""

    uses_teacher = False
    teacher_on_batch = False  # a recipe's teacher is not run

    def __init__(
        self,
        student,
        teacher,
        num_classes,
        example_input,
        eps: float = 1.0,
        alpha: float = 1.0,
        ent_weight: float = 0.0,
    ) -> None:
        super().__init__(student, teacher, num_classes, example_input)
        if not eps > 0 or alpha < 0 or ent_weight < 0:
            raise ValueError(
                f"vat needs eps > 0, alpha >= 0, ent_weight >= 0; got {eps}, {alpha}, {ent_weight}"
            )
        self.eps, self.alpha, self.ent_weight = eps, alpha, ent_weight

    def student_loss(self, batch: Batch) -> dict[str, torch.Tensor]:
        u = unlabelled_target(batch)
        ce = labelled_rows_ce(self.student, batch)
        xu = batch.x[u]
        r = vat_direction(self.student, xu, self.eps) if len(xu) else xu
        v = vat_loss(self.student, xu, r)
        out = {"ce": ce, "vat": v}
        loss = ce + self.alpha * v
        if self.ent_weight > 0:
            out["entropy"] = entropy(self.student(xu))
            loss = loss + self.ent_weight * out["entropy"]
        return {"loss": loss, **out}
