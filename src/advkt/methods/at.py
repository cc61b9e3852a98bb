"""Attention transfer (Zagoruyko & Komodakis 2017).

L = CE(s, y) + β · Σ_stages mean((a_s − a_t)²), a = normalise(flatten(mean_c F^p)), p = 2,
β = 1000, over the outputs of the stages the two networks share (the last ``min`` stages).
"""

from __future__ import annotations

from advkt.losses.feature import at_loss
from advkt.methods.base import Batch, Method, labelled_ce
from advkt.registry import register_method


@register_method("at")
class AT(Method):
    teacher_features = True

    def __init__(
        self,
        student,
        teacher,
        num_classes,
        example_input,
        beta: float = 1000.0,
        p: float = 2.0,
        ce_weight: float = 1.0,
    ) -> None:
        super().__init__(student, teacher, num_classes, example_input)
        self.beta, self.p, self.ce_weight = beta, p, ce_weight

    def student_loss(self, batch: Batch) -> dict:
        s, feats = self.student_forward(batch, features=True)
        ss, ts = feats.stages, batch.t_feats.stages
        k = min(len(ss), len(ts))
        at = at_loss([f.float() for f in ss[-k:]], [f.float() for f in ts[-k:]], self.p)
        ce = labelled_ce(s, batch.y)
        return {"loss": self.ce_weight * ce + self.beta * at, "ce": ce, "at": at}
