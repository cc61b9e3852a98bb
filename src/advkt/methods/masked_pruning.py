"""The schedule that ``robust`` and ``admm`` share: train, hard prune at ``prune_epoch`` to the
target ``rate``, then fine-tune with the masks re-applied after every optimiser step. The masks
are buffers of the method, so checkpoints and ``--resume`` carry them; the loss on x' is
(1 − α)·CE + α·T²·KL to the teacher (:meth:`MaskedPruning.distill_loss`).
"""

from __future__ import annotations

import torch
from torch import nn

from advkt.losses.kd import kd_loss
from advkt.methods.base import Batch, Method, labelled_ce
from advkt.pruning import apply_masks, channel_groups, filter_masks, magnitude_masks

KINDS = ("l1", "group")
SCOPES = ("global", "layer")


def buffer_name(name: str) -> str:
    """A parameter name as a buffer name (buffer names may not hold dots)."""
    return name.replace(".", "__")


class MaskedPruning(Method):
    """Shared schedule: hard prune at ``prune_epoch`` to ``rate``, then keep the masks applied.

    Subclasses supply the loss and what happens before the prune (:meth:`before_prune`).
    """

    uses_teacher = False

    def __init__(
        self,
        student: nn.Module,
        teacher: nn.Module | None,
        num_classes: int,
        example_input: torch.Tensor,
        prune_epoch: float | None = None,
        rate: float | None = None,
        kind: str = "l1",
        scope: str = "global",
        init: str | None = None,
    ) -> None:
        super().__init__(student, teacher, num_classes, example_input)
        if init not in (None, "teacher"):
            raise ValueError(f"method.args.init must be 'teacher' or null, got '{init}'")
        if init == "teacher":
            if teacher is None:
                raise ValueError("method.args.init='teacher' needs a teacher (recipe 'teacher')")
            try:
                student.load_state_dict(teacher.state_dict())
            except RuntimeError as err:
                raise ValueError(
                    f"method.args.init='teacher' needs the student's architecture: {err}"
                ) from None
        if kind not in KINDS:
            raise ValueError(f"method.args.kind must be one of {', '.join(KINDS)}, got '{kind}'")
        if scope not in SCOPES:
            raise ValueError(f"method.args.scope must be one of {', '.join(SCOPES)}, got '{scope}'")
        if rate is not None and not rate >= 1:
            raise ValueError(f"method.args.rate (compression rate) must be >= 1, got {rate}")
        if prune_epoch is not None and prune_epoch < 0:
            raise ValueError(f"method.args.prune_epoch must be >= 0, got {prune_epoch}")
        if rate is not None and prune_epoch is None:
            raise ValueError("method.args.rate needs method.args.prune_epoch (when to prune)")
        self.prune_epoch, self.rate, self.kind, self.scope = prune_epoch, rate, kind, scope
        # the removable channel groups, traced once on the example input (structured pruning)
        self.groups = channel_groups(student, example_input) if kind == "group" else []
        self.masks = nn.Module()
        for name, p in student.named_parameters():
            self.masks.register_buffer(buffer_name(name), torch.ones_like(p, dtype=torch.bool))
        self.register_buffer("pruned", torch.zeros((), dtype=torch.bool))
        self._epoch = 0.0

    def mask_dict(self) -> dict[str, torch.Tensor]:
        names = [name for name, _ in self.student.named_parameters()]
        return {name: getattr(self.masks, buffer_name(name)) for name in names}

    def _in_finetune(self) -> bool:
        return self.prune_epoch is not None and self._epoch >= self.prune_epoch

    @torch.no_grad()
    def hard_prune(self) -> None:
        """Fix the masks (target rate, or the current zeros) and zero the pruned weights."""
        if self.kind == "group":
            s = None if self.rate is None else 1 - 1 / self.rate
            new = filter_masks(self.student, self.groups, sparsity=s)
        elif self.rate is not None:
            new = magnitude_masks(self.student, rate=self.rate, scope=self.scope)
        else:
            new = {n: p != 0 for n, p in self.student.named_parameters() if p.dim() > 1}
        for name, m in new.items():
            getattr(self.masks, buffer_name(name)).copy_(m)
        self.pruned.fill_(True)
        apply_masks(self.student, self.mask_dict())

    def before_prune(self, name: str, lr: float) -> None:
        """The update after an optimiser step during the first phase (proximal step, ADMM, ...)."""

    def after_step(self, name: str, lr: float) -> None:
        if name != "student":
            return
        if self._in_finetune():
            if not bool(self.pruned):
                self.hard_prune()
            else:
                apply_masks(self.student, self.mask_dict())
        else:
            self.before_prune(name, lr)

    def distill_loss(self, batch: Batch, alpha: float, T: float) -> dict[str, torch.Tensor]:
        """(1 − α)·CE(s, y) + α·T²·KL(t ‖ s) on the batch (x' under ``train.adversarial``)."""
        self._epoch = batch.epoch
        s = self.student_forward(batch)
        ce = labelled_ce(s, batch.y)
        out = {"ce": ce}
        loss = ce
        if alpha > 0:
            kd = kd_loss(s.float(), batch.t_logits.float(), T)
            loss = (1 - alpha) * ce + alpha * kd
            out["kd"] = kd
        return {"loss": loss, **out}
