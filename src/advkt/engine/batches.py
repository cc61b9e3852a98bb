"""One epoch's training batches, and what they are built from: the order, the shard, the
augmentation, the attack and the teacher's outputs (run on each batch, or read from a
:class:`TeacherTable` computed once). ``prepare_stream`` describes the batches a method's
``prepare`` reads, for a cache key."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any

import torch
from torch import nn

from advkt.attacks import attack_batch
from advkt.data.augment import augment_batch, to_float
from advkt.data.base import TensorData
from advkt.engine.splits import labelled_targets
from advkt.methods.base import Batch, Method
from advkt.models import Features
from advkt.recipe import Recipe, RecipeError
from advkt.reid.sampler import identity_batches


class TeacherTable:
    """The frozen teacher's outputs on every training sample, computed once.

    Without augmentation and without an attack a training sample is the same tensor every epoch,
    so the teacher's logits (and features) on it are too: a distiller's step then reads them by
    sample index instead of running the teacher (``train.cache_teacher``; on by default). A
    method whose steps read the features only through per-sample rows of its own
    (:meth:`~advkt.methods.base.Method.teacher_rows`) gets those rows instead (:meth:`with_rows`).
    """

    def __init__(
        self,
        logits: torch.Tensor,
        feats: Features | None,
        rows: dict[str, torch.Tensor] | None = None,
    ) -> None:
        self.logits, self.feats, self.rows = logits, feats, rows or {}

    def __call__(
        self, idx: torch.Tensor
    ) -> tuple[torch.Tensor, Features | None, dict[str, torch.Tensor]]:
        """The logits, features (None if the table holds none) and rows of samples ``idx``."""
        rows = {k: v[idx] for k, v in self.rows.items()}
        f = self.feats
        if f is None:
            return self.logits[idx], None, rows
        blocks = [[b[idx] for b in stage] for stage in f.blocks]
        return self.logits[idx], Features(f.stem[idx], blocks, f.pooled[idx]), rows

    def with_rows(self, method: Method, batch_size: int) -> TeacherTable:
        """The table with ``method.teacher_rows`` of every sample in place of the features, or
        this table where the method has none (call it after the method's ``prepare``: the rows
        may read parts fitted there)."""
        if self.feats is None:
            return self
        parts = []
        for i in range(0, len(self.logits), batch_size):
            idx = torch.arange(i, min(i + batch_size, len(self.logits)), device=self.logits.device)
            logits, feats, _ = self(idx)
            with torch.no_grad():
                out = method.teacher_rows(logits, feats)
            if out is None:
                return self
            parts.append(out)
        rows = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
        return TeacherTable(self.logits, None, rows)

    @classmethod
    def build(
        cls,
        teacher: nn.Module,
        data: TensorData,
        features: bool,
        autocast,
        batch_size: int,
        max_bytes: int = 2**30,
    ) -> TeacherTable | None:
        """Run ``teacher`` over ``data`` (on its device); None if the outputs exceed
        ``max_bytes`` (the step then runs the teacher on each batch)."""
        parts: list[tuple] = []
        with torch.no_grad():
            for i in range(0, len(data), batch_size):
                x = to_float(data.x[i : i + batch_size], data.mean, data.std)
                with autocast():
                    out = teacher(x, features=True) if features else (teacher(x), None)
                parts.append(out)
                if i == 0:
                    tensors = [out[0]] + (_feature_tensors(out[1]) if features else [])
                    per_sample = sum(t.element_size() * t[0].numel() for t in tensors)
                    if per_sample * len(data) > max_bytes:
                        return None
        logits = torch.cat([p[0] for p in parts])
        if not features:
            return cls(logits, None)
        fs = [p[1] for p in parts]
        blocks = [
            [torch.cat([f.blocks[k][j] for f in fs]) for j in range(len(fs[0].blocks[k]))]
            for k in range(len(fs[0].blocks))
        ]
        stem = torch.cat([f.stem for f in fs])
        return cls(logits, Features(stem, blocks, torch.cat([f.pooled for f in fs])))


def _feature_tensors(f: Features) -> list[torch.Tensor]:
    return [f.stem, f.pooled, *(b for stage in f.blocks for b in stage)]


# domain adaptation: a batch's shares of source, labelled target and unlabelled target samples
# (MME's loaders: B source + B labelled target + 2B unlabelled target a step)
DOMAIN_SHARES = (0.25, 0.25, 0.5)


def domain_order(
    domain: torch.Tensor, y: torch.Tensor, batch_size: int, gen: torch.Generator
) -> tuple[torch.Tensor, int]:
    """Indices of one epoch in batch-sized blocks, each block holding :data:`DOMAIN_SHARES` of
    source, labelled target and unlabelled target samples (each group reshuffled as it runs
    out); an epoch passes over the source once. Returns (order, steps)."""
    groups = [
        ((domain == 0) & (y >= 0)).nonzero().flatten(),
        ((domain == 1) & (y >= 0)).nonzero().flatten(),
        ((domain == 1) & (y < 0)).nonzero().flatten(),
    ]
    sizes = [round(s * batch_size) for s in DOMAIN_SHARES]
    sizes[0] += batch_size - sum(sizes)
    sizes = [k if len(g) else 0 for k, g in zip(sizes, groups)]  # e.g. no unlabelled target
    sizes[0] += batch_size - sum(sizes)
    if not len(groups[0]):
        raise ValueError("domain adaptation data without labelled source samples")
    steps = max(1, len(groups[0]) // sizes[0])
    streams = []
    for g, k in zip(groups, sizes):
        if k == 0:  # an empty group (no target shots in unsupervised adaptation)
            streams.append(g.new_zeros(steps, 0))
            continue
        reps = -(-steps * k // len(g))
        idx = torch.cat([g[torch.randperm(len(g), generator=gen)] for _ in range(reps)])
        streams.append(idx[: steps * k].view(steps, k))
    return torch.cat(streams, dim=1).flatten(), steps


def epoch_batches(
    method: Method,
    teacher: nn.Module | None,
    data: TensorData,
    y_train: torch.Tensor,
    recipe: Recipe,
    epoch: int,
    device: torch.device,
    autocast=nullcontext,
    rank: int = 0,
    world: int = 1,
    table: TeacherTable | None = None,
) -> EpochBatches:
    """One epoch of training batches: shuffled, sharded by rank, augmented, teacher outputs added
    (read from ``table`` where one was built); ``len()`` is the number of steps the epoch has
    (the schedule and the finite checks count them: with domain or identity batches it is not
    the split's size over the batch size).

    The order and the augmentation depend on (seed, epoch, rank) only, so a resumed run sees the
    same batches as an uninterrupted one. ``data`` already lives on ``device``.
    """
    t = recipe.train
    gen = torch.Generator().manual_seed(recipe.seed * 100_003 + epoch)
    if t.images_per_identity:  # P identities x K images a batch (re-ID's triplet loss)
        k = t.images_per_identity
        if t.batch_size % k:
            raise RecipeError(
                f"train.batch_size {t.batch_size} is not a multiple of "
                f"train.images_per_identity {k}"
            )
        groups = identity_batches(y_train.cpu(), t.batch_size // k, k, generator=gen)
        order, steps_per_epoch = torch.cat(groups), len(groups)
    elif data.domain is None:
        order = torch.randperm(len(data), generator=gen)
        steps_per_epoch = max(1, len(data) // t.batch_size)
    else:
        order, steps_per_epoch = domain_order(data.domain.cpu(), y_train.cpu(), t.batch_size, gen)
    order = order.to(data.x.device)
    batches = _batches(method, teacher, data, y_train, recipe, epoch, device, autocast, rank,
                       world, table, order, steps_per_epoch)  # fmt: skip
    return EpochBatches(steps_per_epoch, batches)


class EpochBatches:
    """An epoch's batches: iterate them once; ``len()`` is how many there are."""

    def __init__(self, steps: int, batches: Iterator[Batch]) -> None:
        self.steps, self._batches = steps, batches

    def __len__(self) -> int:
        return self.steps

    def __iter__(self) -> Iterator[Batch]:
        return self._batches


def _batches(method, teacher, data, y_train, recipe, epoch, device, autocast, rank, world, table,
             order, steps_per_epoch) -> Iterator[Batch]:  # fmt: skip
    t = recipe.train
    local = t.batch_size // world
    aug_gen = torch.Generator(device=device).manual_seed(recipe.seed * 100_003 + epoch * 17 + rank)
    aug = recipe.data.augment if recipe.data.augment is not None else data.augment
    for i in range(steps_per_epoch):
        idx = order[i * t.batch_size : (i + 1) * t.batch_size][rank::world][:local]
        x = data.x[idx]
        if aug:
            x = augment_batch(x, aug, generator=aug_gen)
        y = y_train[idx]
        if t.adversarial is not None:
            x = attack_batch(method.student, x, y, data, t.adversarial, epoch + i / steps_per_epoch)
        else:
            x = to_float(x, data.mean, data.std)
        batch = Batch(x=x, y=y, epoch=epoch + i / steps_per_epoch)
        if data.domain is not None:
            batch.domain = data.domain[idx]
        if table is not None and method.teacher_on_batch:
            batch.t_logits, feats, rows = table(idx)
            if method.teacher_features:
                batch.t_feats = feats
            batch.cache.update(rows)
        elif teacher is not None and method.teacher_on_batch:
            with torch.no_grad(), autocast():
                if method.teacher_features:
                    batch.t_logits, batch.t_feats = teacher(x, features=True)
                else:
                    batch.t_logits = teacher(x)
        yield batch


def prepare_stream(
    recipe: Recipe,
    data: TensorData,
    world: int,
    device: torch.device,
    table: TeacherTable | None,
) -> tuple[Recipe, torch.Tensor, dict[str, Any]]:
    """What a method's ``prepare`` reads: ``(recipe, labels, stream)`` for :func:`epoch_batches`
    over the training split ``data`` (already on ``device``), and ``stream``, a JSON-ready
    description of everything those batches depend on (a cache key for what is fitted on them).

    The batches are seed 0's (order, augmentation, labelled subset) whatever the run's seed, so
    what a method fits before training belongs to the teacher and the data, not to the
    student's seed. With ``train.adversarial`` the inputs are attacks on the (initial) student,
    so there the run's seed and student stay, and the stream names them.
    """
    t, d = recipe.train, recipe.data
    attacked = t.adversarial is not None
    prep = recipe if attacked else recipe.model_copy(update={"seed": 0})
    y = labelled_targets(data.y, d.labelled_fraction, data.num_classes, prep.seed).to(device)
    flat = data.x.reshape(-1)
    sample = flat[:: max(1, flat.numel() // 2**20)]  # about a million values, evenly spaced
    content = hashlib.sha256(data.y.cpu().numpy().tobytes())
    content.update(sample.cpu().contiguous().numpy().tobytes())
    aug = d.augment if d.augment is not None else data.augment
    stream = {
        "dataset": d.dataset,
        "args": d.args,
        "split": "train",
        "validation": d.validation,  # the hold-out is cut before the budget subset
        "train_subset": d.train_subset,  # (the test split never reaches prepare)
        "samples": len(data),
        "input": [list(data.x.shape[1:]), str(data.x.dtype), list(data.mean), list(data.std)],
        "content": content.hexdigest()[:20],
        "labelled_fraction": d.labelled_fraction,
        "augment": aug,
        "batch_size": t.batch_size,
        "world_size": world,
        "seed": prep.seed,
        "adversarial": t.adversarial.model_dump() if attacked else None,
        "student": recipe.student.model_dump() if attacked else None,
        "amp": t.amp,
        "device": device.type,
        "teacher_table": table is not None,  # batched differently: last-bit differences
        "eval_batch_size": t.eval_batch_size if table is not None else None,
    }
    return prep, y, stream
