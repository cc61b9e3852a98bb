r"""Adversarial transfer of layer-wise dense flow, semi-supervised.

Yeo, Kim, Bae, "Adversarial Optimization-Based Knowledge Transfer of Layer-Wise Dense Flow for
Image Classification", Applied Sciences 2021 (lineage: FSP, Yim et al. CVPR 2017; densely
distilled flow, Bae et al. IEEE TIP 2020). See ``papers/dense_flow.md`` and
``docs/methods/dense_flow.md``; **paper** marks what the paper states, **ours** a choice made
where it was not at hand (each has a switch).

Block outputs f_0 … f_n: f_0 = the stem output, then every block output in order across stages.
Flow items (**ours**: dense, overlapping windows) are

.. math:: \mathcal I = \{(k, k + d) : d \in \{1, \dots, D\},\ 0 \le k \le n - d\},
   \qquad G_{k,k+d} = \mathrm{FSP}(f_k, f_{k+d}),

so consecutive items share endpoints and there are :math:`\sum_{d=1}^{D} (n + 1 - d)` of them.
The student has fewer blocks than the teacher; its sequence is mapped onto the teacher's one to
one: stem → stem, and student block j of stage s → teacher block ``supervision_points(b_s, b_t,
b_s)[j]`` of stage s (evenly spaced, ending at the stage output; e.g. 1 student block of 4 ↦
teacher block 3, 3 of 6 ↦ blocks 1, 3, 5). Student features of another width than their
teacher counterpart are lifted by a 1x1 convolution + BN (:class:`ChannelTransform`).

Student objective, with :math:`\mathcal L` the labelled samples of the batch (**paper**: CE on
labelled data only; flow and adversarial terms on every sample):

.. math::
    L_S = w_{ce}\,\frac{1}{|\mathcal L|}\sum_{i \in \mathcal L} \mathrm{CE}(s_i, y_i)
        + \beta \sum_{(a,b) \in \mathcal I} \overline{(G^s_{ab} - G^t_{ab})^2}
        + \lambda_{adv} \sum_{(a,b) \in \mathcal I} -\overline{\log \sigma(D_{ab}(P(G^s_{ab})))}

and each discriminator minimises :math:`-\overline{\log\sigma(D_{ab}(P(G^t)))}
-\overline{\log(1-\sigma(D_{ab}(P(G^s))))}` (teacher = real; standard GAN loss). P average-pools a
C1 x C2 matrix to at most ``d_pool`` x ``d_pool`` (**ours**: 64x64 = 4096 inputs would dominate the
cost on a CPU). ``shared_disc=True`` uses one discriminator for every item, on matrices pooled to
exactly ``d_pool`` x ``d_pool`` with a one-hot of the item appended.

Optional bottom-up warm-up (**ours**, after the TIP 2020 lineage): for ``warmup_epochs`` = W > 0,
epoch e < W trains the student on the flow loss alone, restricted to the items that end in stage
≤ ⌊e·S/W⌋ (S stages); the joint objective above follows.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from advkt.losses.adversarial import d_loss, g_loss
from advkt.losses.feature import fsp_matrix
from advkt.methods.base import Batch, Method, feature_shapes, labelled_ce, supervision_points
from advkt.nn.attention import ChannelTransform
from advkt.nn.discriminator import MLPDiscriminator
from advkt.registry import register_method


def flow_items(points: int, window: int) -> list[tuple[int, int]]:
    """Dense, overlapping items (k, k + d) over ``points`` block outputs f_0 … f_{points-1}, for
    d = 1 … ``window``, ordered by d then k; e.g. points=4, window=2 ->
    [(0, 1), (1, 2), (2, 3), (0, 2), (1, 3)]."""
    if points < 2:
        raise ValueError(f"dense_flow needs at least 2 block outputs; got {points}")
    if window < 1:
        raise ValueError(f"dense_flow window must be >= 1; got {window}")
    return [(k, k + d) for d in range(1, min(window, points - 1) + 1) for k in range(points - d)]


def block_sequence(feats) -> list[torch.Tensor]:
    """f_0 … f_n: the stem output, then every block output in order across stages."""
    return [feats.stem] + [f for stage in feats.blocks for f in stage]


def teacher_positions(blocks_s: list[int], blocks_t: list[int]) -> list[int]:
    """For each student position in :func:`block_sequence`, the teacher position it is matched
    to: 0 for the stem, then per stage evenly spaced teacher blocks ending at the stage output.
    ``blocks_s``/``blocks_t`` are the numbers of blocks per stage."""
    if len(blocks_s) != len(blocks_t):
        raise ValueError(
            f"dense_flow: the student has {len(blocks_s)} stages and the teacher "
            f"{len(blocks_t)}; items are matched stage by stage, so both need the same number"
        )
    pos, offset = [0], 1
    for k, (bs, bt) in enumerate(zip(blocks_s, blocks_t)):
        if bs > bt:
            raise ValueError(
                f"dense_flow: stage {k + 1} has {bs} student blocks but only {bt} teacher "
                "blocks; the student must not be deeper than the teacher in any stage"
            )
        pos += [offset + jt for _, jt in supervision_points(bs, bt, bs)]
        offset += bt
    return pos


@register_method("dense_flow")
class DenseFlow(Method):
    teacher_features = True

    def __init__(
        self,
        student,
        teacher,
        num_classes,
        example_input,
        window: int = 2,
        beta: float = 50.0,
        lambda_adv: float = 1.0,
        adversarial: bool = True,
        shared_disc: bool = False,
        d_pool: int = 16,
        d_hidden: tuple[int, ...] = (128, 128),
        d_lr: float = 2e-4,
        d_betas: tuple[float, float] = (0.5, 0.999),
        adapt: bool = True,
        warmup_epochs: float = 0.0,
        ce_weight: float = 1.0,
    ) -> None:
        super().__init__(student, teacher, num_classes, example_input)
        if d_pool < 1:
            raise ValueError(f"dense_flow: d_pool must be >= 1; got {d_pool}")
        if warmup_epochs < 0:
            raise ValueError(f"dense_flow: warmup_epochs must be >= 0; got {warmup_epochs}")
        fs = feature_shapes(student, example_input)
        ft = feature_shapes(teacher, example_input)
        self.t_pos = teacher_positions([len(b) for b in fs.blocks], [len(b) for b in ft.blocks])
        seq_s, seq_t = block_sequence(fs), block_sequence(ft)
        self.items = flow_items(len(seq_s), window)
        # stage of each position (stem = stage 0), for the bottom-up warm-up
        self.stage_of = [0] + [k for k, stage in enumerate(fs.blocks) for _ in stage]
        self.num_stages = len(fs.blocks)
        self.adapters = nn.ModuleList()
        for p, q in enumerate(self.t_pos):
            cs, ct = seq_s[p].shape[1], seq_t[q].shape[1]
            if cs != ct and not adapt:
                raise ValueError(
                    f"dense_flow: student width {cs} at block output {p} differs from teacher "
                    f"width {ct}; set method.args.adapt=true to bridge it with 1x1 adapters"
                )
            self.adapters.append(ChannelTransform(cs, ct) if cs != ct else nn.Identity())
        self.beta, self.ce_weight, self.warmup_epochs = beta, ce_weight, warmup_epochs
        self.lambda_adv = lambda_adv if adversarial else 0.0
        self.shared_disc, self.d_pool = shared_disc, d_pool
        sizes = [
            self._pooled(seq_t[self.t_pos[a]].shape[1], seq_t[self.t_pos[b]].shape[1])
            for a, b in self.items
        ]
        if shared_disc:
            in_dim = d_pool * d_pool + len(self.items)
            self.discs = nn.ModuleList([MLPDiscriminator(in_dim, tuple(d_hidden))])
        else:
            self.discs = nn.ModuleList(MLPDiscriminator(h * w, tuple(d_hidden)) for h, w in sizes)
        self.d_opt = {"name": "adam", "lr": d_lr, "betas": tuple(d_betas), "weight_decay": 0.0}

    # ------------------------------------------------------------------ contract
    def param_groups(self):
        student = [*self.student.parameters(), *self.adapters.parameters()]
        groups = {"student": (student, None)}
        if self.lambda_adv > 0:
            groups["disc"] = (list(self.discs.parameters()), self.d_opt)
        return groups

    def steps(self):
        if self.lambda_adv > 0:
            return [("disc", self.disc_loss), ("student", self.student_loss)]
        return [("student", self.student_loss)]

    # ------------------------------------------------------------------ flow
    def _pooled(self, c1: int, c2: int) -> tuple[int, int]:
        if self.shared_disc:
            return self.d_pool, self.d_pool
        return min(c1, self.d_pool), min(c2, self.d_pool)

    def teacher_flow(self, batch: Batch) -> list[torch.Tensor]:
        """G^t for every item, (N, C1, C2) each."""
        if "flow_t" not in batch.cache:
            seq = block_sequence(batch.t_feats)
            with torch.no_grad():
                batch.cache["flow_t"] = [
                    fsp_matrix(seq[self.t_pos[a]].float(), seq[self.t_pos[b]].float())
                    for a, b in self.items
                ]
        return batch.cache["flow_t"]

    def student_flow(self, batch: Batch) -> list[torch.Tensor]:
        """G^s for every item on the adapted student features, shared by both steps."""
        if "flow_s" not in batch.cache:
            _, feats = self.student_forward(batch, features=True)
            seq = [ad(f).float() for ad, f in zip(self.adapters, block_sequence(feats))]
            batch.cache["flow_s"] = [fsp_matrix(seq[a], seq[b]) for a, b in self.items]
        return batch.cache["flow_s"]

    def pool(self, g: torch.Tensor) -> torch.Tensor:
        """P(g): the (N, C1, C2) matrices average-pooled to the discriminators' input size."""
        h, w = self._pooled(g.shape[1], g.shape[2])
        return F.adaptive_avg_pool2d(g, (h, w)) if (h, w) != tuple(g.shape[1:]) else g

    def pooled_flow(self, batch: Batch) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """(P(G^t), P(G^s)) for every item, pooled once a batch and shared by both steps: the
        discriminators see only the pooled matrices, and pooling before joining teacher and
        student keeps the full 128 x 128 matrices out of the copies."""
        if "pooled" not in batch.cache:
            with torch.no_grad():
                pt = [self.pool(g) for g in self.teacher_flow(batch)]
            batch.cache["pooled"] = (pt, [self.pool(g) for g in self.student_flow(batch)])
        return batch.cache["pooled"]

    def judge(self, j: int, p: torch.Tensor) -> torch.Tensor:
        """D_j on pooled matrices p (N, h, w) -> raw logits (N,)."""
        if not self.shared_disc:
            return self.discs[j](p)
        onehot = p.new_zeros(p.shape[0], len(self.items))
        onehot[:, j] = 1.0
        return self.discs[0](torch.cat([p.flatten(1), onehot], 1))

    def active_items(self, epoch: float) -> list[int]:
        """Indices of the items trained at ``epoch``: all of them after the warm-up."""
        if epoch >= self.warmup_epochs:
            return list(range(len(self.items)))
        last = int(epoch * self.num_stages / self.warmup_epochs)
        return [j for j, (_, b) in enumerate(self.items) if self.stage_of[b] <= last]

    # ------------------------------------------------------------------ losses
    def disc_loss(self, batch: Batch) -> dict:
        pt, ps = self.pooled_flow(batch)
        loss = None
        for j in range(len(self.items)):
            n = pt[j].shape[0]
            scores = self.judge(j, torch.cat([pt[j], ps[j].detach()]))
            term = d_loss(scores[:n], scores[n:], "gan")
            loss = term if loss is None else loss + term
        return {"loss": loss, "adv": loss}

    def student_loss(self, batch: Batch) -> dict:
        s, _ = self.student_forward(batch, features=True)
        gt, gs = self.teacher_flow(batch), self.student_flow(batch)
        warm = batch.epoch < self.warmup_epochs
        active = self.active_items(batch.epoch)
        flow = sum(F.mse_loss(gs[j], gt[j]) for j in active)
        out = {"flow": flow}
        if warm:
            out["loss"] = self.beta * flow
            return out
        ce = labelled_ce(s, batch.y)
        loss = self.ce_weight * ce + self.beta * flow
        out["ce"] = ce
        if self.lambda_adv > 0:
            ps = self.pooled_flow(batch)[1]
            adv = sum(g_loss(self.judge(j, ps[j]), "gan") for j in active)
            out["adv"], loss = adv, loss + self.lambda_adv * adv
        out["loss"] = loss
        return out
