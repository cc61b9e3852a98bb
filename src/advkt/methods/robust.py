"""Robust compression by proximal gradient (Lee & Lee, Applied Sciences 2021;
robust_compression.md).

The student f_W is trained on adversarial examples x' (PGD on the student, Madry et al. 2018: the
recipe's ``train.adversarial`` switch; with it set, the engine also runs the teacher on x') with

    L(W) = (1 − α)·CE(f_W(x'), y) + α·T²·KL(softmax(z_T(x')/T) ‖ softmax(z_W(x')/T)) + λ·R(W)

where the teacher is an adversarially trained dense network. The non-smooth R is handled by a
proximal step after each optimiser step of learning rate η (threshold t = η·λ):

- ``kind="l1"`` (unstructured), R = ‖W‖₁ over conv/linear weights:
  w ← sign(w)·max(|w| − t, 0);
- ``kind="group"`` (structured), R = Σ_g ‖w_g‖₂ over the output filters g of each removable
  convolution: w_g ← w_g·max(0, 1 − t/‖w_g‖₂).

The student may start from the teacher's weights (``init="teacher"``: prune the trained dense
network, as both papers do). Schedule (``Batch.epoch`` fractional): proximal phase for epochs
[0, ``prune_epoch``); at ``prune_epoch`` a hard threshold to the target compression ``rate``
(global or per-layer magnitude for l1, smallest-norm filters for group; without a rate, the zeros
the proximal phase produced); then masked fine-tuning to the end: the masks are re-applied after
every optimiser step. The masks are buffers of this module, so checkpoints and ``--resume`` carry
them.

α = 0 (no teacher needed) and λ = 0 give the peer "adversarial training + magnitude pruning +
masked adversarial fine-tuning".
"""

from __future__ import annotations

import torch

from advkt.methods.base import Batch
from advkt.methods.masked_pruning import MaskedPruning
from advkt.pruning import apply_proximal
from advkt.registry import register_method


@register_method("robust")
class Robust(MaskedPruning):
    """Adversarial distillation with proximal ℓ1 / group-lasso pruning (module docstring).

    Args (``method.args``): alpha α (KD weight; 0 = no teacher), T, lam λ, kind "l1" | "group",
    prune_epoch (end of the proximal phase; None = never hard prune), rate (target compression
    rate at prune_epoch; None = keep the zeros of the proximal phase), scope "global" | "layer"
    (magnitude ranking for the l1 hard threshold), init "teacher" | None (start from the
    teacher's weights).
    """

    def __init__(
        self,
        student,
        teacher,
        num_classes,
        example_input,
        alpha: float = 0.9,
        T: float = 4.0,
        lam: float = 0.0,
        kind: str = "l1",
        prune_epoch: float | None = None,
        rate: float | None = None,
        scope: str = "global",
        init: str | None = None,
    ) -> None:
        super().__init__(
            student, teacher, num_classes, example_input, prune_epoch, rate, kind, scope, init
        )
        if not 0 <= alpha <= 1:
            raise ValueError(f"method.args.alpha must be in [0, 1], got {alpha}")
        if lam < 0:
            raise ValueError(f"method.args.lam must be >= 0, got {lam}")
        if alpha > 0 and teacher is None:
            raise ValueError("method 'robust' with alpha > 0 needs a teacher (recipe 'teacher')")
        self.alpha, self.T, self.lam = alpha, T, lam
        self.teacher_on_batch = alpha > 0  # a teacher held only for init costs no forward

    def student_loss(self, batch: Batch) -> dict[str, torch.Tensor]:
        return self.distill_loss(batch, self.alpha, self.T)

    def before_prune(self, name: str, lr: float) -> None:
        if self.lam > 0:
            apply_proximal(self.student, lr, self.lam, self.kind, self.groups)
