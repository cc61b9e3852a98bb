"""The method contract: a method owns the mathematics, the engine owns the loop.

A method is an ``nn.Module`` holding the student and its own trainable parts (discriminators,
adapters, estimators). The frozen teacher is held beside it, not inside it, so the method's
``state_dict`` and ``parameters()`` never include the teacher. A method declares

- ``param_groups()``: named parameter groups, one optimiser each, optionally with their own
  optimiser settings (``None`` = the recipe's ``train.optimizer`` and its schedule);
- ``steps()``: the ordered update of one batch, e.g. ``[("disc", self.disc_loss),
  ("student", self.student_loss)]``; each step's name is the group it optimises, and each step
  returns a dict whose ``loss`` is minimised and whose other entries are logged.

The engine runs the teacher once per batch (with features when ``teacher_features`` is set) and
hands every step the same :class:`Batch`. ``Batch.cache`` lets the steps of one batch share work,
e.g. one student forward used by both the discriminator step (detached) and the student step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from advkt.losses.domain import entropy
from advkt.models.base import Features
from advkt.nn.cosine import CosineClassifier
from advkt.nn.modes import eval_mode

StepFn = Callable[["Batch"], dict[str, torch.Tensor]]


@dataclass
class Batch:
    x: torch.Tensor  # normalised (and augmented) inputs
    y: torch.Tensor  # int64 labels, -1 where the sample is unlabelled
    t_logits: torch.Tensor | None = None
    t_feats: Features | None = None
    epoch: float = 0.0  # fractional epoch, for schedules inside a loss (e.g. DKD's warm-up)
    domain: torch.Tensor | None = None  # domain adaptation: 0 source, 1 target, per sample
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def labelled(self) -> torch.Tensor:
        return self.y >= 0


def labelled_ce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the labelled samples only (y = -1 marks unlabelled); 0 if none are."""
    total = F.cross_entropy(logits.float(), y, ignore_index=-1, reduction="sum")
    return total / (y >= 0).sum().clamp(min=1)


def unlabelled_target(batch: Batch) -> torch.Tensor:
    """Bool (N,): the batch's unlabelled target rows (domain adaptation); none without domains."""
    if batch.domain is None:
        return torch.zeros_like(batch.y, dtype=torch.bool)
    return (batch.domain == 1) & (batch.y < 0)


def labelled_rows_ce(student: nn.Module, batch: Batch) -> torch.Tensor:
    """CE of ``student`` on the batch's labelled rows only (source and target shots in domain
    adaptation): the unlabelled rows are not run."""
    lab = batch.y >= 0
    return labelled_ce(student(batch.x[lab]), batch.y[lab])


def minimax_entropy(student: nn.Module, batch: Batch, lam: float) -> dict[str, torch.Tensor]:
    """MME's second step: −λ H(C(GRL(F(x_u)))) on the unlabelled target rows, with a fresh
    forward pass; C maximises the entropy, F (through the reversal) minimises it."""
    _, feats = student(batch.x[unlabelled_target(batch)], features=True)
    h = entropy(student.fc(feats.pooled, reverse=True))
    return {"loss": -lam * h, "entropy": h.detach()}


def cosine_classifier(student: nn.Module, method: str) -> nn.Module:
    """The student's cosine classifier, or a one-line error naming the model that has one."""
    fc = getattr(student, "fc", None)
    if not isinstance(fc, CosineClassifier):
        raise ValueError(
            f"method '{method}' needs a student with a cosine classifier: model 'cosine_head' "
            "with the backbone in its args (e.g. {backbone: {name: mlp, ...}})"
        )
    return fc


def supervision_points(blocks_s: int, blocks_t: int, k: int) -> list[tuple[int, int]]:
    """``k`` evenly spaced (student block, teacher block) pairs of one stage, ending at its last
    block; e.g. 3 student and 18 teacher blocks -> [(0, 5), (1, 11), (2, 17)]."""
    return [
        (round((i + 1) * blocks_s / k) - 1, round((i + 1) * blocks_t / k) - 1) for i in range(k)
    ]


class Method(nn.Module):
    uses_teacher: bool = True
    teacher_features: bool = False  # run the teacher with features=True
    teacher_on_batch: bool = True  # False: the method calls self.teacher itself (e.g. on x')

    def __init__(
        self,
        student: nn.Module,
        teacher: nn.Module | None,
        num_classes: int,
        example_input: torch.Tensor,
    ) -> None:
        super().__init__()
        self.student = student
        object.__setattr__(self, "teacher", teacher)  # not a submodule: frozen and not saved
        self.num_classes = num_classes
        if self.uses_teacher and teacher is None:
            raise ValueError(
                f"method '{type(self).__name__}' needs a teacher (recipe key 'teacher')"
            )

    def param_groups(self) -> dict[str, tuple[list[nn.Parameter], dict | None]]:
        return {"student": (list(self.parameters()), None)}

    def steps(self) -> list[tuple[str, StepFn]]:
        return [("student", self.student_loss)]

    def student_loss(self, batch: Batch) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def prepare(
        self, epoch_batches: Callable[[int], Iterable[Batch]], stream: dict | None = None
    ) -> None:
        """Called once before training (not on resume): ``epoch_batches(e)`` iterates epoch ``e``
        of the training batches with the teacher's outputs, for a method that must fit something
        before the main loop (HKSANC's teacher-side estimators). ``stream`` (JSON-ready) names
        everything those batches depend on (data set, split sizes, batch size, ...), for a
        method that caches what it fits; the engine's stream is the same for every seed. On
        resume the fitted parts come back from the checkpoint, so anything that must hold
        during training (frozen parts) belongs in ``__init__`` or ``train``, not here."""

    def teacher_rows(
        self, t_logits: torch.Tensor, t_feats: Features
    ) -> dict[str, torch.Tensor] | None:
        """Per-sample tensors a step derives from the frozen teacher's outputs alone (and from
        parts that stay frozen after ``prepare``), for a method whose steps read ``t_feats``
        only through them, e.g. HKSANC's squeezed teacher descriptors. With a teacher table
        (:class:`advkt.engine.batches.TeacherTable`) the engine computes them once for every
        training sample and puts each batch's rows in ``batch.cache`` under their names, with
        ``batch.t_feats`` left None; without one the method calls this on each batch itself.
        None (the default): the steps read ``batch.t_feats``."""
        return None

    def student_spec(self, spec: dict) -> dict:
        """The architecture spec saved beside the student's weights (``spec.json``), given the
        recipe's student ``spec``: unchanged unless the method changes the student's network
        (HKSANC's descriptor head), so that ``advkt eval`` rebuilds what was trained."""
        return spec

    def after_step(self, name: str, lr: float) -> None:
        """Called after the optimiser step of group ``name``, with the learning rate it used
        (e.g. a proximal operator with threshold lr·λ)."""

    def student_forward(self, batch: Batch, features: bool = False):
        """The student's output for this batch, computed once and shared by the steps."""
        key = "student_feats" if features else "student_logits"
        if key not in batch.cache:
            batch.cache[key] = (
                self.student(batch.x, features=features) if features else (self.student(batch.x))
            )
        return batch.cache[key]


@torch.no_grad()
def feature_shapes(model: nn.Module, example_input: torch.Tensor) -> Features:
    """Run ``model`` once on ``example_input`` to read its feature shapes (eval mode kept)."""
    with eval_mode(model):
        _, feats = model(example_input, features=True)
    return feats
