"""Flow of solution procedure (Yim et al. 2017), joint with CE or in two stages.

With L_FSP = Σ_stages mean((G_s − G_t)²), G = FSP matrix between the input and the output of each
stage, β = 50:

- ``protocol="joint"`` (default): L = CE(s, y) + β · L_FSP in every batch.
- ``protocol="two_stage"``, the published protocol (paper; RepDistiller ``--distill fsp``): while
  ``epoch < init_epochs`` (default 30) L = β · L_FSP alone, which trains the student's feature
  layers (and adapters) and gives the classifier no gradient; afterwards L = CE(s, y) alone (L_FSP
  is still computed, without gradient, and logged). Both stages run inside the engine's one
  training run, so the one optimiser and LR schedule span both (**ours**: RepDistiller's init
  stage has its own SGD at the base LR, without decay). RepDistiller's init loss is the
  unweighted L_FSP; ``beta: 1`` reproduces that weight.

FSP needs the same widths in student and teacher (the paper's pairs are such); where widths
differ, 1x1 convolutions lift the student's features to the teacher's width (``adapt=True``, ours)
or the method refuses the pair (``adapt=False``). The adapters are linear (no batch norm), so they
commute with the average pooling that brings a stage's input to its output's length: the student's
maps are pooled first, at the student's width, then lifted.
"""

from __future__ import annotations

import torch
from torch import nn

from advkt.losses.feature import fsp_loss, match_spatial
from advkt.methods.base import Batch, Method, feature_shapes, labelled_ce
from advkt.nn.attention import ChannelTransform
from advkt.registry import register_method

PROTOCOLS = ("joint", "two_stage")


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
        protocol: str = "joint",
        init_epochs: float = 30.0,
    ) -> None:
        super().__init__(student, teacher, num_classes, example_input)
        if protocol not in PROTOCOLS:
            raise ValueError(f"fsp: unknown protocol {protocol!r}; expected one of {PROTOCOLS}")
        if init_epochs < 0:
            raise ValueError(f"fsp: init_epochs must be >= 0; got {init_epochs}")
        self.protocol, self.init_epochs = protocol, init_epochs
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
                pair.append(ChannelTransform(cs, ct, bn=False) if cs != ct else nn.Identity())
            self.adapters.append(pair)
        self.beta, self.ce_weight = beta, ce_weight

    def student_loss(self, batch: Batch) -> dict:
        s, feats = self.student_forward(batch, features=True)
        init_stage = self.protocol == "two_stage" and batch.epoch < self.init_epochs
        ce_only = self.protocol == "two_stage" and not init_stage
        with torch.set_grad_enabled(torch.is_grad_enabled() and not ce_only):
            pairs_s = [
                (a_in(fi).float(), a_out(fo).float())
                for (a_in, a_out), (fi, fo) in zip(
                    self.adapters, (match_spatial(*p) for p in stage_pairs(feats))
                )
            ]
            pairs_t = [(fi.float(), fo.float()) for fi, fo in stage_pairs(batch.t_feats)]
            fsp = fsp_loss(pairs_s, pairs_t)
        ce = labelled_ce(s, batch.y)
        if init_stage:
            loss = self.beta * fsp
        elif ce_only:
            loss = self.ce_weight * ce
        else:
            loss = self.ce_weight * ce + self.beta * fsp
        return {"loss": loss, "ce": ce, "fsp": fsp}
