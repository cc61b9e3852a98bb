"""A training run's parts, and ``setup``, which builds them from a recipe (or from a run folder
to resume) in the order that keeps a run reproducible: data, teacher, the seeded student, the
method, optimisers, the run folder, the teacher table, then the checkpoint's state on resume or
the method's own preparation on a fresh run."""

from __future__ import annotations

import inspect
import json
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from advkt import distributed as dist
from advkt.data.augment import to_float
from advkt.data.base import TensorData
from advkt.engine import checkpoint as ckpt
from advkt.engine.batches import TeacherTable, epoch_batches, prepare_stream
from advkt.engine.optim import build_optimizers
from advkt.engine.precision import autocast_for
from advkt.engine.splits import Data, labelled_targets, load_splits
from advkt.engine.teacher import build_teacher, model_spec
from advkt.methods.base import Method
from advkt.models import build_model
from advkt.recipe import Recipe, RecipeError, recipe_from_json, save_recipe
from advkt.registry import METHODS


@dataclass
class Run:
    """A run between epochs: what :func:`setup` builds and ``advkt.engine.trainer.train_epoch``
    advances (a bare epoch outside ``train``, as in the benchmarks, builds one by keyword)."""

    recipe: Recipe
    method: Method
    teacher: nn.Module | None
    data: Data  # data.train (and y_train) on ``device``
    y_train: torch.Tensor  # the training labels the run reads; -1: unlabelled
    optims: dict[str, torch.optim.Optimizer]  # one per parameter group of the method
    scheduled: dict[str, bool]  # whether each follows the LR schedule
    base_lrs: dict[str, list[float]]  # each one's LRs as built, which the schedule multiplies
    device: torch.device
    autocast: Callable[[], AbstractContextManager] = nullcontext
    scaler: torch.amp.GradScaler | None = None  # fp16 only
    table: TeacherTable | None = None  # the teacher's outputs on data.train, computed once
    rank: int = 0
    world: int = 1
    quiet: bool = False
    run_dir: Path | None = None
    spec: dict | None = None  # the student's spec.json
    # progress (from the checkpoint on resume): epochs done, the best validation accuracy and
    # its epoch (-1: none yet), training time in seconds
    epoch: int = 0
    best: float = -1.0
    best_epoch: int = -1
    wall: float = 0.0
    best_pgd: float = -1.0  # single-step adversarial training: the best epoch's train PGD acc


def bare_run(
    recipe: Recipe,
    method: Method,
    teacher: nn.Module | None,
    data: Data,
    device: torch.device,
    y_train: torch.Tensor | None = None,
) -> Run:
    """A :class:`Run` around an already built method, its optimisers built from ``recipe``: for
    timing epochs outside :func:`setup` (no run folder, no teacher table, no preparation)."""
    optims, scheduled = build_optimizers(method, recipe)
    return Run(
        recipe=recipe,
        method=method,
        teacher=teacher,
        data=data,
        y_train=data.train.y if y_train is None else y_train,
        optims=optims,
        scheduled=scheduled,
        base_lrs=base_lrs(optims),
        device=device,
        quiet=True,
    )


def base_lrs(optims: dict[str, torch.optim.Optimizer]) -> dict[str, list[float]]:
    """Each optimiser's LRs as built, which the schedule multiplies."""
    return {k: [g["lr"] for g in o.param_groups] for k, o in optims.items()}


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def build_method(
    recipe: Recipe,
    student: nn.Module,
    teacher: nn.Module | None,
    data: TensorData,
    device: torch.device,
) -> Method:
    cls = METHODS.get(recipe.method.name)
    sig = inspect.signature(cls.__init__)
    fixed = {"self", "student", "teacher", "num_classes", "example_input"}
    valid = [p for p in sig.parameters if p not in fixed]
    for key in recipe.method.args:
        if key not in valid:
            raise RecipeError(
                f"unknown argument 'method.args.{key}' for method '{recipe.method.name}'; "
                f"valid: {', '.join(valid) or '(none)'}"
            )
    example = to_float(data.x[:2], data.mean, data.std).to(device)
    return cls(
        student, teacher, num_classes=data.num_classes, example_input=example, **recipe.method.args
    )


def new_run_dir(recipe: Recipe) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(recipe.out) / f"{recipe.name or recipe.method.name}-s{recipe.seed}-{stamp}"


def setup(
    recipe: Recipe | None,
    run_dir: str | Path | None = None,
    resume: str | Path | None = None,
    quiet: bool = False,
) -> Run:
    """Everything before the first epoch of ``recipe`` in ``run_dir`` (or of the run at
    ``resume``, whose recipe and checkpoint it reads); rank 0 has written the run folder's
    ``recipe.json``."""
    if resume is not None:
        run_dir = Path(resume)
        recipe = recipe_from_json(run_dir / "recipe.json")
        if not ckpt.has_checkpoint(run_dir):  # killed before its first checkpoint
            print(f"advkt: {run_dir} has no checkpoint yet: starting it again", file=sys.stderr)
            resume = None
    device = pick_device(recipe.train.device)
    rank, world = dist.init_from_env(device.type)
    if recipe.train.batch_size % world:
        raise RecipeError(
            f"train.batch_size {recipe.train.batch_size} is not divisible by the {world} processes"
        )
    run_dir = Path(run_dir) if run_dir is not None else new_run_dir(recipe)

    torch.manual_seed(recipe.seed)
    data = load_splits(recipe)
    teacher = build_teacher(recipe, data.train)
    torch.manual_seed(recipe.seed)  # the student's init must not depend on the teacher's path
    spec = model_spec(recipe.student, data.train)
    student = build_model(spec)
    if teacher is not None:
        teacher.to(device)
    method = build_method(recipe, student, teacher, data.train, device).to(device)
    if recipe.train.channels_last:  # only 4-D tensors change layout
        method.to(memory_format=torch.channels_last)
        if teacher is not None:
            teacher.to(memory_format=torch.channels_last)
    spec = method.student_spec(spec)  # what spec.json says: the network the method trains
    if world > 1:
        dist.broadcast_module(method)
    optims, scheduled = build_optimizers(method, recipe)
    lrs = base_lrs(optims)
    autocast, scaler = autocast_for(device, recipe.train.amp)
    if rank == 0:  # only once data, teacher and method are built: a failed set-up leaves no folder
        run_dir.mkdir(parents=True, exist_ok=True)
        save_recipe(recipe, run_dir / "recipe.json")
        if resume is None:  # a fresh run owns its metrics file
            (run_dir / "metrics.jsonl").unlink(missing_ok=True)

    y_train = labelled_targets(
        data.train.y, recipe.data.labelled_fraction, data.train.num_classes, recipe.seed
    )
    # the training split lives on the device for the whole run: no per-batch host copies
    data.train.x, y_train = data.train.x.to(device), y_train.to(device)
    if data.train.domain is not None:
        data.train.domain = data.train.domain.to(device)
    aug = recipe.data.augment if recipe.data.augment is not None else data.train.augment
    table = None
    if (
        recipe.train.cache_teacher
        and teacher is not None
        and method.teacher_on_batch
        and not aug
        and recipe.train.adversarial is None
    ):
        table = TeacherTable.build(
            teacher, data.train, method.teacher_features, autocast, recipe.train.eval_batch_size
        )
    run = Run(
        recipe=recipe,
        method=method,
        teacher=teacher,
        data=data,
        y_train=y_train,
        optims=optims,
        scheduled=scheduled,
        base_lrs=lrs,
        device=device,
        autocast=autocast,
        scaler=scaler,
        table=table,
        rank=rank,
        world=world,
        quiet=quiet,
        run_dir=run_dir,
        spec=spec,
    )
    if resume is not None:
        state, _ = ckpt.load_resumable(method, run_dir)
        for k, o in optims.items():
            o.load_state_dict(state["optimizers"][k])
        if scaler and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng_cpu"])
        if device.type == "cuda" and state.get("rng_cuda") is not None:
            torch.cuda.set_rng_state(state["rng_cuda"])
        run.epoch, run.wall = state["epoch"], state["wall_time_s"]
        run.best, run.best_epoch = state["best_val_acc"], state["best_epoch"]
        run.best_pgd = state.get("best_train_pgd", -1.0)
        _truncate_metrics(run_dir / "metrics.jsonl", run.epoch)
    else:  # a method's own preparation, e.g. fitting estimators on the frozen teacher
        prep, y_prep, stream = prepare_stream(recipe, data.train, world, device, table)
        # forked: the run's random stream must not depend on whether the method fitted
        # something or read it from a cache
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            method.prepare(
                lambda e: epoch_batches(
                    method,
                    teacher,
                    data.train,
                    y_prep,
                    prep,
                    e,
                    device,
                    autocast,
                    rank,
                    world,
                    table,
                ),
                stream,
            )
    if table is not None:  # after prepare or the resume: the rows may read parts fitted there
        run.table = table.with_rows(method, recipe.train.eval_batch_size)
    return run


def _truncate_metrics(path: Path, epochs: int) -> None:
    if path.exists():
        keep = [ln for ln in path.read_text().splitlines() if json.loads(ln)["epoch"] <= epochs]
        path.write_text("".join(ln + "\n" for ln in keep))
