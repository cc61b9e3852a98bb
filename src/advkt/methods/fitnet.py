"""FitNet hints (Romero et al. 2015), trained jointly with CE as in the CRD reference code.

L = CE(s, y) + β · ‖r(F_s) − F_t‖² (mean over elements), with F the output of stage
``hint_stage`` of each network and r(F) = ReLU(BN(conv_1x1(F))) a regressor to the teacher's
width, as RepDistiller's ``ConvReg`` and mdistiller; β = 100. The original two-phase schedule
(hint pre-training, then KD) is not used.
"""

from __future__ import annotations

from advkt.losses.feature import fitnet_loss
from advkt.methods.base import Batch, Method, feature_shapes, labelled_ce
from advkt.nn.attention import ChannelTransform
from advkt.registry import register_method


@register_method("fitnet")
class FitNet(Method):
    teacher_features = True

    def __init__(
        self,
        student,
        teacher,
        num_classes,
        example_input,
        beta: float = 100.0,
        hint_stage: int = 1,
        ce_weight: float = 1.0,
    ) -> None:
        super().__init__(student, teacher, num_classes, example_input)
        fs = feature_shapes(student, example_input).stages
        ft = feature_shapes(teacher, example_input).stages
        if not -len(fs) <= hint_stage < len(fs) or not -len(ft) <= hint_stage < len(ft):
            raise ValueError(
                f"fitnet: hint_stage {hint_stage} is out of range: the student has "
                f"{len(fs)} stages, the teacher {len(ft)}"
            )
        self.hint_stage, self.beta, self.ce_weight = hint_stage, beta, ce_weight
        self.regressor = ChannelTransform(
            fs[hint_stage].shape[1], ft[hint_stage].shape[1], relu=True
        )

    def student_loss(self, batch: Batch) -> dict:
        s, feats = self.student_forward(batch, features=True)
        ce = labelled_ce(s, batch.y)
        hint = fitnet_loss(
            self.regressor(feats.stages[self.hint_stage]).float(),
            batch.t_feats.stages[self.hint_stage].float(),
        )
        return {"loss": self.ce_weight * ce + self.beta * hint, "ce": ce, "hint": hint}
