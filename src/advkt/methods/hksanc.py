r"""HKSANC: hierarchical knowledge-squeezed adversarial network compression.

Li, Shu, Xie, Qu, Kong, AAAI 2020; formulation from its earlier version KSANC (arXiv 1904.05100).
See ``papers/hksanc.md`` and ``docs/methods/hksanc.md``; **paper** marks the published
formulation, **ours** a choice where the paper is silent or ambiguous (each has a switch).

Networks. The student's logits are read from its global descriptor (**paper**; switch
``student_g_head``, default on): with p^s the vector its backbone's classifier reads,

.. math:: g^s = W_g\,p^s + b_g \in \mathbb{R}^{128},\qquad s = W_c\,g^s + b_c,

which is GAP(conv1x1(F_last)) for a backbone that pools globally (see
:mod:`advkt.models.descriptor`); the head belongs to the student (its size, its checkpoint,
``advkt eval``). The frozen teacher keeps its own classifier; its descriptor
:math:`g^t = \mathrm{GAP}(\mathrm{conv}_{1\times1}(F^t_\text{last}))` and its estimators are fitted
on the teacher's own task before distillation (**ours**, see :meth:`HKSANC.prepare`).

Squeezed descriptors at supervision point p of stage k (**paper**: task-driven attention):
``a^t_p = E^t_p(F^t_p, g^t)`` and ``a^s_p = E^s_p(T_p(F^s_p), g^s)`` with T_p a 1x1 convolution
to the teacher's width and E the estimator of :class:`advkt.nn.attention.AttentionEstimator`:

.. math::
    \hat g = \mathrm{conv}_{1\times1}(g),\quad \hat L = L + \hat g,\quad
    M = \mathrm{softmax}_x(\mathrm{conv}_{1\times1}(\hat L)),\quad
    a = \sum_x M(x)\,\hat L(x) = \sum_x M(x)\,L(x) + \hat g,

the equation (``use_hat``, **ours** against the figure's L). ĝ is the same at every position,
so it shifts every score by the same amount and M does not depend on it: the guide reaches a
only through the direct ĝ term. ``detach_hat=True`` (**ours**, off) stops that term's gradient;
the guide then gets no gradient at all while its value still enters a, and on MNIST-1D it grew
until L_is reached 1e16 and the student collapsed (8.0 and 26.6 % on seeds 1-2, 150
epochs). Both sides use the same estimator.

Student objective, with t the teacher's logits, y the label (-1: unlabelled, skipped by CE) and
:math:`\|v\|^2 = \sum_i v_i^2` over the K logits and the C_t channels (**paper**; averaged over
the batch; ``reduction="mean"`` divides each by its length instead, **ours**):

.. math::
    L_S = \lambda_1 \|s - t\|^2
        + \lambda_2 \big[\mathrm{BCE}(D_o(s), 1) + \mathrm{CE}(D_c(s), y)\big]
        + \lambda_3 \sum_{p} \|a^s_p - a^t_p\|^2 + w_{ce}\,\mathrm{CE}(s, y)

minimised over the student (with its descriptor head), the transforms T_p and the student's
estimators (and, with ``guide="next"``, its other stage descriptors). The hard-label CE is
**ours** and off (``ce_weight=0``): as written, labels enter through L_adv^C only.
``logit_loss="kl"`` (**ours**, off: ``"mse"`` is the paper's) replaces the first term with KD's
soft term at temperature T (:func:`advkt.losses.kd.kd_loss`),
:math:`\lambda_1 T^2\,\mathrm{KL}(\mathrm{softmax}(t/T)\,\|\,\mathrm{softmax}(s/T))`: the
regression onto raw teacher logits, whose scale the teacher sets, becomes the matching of their
softened distributions.

Discriminator objective (D minimises; L_reg is Belagiannis et al.'s regulariser, **paper**):

.. math::
    L_D = \mathrm{BCE}(D_o(t), 1) + \mathrm{BCE}(D_o(s), 0)
        + \mu\Big(\sum_{w \in \omega_D} |w| + \sum_{w \in \omega_D} w^2
                  + \mathrm{BCE}(D_o(s), 1)\Big)
        + \mathrm{CE}(D_c(t), y) + \mathrm{CE}(D_c(s), y)

with :math:`\omega_D` the entries of D's three weight matrices (biases and batch-norm scales and
shifts excluded, **ours**; see :func:`advkt.losses.adversarial.weight_penalty`);
``reduction="mean"`` takes means over those entries instead of sums (**ours**).

Shapes: logits (N, K); F (N, C, *S); a (N, C_t); g (N, 128).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable

import torch
from torch import nn

from advkt import distributed as dist
from advkt.losses.adversarial import d_loss, g_loss, weight_penalty
from advkt.losses.kd import kd_loss
from advkt.methods.base import Batch, Method, feature_shapes, labelled_ce, supervision_points
from advkt.models.descriptor import NAME as DESCRIPTOR_HEAD
from advkt.models.descriptor import (
    DescriptorClassifier,
    add_descriptor_head,
    descriptor_head_spec,
)
from advkt.nn.attention import AttentionEstimator, ChannelTransform, GlobalDescriptor
from advkt.nn.discriminator import LogitDiscriminator
from advkt.nn.modes import eval_mode
from advkt.registry import register_method


class _Side(nn.Module):
    """One network's squeezing parts: global descriptor(s) and one estimator per point.

    With ``external_head`` (the student with its descriptor head) the last stage's descriptor is
    not built here: it is the g the network's own classifier reads, passed to :meth:`squeeze`.
    """

    def __init__(
        self,
        widths: list[int],
        est_widths: list[int],
        points: list[tuple[int, int]],
        guide: str,
        desc_dim: int,
        use_hat: bool,
        detach_hat: bool,
        external_head: bool = False,
    ) -> None:
        super().__init__()
        self.guide, self.points = guide, points
        last = len(widths) - 1
        # "head": one descriptor of the last stage; "next": stage k is guided by stage k+1
        self.sources = [last] if guide == "head" else [min(k + 1, last) for k in range(len(widths))]
        self.desc = nn.ModuleDict(
            {
                str(i): GlobalDescriptor(widths[j], desc_dim)
                for i, j in enumerate(self.sources)
                if not (external_head and j == last)
            }
        )
        self.est = nn.ModuleList(
            AttentionEstimator(est_widths[k], desc_dim, use_hat, detach_hat) for k, _ in points
        )

    def descriptors(
        self, stages: list[torch.Tensor], head: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        return [
            self.desc[str(i)](stages[j]) if str(i) in self.desc else head
            for i, j in enumerate(self.sources)
        ]

    def squeeze(
        self,
        feats: list[torch.Tensor],
        stages: list[torch.Tensor],
        head: torch.Tensor | None = None,
        lifts: list[nn.Module] | None = None,
    ):
        """feats[p] is point p's feature -> [(a_p, M_p)]; the student's come with ``lifts``, the
        1x1 convolutions to the teacher's width, which the estimators apply (folded)."""
        g = self.descriptors(stages, head)
        lifts = lifts or [None] * len(feats)
        return [
            est(f, g[0] if self.guide == "head" else g[k], lift)
            for est, f, lift, (k, _) in zip(self.est, feats, lifts, self.points)
        ]


@register_method("hksanc")
class HKSANC(Method):
    teacher_features = True

    def __init__(
        self,
        student,
        teacher,
        num_classes,
        example_input,
        lambda_b: float = 1.0,
        lambda_adv: float = 1.0,
        lambda_is: float = 1.0,
        mu: float = 0.1,
        class_adv: bool = True,
        ce_weight: float = 0.0,
        points_per_stage: int | None = None,
        guide: str = "head",
        use_hat: bool = True,
        detach_hat: bool = False,
        student_g_head: bool = True,
        desc_dim: int = 128,
        d_hidden: int = 256,
        d_lr: float = 2e-4,
        d_betas: tuple[float, float] = (0.5, 0.999),
        estimator_epochs: int = 2,
        estimator_lr: float = 1e-3,
        reduction: str = "sum",
        logit_loss: str = "mse",
        T: float = 4.0,
    ) -> None:
        if logit_loss not in ("mse", "kl"):
            raise ValueError(f"hksanc: logit_loss must be 'mse' or 'kl', got '{logit_loss}'")
        if not T > 0:
            raise ValueError(f"hksanc: temperature T must be > 0, got {T}")
        if guide not in ("head", "next"):
            raise ValueError(f"hksanc: guide must be 'head' or 'next', got '{guide}'")
        if reduction not in ("mean", "sum"):
            raise ValueError(f"hksanc: reduction must be 'mean' or 'sum', got '{reduction}'")
        if student_g_head:  # paper: the student's logits are read from its global descriptor
            fc = getattr(student, "fc", None)
            if not isinstance(fc, DescriptorClassifier):
                add_descriptor_head(student, desc_dim)
            elif fc.dim != desc_dim:  # a saved hksanc student, rebuilt from its spec.json
                raise ValueError(
                    f"hksanc: the student already has a {fc.dim}-d descriptor head but "
                    f"desc_dim={desc_dim}"
                )
        super().__init__(student, teacher, num_classes, example_input)
        self.reduction, self.student_g_head, self.desc_dim = reduction, student_g_head, desc_dim
        self.logit_loss, self.T = logit_loss, T
        fs = feature_shapes(student, example_input)
        ft = feature_shapes(teacher, example_input)
        if len(fs.blocks) != len(ft.blocks):
            raise ValueError(
                f"hksanc: the student has {len(fs.blocks)} stages and the teacher "
                f"{len(ft.blocks)}; HKSANC pairs stages one to one, so both need the same number"
            )
        points: list[tuple[int, int]] = []  # (stage, index into that stage's points)
        self._blocks: list[tuple[int, int, int]] = []  # (stage, student block, teacher block)
        for k, (bs, bt) in enumerate(zip(fs.blocks, ft.blocks)):
            n = points_per_stage or len(bs)
            if not 1 <= n <= min(len(bs), len(bt)):
                raise ValueError(
                    f"hksanc: points_per_stage={n} but stage {k + 1} has {len(bs)} student and "
                    f"{len(bt)} teacher blocks; at most {min(len(bs), len(bt))} points fit"
                )
            for js, jt in supervision_points(len(bs), len(bt), n):
                points.append((k, len(self._blocks)))
                self._blocks.append((k, js, jt))
        w_s = [b[-1].shape[1] for b in fs.blocks]
        w_t = [b[-1].shape[1] for b in ft.blocks]
        self.transforms = nn.ModuleList(  # paper: a bare 1x1 conv lifts the student's width
            ChannelTransform(fs.blocks[k][js].shape[1], ft.blocks[k][jt].shape[1], bn=False)
            for k, js, jt in self._blocks
        )
        est_w = [ft.blocks[k][jt].shape[1] for k, _, jt in self._blocks]
        self.s_side = _Side(
            w_s, est_w, points, guide, desc_dim, use_hat, detach_hat, external_head=student_g_head
        )
        with torch.random.fork_rng():  # teacher-side parts: the same for every student seed
            torch.manual_seed(0)
            self.t_side = _Side(w_t, est_w, points, guide, desc_dim, use_hat, detach_hat)
            self.t_aux = nn.ModuleList(nn.Linear(w, num_classes) for w in est_w)
        # frozen like the teacher from the start, so that a resumed run (which skips prepare)
        # holds them exactly as an uninterrupted one does; prepare unfreezes them to fit them
        self.t_side.requires_grad_(False)
        self.t_aux.requires_grad_(False)
        self.disc = LogitDiscriminator(num_classes, d_hidden)
        self.lambda_b, self.lambda_adv, self.lambda_is = lambda_b, lambda_adv, lambda_is
        self.mu, self.class_adv, self.ce_weight = mu, class_adv, ce_weight
        self.d_opt = {"name": "adam", "lr": d_lr, "betas": tuple(d_betas), "weight_decay": 0.0}
        self.estimator_epochs, self.estimator_lr = estimator_epochs, estimator_lr
        self._config = {  # everything of the method's own that changes the fitted teacher side
            "points": self._blocks,
            "guide": guide,
            "use_hat": use_hat,
            "detach_hat": detach_hat,
            "desc_dim": desc_dim,
            "epochs": estimator_epochs,
            "lr": estimator_lr,
        }

    # ------------------------------------------------------------------ contract
    def param_groups(self):
        student = [
            *self.student.parameters(),  # with its descriptor head: it is part of the student
            *self.transforms.parameters(),
            *self.s_side.parameters(),
        ]
        return {"student": (student, None), "disc": (list(self.disc.parameters()), self.d_opt)}

    def steps(self):
        if self.lambda_adv > 0:
            return [("disc", self.disc_loss), ("student", self.student_loss)]
        return [("student", self.student_loss)]

    def student_spec(self, spec: dict) -> dict:
        """With the descriptor head, the saved student is a ``descriptor_head`` around the
        recipe's backbone (:mod:`advkt.models.descriptor`), which ``advkt eval`` rebuilds."""
        if self.student_g_head and spec.get("name") != DESCRIPTOR_HEAD:
            return descriptor_head_spec(spec, self.desc_dim)
        return spec

    def train(self, mode: bool = True):
        """The teacher-side parts stay in eval mode, like the frozen teacher they belong to."""
        super().train(mode)
        self.t_side.eval()
        self.t_aux.eval()
        return self

    # ------------------------------------------------------------------ descriptors
    def teacher_squeeze(self, tf) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """[(a^t_p, M^t_p)] per supervision point from the teacher's features ``tf``."""
        feats = [tf.blocks[k][jt].float() for k, _, jt in self._blocks]
        return self.t_side.squeeze(feats, [f.float() for f in tf.stages])

    def teacher_rows(self, t_logits, t_feats) -> dict[str, torch.Tensor] | None:
        """The squeezed teacher descriptors, all points side by side (N, Σ_p C_t): a function
        of the frozen teacher's features and the teacher side frozen after :meth:`prepare`, so
        with a teacher table the engine computes them once for every sample."""
        if self.lambda_is <= 0:
            return None
        with torch.no_grad():
            return {"a_t": torch.cat([a for a, _ in self.teacher_squeeze(t_feats)], 1)}

    def teacher_descriptors(self, batch: Batch) -> list[torch.Tensor]:
        """[a^t_p] per supervision point: the table's rows, or computed from ``batch.t_feats``."""
        if "a_t" not in batch.cache:
            batch.cache.update(self.teacher_rows(batch.t_logits, batch.t_feats))
        return batch.cache["a_t"].split([est.channels for est in self.t_side.est], 1)

    def student_descriptors(self, feats) -> list[tuple[torch.Tensor, torch.Tensor]]:
        points = [feats.blocks[k][js] for k, js, _ in self._blocks]
        # the g the student's classifier reads (recomputed from the same pooled vector)
        head = self.student.fc.descriptor(feats.pooled) if self.student_g_head else None
        # T_p (a bare 1x1 conv) is applied inside the estimator, folded: a^s_p = E(T_p(F), g)
        lifts = [tr.conv for tr in self.transforms]
        return self.s_side.squeeze(points, feats.stages, head, lifts)

    # ------------------------------------------------------------------ losses
    def _sq(self, d: torch.Tensor) -> torch.Tensor:
        """Squared norm per sample, averaged over the batch (paper: the sum over the vector's
        entries); with reduction="mean" (ours) also divided by the vector's length."""
        per = d.pow(2).sum(1) if self.reduction == "sum" else d.pow(2).mean(1)
        return per.mean()

    def judge(self, t: torch.Tensor, s: torch.Tensor):
        """D on teacher and student logits in one batch: its first batch norm then standardises
        both with the same statistics, so the difference between them stays visible (ours; the
        paper does not say). Returns ((adv_t, adv_s), (cls_t, cls_s))."""
        adv, cls = self.disc(torch.cat([t, s]))
        n = t.shape[0]
        return (adv[:n], adv[n:]), (cls[:n], cls[n:])

    def disc_loss(self, batch: Batch) -> dict:
        s = self.student_forward(batch, features=True)[0].detach().float()
        (real, fake), (real_cls, fake_cls) = self.judge(batch.t_logits.float(), s)
        adv = d_loss(real, fake, "gan")
        out = {"adv": adv}
        loss = adv
        if self.mu > 0:
            if self.reduction == "sum":  # paper: |w_D| + ||w_D||^2, sums over D's weights
                pen = weight_penalty(self.disc, 1.0, 1.0)
            else:  # ours: means, so that mu does not scale with D's size
                n = sum(p.numel() for p in self.disc.parameters() if p.ndim >= 2)
                pen = weight_penalty(self.disc, 1.0 / n, 1.0 / n)
            reg = self.mu * (pen + g_loss(fake, "gan"))
            out["reg"], loss = reg, loss + reg
        if self.class_adv:
            cls = labelled_ce(real_cls, batch.y) + labelled_ce(fake_cls, batch.y)
            out["cls"], loss = cls, loss + cls
        out["loss"] = loss
        return out

    def student_loss(self, batch: Batch) -> dict:
        s, feats = self.student_forward(batch, features=True)
        t = batch.t_logits.float()
        s32 = s.float()
        out = {}
        loss = s32.new_zeros(())
        if self.lambda_b > 0:
            out["b"] = self._sq(s32 - t) if self.logit_loss == "mse" else kd_loss(s32, t, self.T)
            loss = loss + self.lambda_b * out["b"]
        if self.lambda_adv > 0:
            self.disc.requires_grad_(False)  # the student step needs no gradient for D
            (_, fake), (_, fake_cls) = self.judge(t, s32)
            self.disc.requires_grad_(True)
            adv = g_loss(fake, "gan")
            if self.class_adv:
                adv = adv + labelled_ce(fake_cls, batch.y)
            out["adv"], loss = adv, loss + self.lambda_adv * adv
        if self.lambda_is > 0:
            a_t = self.teacher_descriptors(batch)
            a_s = self.student_descriptors(feats)
            l_is = sum(self._sq(xs.float() - xt) for (xs, _), xt in zip(a_s, a_t))
            out["is"], loss = l_is, loss + self.lambda_is * l_is
        if self.ce_weight > 0:
            out["ce"] = labelled_ce(s, batch.y)
            loss = loss + self.ce_weight * out["ce"]
        out["loss"] = loss
        return out

    # ------------------------------------------------------------------ teacher-side estimators
    def teacher_key(self, stream: dict | None = None) -> str:
        """The cache key of the fitted teacher-side parts: the teacher (its spec and weights),
        the parts' configuration and the batches they are fitted on (``stream``, from the
        engine). The fit reads no label, so the labelled fraction is left out (semi-supervised
        runs share the fit) unless the inputs are attacks, which do read the labels."""
        stream = dict(stream or {})
        if not stream.get("adversarial"):
            stream.pop("labelled_fraction", None)
        blob = {"config": self._config, "teacher": getattr(self.teacher, "spec", None)}
        key = hashlib.sha256(json.dumps({**blob, "stream": stream}, sort_keys=True).encode())
        for name, v in self.teacher.state_dict().items():
            key.update(name.encode())
            key.update(v.detach().cpu().contiguous().numpy().tobytes())
        return key.hexdigest()[:20]

    def prepare(
        self, epoch_batches: Callable[[int], Iterable[Batch]], stream: dict | None = None
    ) -> None:
        """Fit the teacher's descriptors and estimators on the frozen teacher (ours), cached under
        :meth:`teacher_key`: an auxiliary linear classifier on each squeezed descriptor is
        trained to predict the teacher's own class (its arg-max), so no label is needed. The
        engine's batches here are the same for every seed, so every seed shares one fit."""
        from advkt.data.cache import cached_tensors

        if self.lambda_is <= 0:
            return
        parts = nn.ModuleDict({"side": self.t_side, "aux": self.t_aux})

        def fit() -> dict[str, torch.Tensor]:
            opt = torch.optim.Adam(parts.parameters(), lr=self.estimator_lr)
            parts.requires_grad_(True).train()
            try:
                for e in range(self.estimator_epochs):
                    for batch in epoch_batches(-1 - e):
                        tf, target = batch.t_feats, batch.t_logits.argmax(1)
                        feats = [tf.blocks[k][jt].float() for k, _, jt in self._blocks]
                        a = self.t_side.squeeze(feats, [f.float() for f in tf.stages])
                        loss = sum(
                            nn.functional.cross_entropy(head(x), target)
                            for head, (x, _) in zip(self.t_aux, a)
                        )
                        opt.zero_grad(set_to_none=True)
                        loss.backward()
                        if dist.is_distributed():  # every rank fits the same estimators
                            dist.average_gradients(list(parts.parameters()))
                        opt.step()
            finally:
                parts.requires_grad_(False).eval()
            return {k: v.detach().cpu() for k, v in parts.state_dict().items()}

        state = cached_tensors("hksanc-teacher", self.teacher_key(stream), fit)
        device = next(self.parameters()).device
        parts.load_state_dict({k: v.to(device) for k, v in state.items()})
        if dist.is_distributed():
            dist.broadcast_module(parts)
        parts.eval().requires_grad_(False)

    @torch.no_grad()
    def attention_maps(self, x: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """[(M_teacher, M_student)] per supervision point for inputs x, each (N, *S_teacher)."""
        with eval_mode(self):
            _, tf = self.teacher(x, features=True)
            _, sf = self.student(x, features=True)
            a_t = self.teacher_squeeze(tf)
            a_s = self.student_descriptors(sf)
        return [(mt, ms) for (_, mt), (_, ms) in zip(a_t, a_s)]
