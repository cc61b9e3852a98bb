"""Knowledge distillation (Hinton, Vinyals, Dean 2015).

L = w_ce · CE(s, y) + w_kd · T² · KL(softmax(t/T) ‖ softmax(s/T)), defaults T = 4, w_ce = 0.1,
w_kd = 0.9 (the standard weights of the CIFAR reference tables). CE uses labelled samples only;
the KD term uses every sample.
"""

from __future__ import annotations

from advkt.losses.kd import kd_loss
from advkt.methods.base import Batch, Method, labelled_ce
from advkt.registry import register_method


@register_method("kd")
class KD(Method):
    def __init__(
        self,
        student,
        teacher,
        num_classes,
        example_input,
        T: float = 4.0,
        ce_weight: float = 0.1,
        kd_weight: float = 0.9,
    ) -> None:
        super().__init__(student, teacher, num_classes, example_input)
        self.T, self.ce_weight, self.kd_weight = T, ce_weight, kd_weight

    def student_loss(self, batch: Batch) -> dict:
        s = self.student_forward(batch)
        ce = labelled_ce(s, batch.y)
        kd = kd_loss(s.float(), batch.t_logits.float(), self.T)
        return {"loss": self.ce_weight * ce + self.kd_weight * kd, "ce": ce, "kd": kd}
