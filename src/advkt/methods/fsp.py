"""Flow of solution procedure (Yim et al. 2017), trained jointly with CE.

L = CE(s, y) + β · Σ_stages mean((G_s − G_t)²), G = FSP matrix between the input and the output
of each stage, β = 50. FSP needs the same widths in student and teacher (the paper's pairs are
such); where widths differ, 1x1 adapters lift the student's features to the teacher's width
(``adapt=True``, ours) or the method refuses the pair (``adapt=False``).
"""

from __future__ import annotations

from torch import nn

from advkt.losses.feature import fsp_loss
from advkt.methods.base import Batch, Method, feature_shapes, labelled_ce
from advkt.nn.attention import ChannelTransform
from advkt.registry import register_method


def stage_pairs(feats) -> list[tuple]:
    return list(zip(feats.stage_inputs, feats.stages))


@register_method("fsp")
class FSP(Method):
    teacher_features = True

    def __init__(
        self,
        student,
        teacher,
        num_classes,
        example_input,
        beta: float = 50.0,
        adapt: bool = True,
        ce_weight: float = 1.0,
    ) -> None:
        super().__init__(student, teacher, num_classes, example_input)
        s_pairs = stage_pairs(feature_shapes(student, example_input))
        t_pairs = stage_pairs(feature_shapes(teacher, example_input))
        if len(s_pairs) != len(t_pairs):
            raise ValueError(
                f"fsp: the student has {len(s_pairs)} stages, the teacher "
                f"{len(t_pairs)}; FSP pairs stages one to one"
            )
        self.adapters = nn.ModuleList()
        for (si, so), (ti, to) in zip(s_pairs, t_pairs):
            pair = nn.ModuleList()
            for fs, ft in ((si, ti), (so, to)):
                cs, ct = fs.shape[1], ft.shape[1]
                if cs != ct and not adapt:
                    raise ValueError(
                        f"fsp: student width {cs} differs from teacher width {ct}; "
                        "set method.args.adapt=true to bridge it with 1x1 adapters"
                    )
                pair.append(ChannelTransform(cs, ct) if cs != ct else nn.Identity())
            self.adapters.append(pair)
        self.beta, self.ce_weight = beta, ce_weight

    def student_loss(self, batch: Batch) -> dict:
        s, feats = self.student_forward(batch, features=True)
        pairs_s = [
            (a_in(fi).float(), a_out(fo).float())
            for (a_in, a_out), (fi, fo) in zip(self.adapters, stage_pairs(feats))
        ]
        pairs_t = [(fi.float(), fo.float()) for fi, fo in stage_pairs(batch.t_feats)]
        fsp = fsp_loss(pairs_s, pairs_t)
        ce = labelled_ce(s, batch.y)
        return {"loss": self.ce_weight * ce + self.beta * fsp, "ce": ce, "fsp": fsp}
