"""The one training loop, for every method.

Read it top to bottom: ``train`` calls ``setup`` (``engine.run``: data, teacher, method,
optimisers and, on resume, the checkpoint's state), then runs ``train_epoch`` and ``evaluate``
each epoch, writing metrics and checkpoints into the run folder. Methods only supply losses (see
``advkt.methods.base``); the engine owns devices, autocast (``precision``), distributed averaging,
clipping, schedules (``optim``), batches (``batches``), the NaN guard, logging and checkpoints.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from advkt import distributed as dist
from advkt.atomic import write_text_atomic
from advkt.data.base import TensorData
from advkt.engine import checkpoint as ckpt
from advkt.engine import lock, overfitting
from advkt.engine.batches import epoch_batches
from advkt.engine.evaluation import accuracy
from advkt.engine.optim import lr_factor, max_norm_
from advkt.engine.overfitting import attack_accuracies
from advkt.engine.run import Run, setup
from advkt.engine.teacher import is_trained, teacher_run
from advkt.engine.tensorboard import EpochWriter
from advkt.errors import DivergenceError
from advkt.methods.base import Method
from advkt.recipe import Recipe, recipe_from_json

# --------------------------------------------------------------------------- the loop


def train_epoch(run: Run, epoch: int) -> dict[str, float]:
    """Train ``run`` through epoch ``epoch`` (0-based); return each logged term's mean.

    Raises :class:`DivergenceError` when a term goes NaN/inf (checked every
    ``train.check_every`` steps and at the end)."""
    method, optims, scaler, t = run.method, run.optims, run.scaler, run.recipe.train
    steps = method.steps()
    # per step and set of logged terms (a method may change its terms mid-epoch, e.g. at a
    # warm-up's end): the terms as one vector, their sums, how many steps logged them and the
    # step at which each first went non-finite (-1: never); no host sync until a check
    names: dict[tuple, list[str]] = {}
    sums: dict[tuple, torch.Tensor] = {}
    counts: dict[tuple, int] = {}
    first_bad: dict[tuple, torch.Tensor] = {}
    params = {name: [p for g in o.param_groups for p in g["params"]] for name, o in optims.items()}
    method.train()
    batches = epoch_batches(
        method,
        run.teacher,
        run.data.train,
        run.y_train,
        run.recipe,
        epoch,
        run.device,
        run.autocast,
        run.rank,
        run.world,
        run.table,
    )
    steps_per_epoch = len(batches)  # domain and identity batches: not len(train) // batch size
    bar = tqdm(
        batches,
        total=steps_per_epoch,
        desc=f"epoch {epoch + 1}/{t.epochs}",
        leave=False,
        disable=run.quiet or run.rank != 0 or not sys.stderr.isatty(),  # a log: a line an epoch
        mininterval=1.0,
    )
    for i, batch in enumerate(bar):
        f = lr_factor(run.recipe, epoch + i / steps_per_epoch)
        for name, opt in optims.items():
            if run.scheduled[name]:
                for group, base in zip(opt.param_groups, run.base_lrs[name]):
                    group["lr"] = base * f
        for name, fn in steps:
            opt = optims[name]
            opt.zero_grad(set_to_none=True)
            with run.autocast():
                out = fn(batch)
            loss = out["loss"]
            (scaler.scale(loss) if scaler else loss).backward()
            if run.world > 1:
                dist.average_gradients(params[name])
            if t.grad_clip:
                if scaler:
                    scaler.unscale_(opt)
                nn.utils.clip_grad_norm_(params[name], t.grad_clip)
            scaler.step(opt) if scaler else opt.step()
            if t.max_norm is not None and name == "student":
                max_norm_(params[name], t.max_norm)
            method.after_step(name, opt.param_groups[0]["lr"])
            vals = torch.stack([v.detach().float() for v in out.values()])
            key = (name, *out)
            if key not in sums:
                names[key] = [f"{name}/{k}" for k in out]
                sums[key], counts[key] = torch.zeros_like(vals), 0
                first_bad[key] = torch.full(vals.shape, -1, device=vals.device)
            sums[key] += vals
            counts[key] += 1
            first_bad[key] = torch.where(
                (first_bad[key] < 0) & ~torch.isfinite(vals), i, first_bad[key]
            )
        if scaler:
            scaler.update()
        if (i + 1) % t.check_every == 0 or i + 1 == steps_per_epoch:
            _check_finite(names, sums, first_bad, epoch)
            if not run.quiet and run.rank == 0:
                shown = list(_means(names, sums, counts).items())
                bar.set_postfix({k.split("/")[-1]: f"{v:.3g}" for k, v in shown[:4]})
    return _means(names, sums, counts)


def _flat(names: dict[tuple, list[str]], vectors: dict[tuple, torch.Tensor]) -> list[tuple]:
    return [(k, v) for n in names for k, v in zip(names[n], vectors[n].tolist())]


def _means(names: dict, sums: dict, counts: dict) -> dict[str, float]:
    """Each logged term's mean over the steps that logged it."""
    total: dict[str, float] = {}
    n: dict[str, int] = {}
    for key in names:
        for k, v in zip(names[key], sums[key].tolist()):
            total[k] = total.get(k, 0.0) + v
            n[k] = n.get(k, 0) + counts[key]
    return {k: total[k] / n[k] for k in total}


def _check_finite(
    names: dict[tuple, list[str]],
    sums: dict[tuple, torch.Tensor],
    first_bad: dict[tuple, torch.Tensor],
    epoch: int,
) -> None:
    """Raise if a logged term went NaN/inf; name the first (the total last among equals)."""
    if bool(torch.isfinite(torch.cat(list(sums.values()))).all()):
        return
    steps = {k: int(v) for k, v in _flat(names, first_bad) if int(v) >= 0}
    bad = sorted(steps, key=lambda k: (steps[k], k.endswith("/loss")))
    also = f" (then: {', '.join(bad[1:])})" if len(bad) > 1 else ""
    raise DivergenceError(
        f"loss '{bad[0]}' became non-finite (nan or inf) at epoch {epoch + 1}, "
        f"step {steps[bad[0]] + 1}{also}"
    )


# --------------------------------------------------------------------------- entry point


def train_teacher(recipe: Recipe, quiet: bool = False) -> None:
    """Train the recipe that trains ``recipe``'s teacher into the library cache, unless a finished
    run is there: once per machine, for every output folder."""
    found = teacher_run(recipe)
    if found is None or is_trained(found[1]):
        return
    trecipe, run_dir = found
    if ckpt.has_checkpoint(run_dir) and not (run_dir / "summary.json").is_file():
        # killed before it finished (its folder is keyed by the recipe's digest: the same recipe)
        print(f"advkt: continuing the teacher {trecipe.name} in {run_dir}", file=sys.stderr)
        train(None, resume=run_dir, quiet=quiet)
        return
    print(
        f"advkt: training the teacher {trecipe.name} ({trecipe.train.epochs} epochs) "
        f"into {run_dir}, once: later runs read it from there",
        file=sys.stderr,
    )
    train(trecipe, run_dir=run_dir, quiet=quiet)


def train(
    recipe: Recipe | None,
    run_dir: str | Path | None = None,
    resume: str | Path | None = None,
    quiet: bool = False,
    return_method: bool = False,
) -> dict[str, Any] | tuple[dict[str, Any], Method]:
    """Train ``recipe`` into ``run_dir`` (or continue the run at ``resume``); return its summary
    (and the trained method, with ``return_method``). A run folder named by ``run_dir`` or
    ``resume`` is held by this process until it returns (:mod:`advkt.engine.lock`): a second
    process training the same folder stops with :class:`~advkt.engine.lock.RunBusyError`."""
    train_teacher(recipe_from_json(Path(resume) / "recipe.json") if resume else recipe, quiet)
    folder = resume if resume is not None else run_dir
    if folder is None or os.environ.get("RANK", "0") != "0":  # a new folder, or not rank 0
        return _train(recipe, run_dir, resume, quiet, return_method)
    with lock.hold(folder):
        return _train(recipe, run_dir, resume, quiet, return_method)


def _train(recipe, run_dir, resume, quiet, return_method):
    run = setup(recipe, run_dir, resume, quiet)
    recipe, method, data, run_dir = run.recipe, run.method, run.data, run.run_dir
    device, autocast, rank = run.device, run.autocast, run.rank

    def score(model: nn.Module, split: TensorData) -> float:
        return accuracy(model, split, device, recipe.train.eval_batch_size, autocast)["clean"]

    teacher_acc = score(run.teacher, data.test) if run.teacher is not None else None
    start = run.epoch
    acc, val_acc = float("nan"), None
    board = EpochWriter(run_dir, start) if recipe.train.tensorboard and rank == 0 else None
    for epoch in range(start, recipe.train.epochs):
        t0 = time.perf_counter()
        try:
            losses = train_epoch(run, epoch)
        except DivergenceError as exc:
            raise DivergenceError(f"{exc}; training stopped, {_kept(run_dir)}") from None
        if run.world > 1:
            dist.average_buffers(method)
        run.wall += time.perf_counter() - t0
        adv = recipe.train.adversarial
        if adv is not None and adv.overfit_check and adv.attack in ("fast", "fgsm"):
            bs = recipe.train.eval_batch_size
            now = attack_accuracies(
                method.student, data.train, adv, device, bs, autocast, epoch=epoch + 1
            )
            full = epoch + 1 >= adv.eps_warmup_epochs  # the radius has reached eps
            overfitting.check(now, run.best_pgd if full else -1.0, epoch + 1, _kept(run_dir))
            if full:
                run.best_pgd = max(run.best_pgd, now["train_pgd_acc"])
            losses = {**losses, **now}
        acc = score(method.student, data.test)
        val_acc = score(method.student, data.val) if data.val is not None else None
        is_best = val_acc is not None and val_acc > run.best
        if is_best:
            run.best, run.best_epoch = val_acc, epoch + 1
        run.epoch = epoch + 1
        if rank == 0:
            lr = run.optims["student"].param_groups[0]["lr"] if "student" in run.optims else None
            record = {
                "epoch": epoch + 1,
                "test_acc": acc,
                **({"val_acc": val_acc} if val_acc is not None else {}),
                "lr": lr,
                "epoch_time_s": time.perf_counter() - t0,
                **losses,
            }
            with open(run_dir / "metrics.jsonl", "a") as fh:
                fh.write(json.dumps(record) + "\n")
            if board is not None:
                board.write(record)
            if not quiet:
                shown = " ".join(f"{k}={v:.4g}" for k, v in losses.items())
                val = f"val_acc={val_acc:.2f} " if val_acc is not None else ""
                print(
                    f"[{run_dir.name}] epoch {epoch + 1}/{recipe.train.epochs} "
                    f"{val}test_acc={acc:.2f} {shown}",
                    file=sys.stderr,
                )
            last_epoch = epoch + 1 == recipe.train.epochs
            if (epoch + 1) % recipe.train.save_every == 0 or last_epoch or is_best:
                state = {
                    "optimizers": {k: o.state_dict() for k, o in run.optims.items()},
                    "scaler": run.scaler.state_dict() if run.scaler else None,
                    "rng_cpu": torch.get_rng_state(),
                    "rng_cuda": torch.cuda.get_rng_state() if device.type == "cuda" else None,
                    "epoch": epoch + 1,
                    "best_val_acc": run.best,
                    "best_epoch": run.best_epoch,
                    "wall_time_s": run.wall,
                    "best_train_pgd": run.best_pgd,
                }
                pointers = ("last", "best") if is_best else ("last",)
                ckpt.save(run_dir, f"e{epoch + 1:04d}", method, run.spec, state, pointers)
        dist.barrier()

    if start >= recipe.train.epochs:  # resuming a finished run: score what it holds, as it ended
        acc = score(method.student, data.test)
        val_acc = score(method.student, data.val) if data.val is not None else None
    if board is not None:
        board.close()
    best, best_epoch = run.best, run.best_epoch
    summary = {
        "name": recipe.name,
        "method": recipe.method.name,
        "dataset": recipe.data.dataset,
        "student": run.spec,
        "teacher": recipe.teacher.model if recipe.teacher else None,
        "seed": recipe.seed,
        "epochs": recipe.train.epochs,
        "test_acc": acc,  # the last epoch's
        "val_acc": val_acc if data.val is not None else None,
        # the epoch of the best validation accuracy (None without a validation split)
        "best_val_acc": best if best_epoch > 0 else None,
        "best_epoch": best_epoch if best_epoch > 0 else None,
        "teacher_acc": teacher_acc,
        "labelled_fraction": recipe.data.labelled_fraction,
        "wall_time_s": run.wall,
        "world_size": run.world,
        "device": str(device),
        **_size(method.student, data.train),
        "versions": {
            "advkt": _version(),
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
    }
    if rank == 0:
        write_text_atomic(run_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    return (summary, method) if return_method else summary


def _kept(run_dir: Path) -> str:
    if (run_dir / "ckpt" / "last").exists():
        return f"the last good checkpoint is {ckpt.resolve(run_dir)}"
    return "no checkpoint was written before it"


def _size(model: nn.Module, data: TensorData) -> dict[str, int]:
    from advkt.models.profile import count_flops, count_params

    return {"params": count_params(model), "flops": count_flops(model, data.input_shape)}


def _version() -> str:
    from advkt import __version__

    return __version__
