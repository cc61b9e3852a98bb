"""The student trained alone: L = CE(s, y) on the labelled samples."""

from __future__ import annotations

from advkt.methods.base import Batch, Method, labelled_ce
from advkt.registry import register_method


@register_method("student")
class Student(Method):
    uses_teacher = False

    def student_loss(self, batch: Batch) -> dict:
        ce = labelled_ce(self.student_forward(batch), batch.y)
        return {"loss": ce, "ce": ce}
