"""The one training loop, for every method.

Read it top to bottom: ``train`` builds data, models and the method from a recipe, then runs
``_train_epoch`` and ``evaluate`` each epoch, writing metrics and checkpoints into the run folder.
Methods only supply losses (see ``advkt.methods.base``); this file owns devices, autocast,
distributed averaging, clipping, schedules, the NaN guard, logging and checkpoints.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import platform
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from advkt.atomic import write_text_atomic
from advkt.data import load as load_data
from advkt.data.augment import augment_batch, to_float
from advkt.data.base import TensorData
from advkt.data.cache import cache_dir
from advkt.engine import checkpoint as ckpt
from advkt.engine import distributed as dist
from advkt.engine.tensorboard import EpochWriter
from advkt.methods.base import Batch, Method
from advkt.models import Features, build_model
from advkt.recipe import Recipe, RecipeError, load_recipe, recipe_from_json, save_recipe
from advkt.registry import METHODS


class DivergenceError(RuntimeError):
    """A loss became NaN or infinite; the message names it and the last good checkpoint."""


@dataclass
class Data:
    train: TensorData
    test: TensorData
    val: TensorData | None = None  # a hold-out of the training split (``data.validation``)


# --------------------------------------------------------------------------- set-up


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def load_splits(recipe: Recipe) -> Data:
    d = recipe.data
    train = load_data(d.dataset, d.root, "train", **d.args)
    test = load_data(d.dataset, d.root, "test", **d.args)
    # budget subsets and the validation hold-out: fixed shuffles, the same for every seed/method
    g = torch.Generator().manual_seed(0)
    val = None
    if d.validation > 0:
        order = torch.randperm(len(train), generator=g)
        n_val = max(1, round(d.validation * len(train)))
        train, val = train.subset(order[n_val:]), train.subset(order[:n_val])
    if d.train_subset and d.train_subset < len(train):
        train = train.subset(torch.randperm(len(train), generator=g)[: d.train_subset])
    if d.test_subset and d.test_subset < len(test):
        test = test.subset(torch.randperm(len(test), generator=g)[: d.test_subset])
    return Data(train, test, val)


def labelled_targets(y: torch.Tensor, fraction: float, num_classes: int, seed: int) -> torch.Tensor:
    """Keep the label of a class-stratified ``fraction`` of the samples, set the others to -1."""
    if fraction >= 1.0:
        return y.clone()
    g = torch.Generator().manual_seed(10_000 + seed)
    out = torch.full_like(y, -1)
    for c in range(num_classes):
        idx = (y == c).nonzero().flatten()
        keep = max(1, round(fraction * len(idx)))
        chosen = idx[torch.randperm(len(idx), generator=g)[:keep]]
        out[chosen] = c
    return out


def model_spec(spec, data: TensorData) -> dict:
    return {
        "name": spec.model,
        "num_classes": data.num_classes,
        "in_channels": data.input_shape[0],
        **spec.args,
    }


def build_teacher(recipe: Recipe, data: TensorData, quiet: bool) -> nn.Module | None:
    t = recipe.teacher
    if t is None:
        return None
    spec = model_spec(t, data)
    teacher = build_model(spec)
    if t.checkpoint:
        where = ckpt.resolve(t.checkpoint)
    elif t.recipe:
        # the teacher's own overrides (teacher.train.*); its cache key below follows them
        trecipe = load_recipe(t.recipe, [f"train.{k}={json.dumps(v)}" for k, v in _dotted(t.train)])
        if (trecipe.student.model, trecipe.student.args) != (t.model, t.args):
            raise RecipeError(
                f"teacher recipe {t.recipe} trains a '{trecipe.student.model}' "
                f"{trecipe.student.args}, but 'teacher' asks for '{t.model}' {t.args}"
            )
        # one cache for every output folder: a teacher recipe is trained once per machine
        run_dir = cache_dir() / "teachers" / f"{trecipe.name}-{trecipe.digest()}"
        # a finished run whose weights are gone (committed results keep metrics, not ckpt/)
        # is trained again rather than failing to load
        if not ((run_dir / "summary.json").is_file() and ckpt.has_checkpoint(run_dir)):
            train(trecipe, run_dir=run_dir, quiet=quiet)
        where = ckpt.resolve(run_dir)
    else:
        raise RecipeError("'teacher' needs either 'checkpoint' (a trained run) or 'recipe'")
    ckpt.load_model_weights(teacher, where, expected_spec=spec)
    teacher.eval().requires_grad_(False)
    return teacher


def _dotted(tree: dict, prefix: str = "") -> list[tuple[str, Any]]:
    """``{"optimizer": {"lr": 0.1}}`` -> ``[("optimizer.lr", 0.1)]``."""
    out = []
    for k, v in tree.items():
        if isinstance(v, dict) and v:
            out += _dotted(v, f"{prefix}{k}.")
        else:
            out.append((f"{prefix}{k}", v))
    return out


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


def build_optimizers(method: Method, recipe: Recipe) -> tuple[dict, dict[str, bool]]:
    """One optimiser per named group; returns them and whether each follows the LR schedule."""
    optims, scheduled = {}, {}
    for name, (params, spec) in method.param_groups().items():
        params = [p for p in params if p.requires_grad]
        s = recipe.train.optimizer.model_dump() if spec is None else spec
        if s["name"] == "sgd":
            opt = torch.optim.SGD(
                params,
                lr=s["lr"],
                momentum=s.get("momentum", 0.0),
                weight_decay=s.get("weight_decay", 0.0),
                nesterov=s.get("nesterov", False),
            )
        elif s["name"] in ("adam", "adamw"):
            cls = torch.optim.Adam if s["name"] == "adam" else torch.optim.AdamW
            # one fused kernel over all parameters instead of a Python loop (CPU and CUDA); not
            # for SGD: fused SGD with momentum fails when a parameter gets its first gradient
            # after the others have momentum (a classifier trained only after a warm-up)
            fused = {"fused": True} if params and params[0].device.type in ("cpu", "cuda") else {}
            opt = cls(
                params,
                lr=s["lr"],
                betas=tuple(s.get("betas", (0.9, 0.999))),
                weight_decay=s.get("weight_decay", 0.0),
                **fused,
            )
        else:  # a method's own optimiser spec: the recipe's is checked by its schema
            raise RecipeError(
                f"optimiser '{s['name']}' of parameter group '{name}': expected sgd, adam or adamw"
            )
        optims[name] = opt
        scheduled[name] = spec is None or spec.get("schedule", False)
    return optims, scheduled


def lr_factor(recipe: Recipe, epoch: float) -> float:
    """Multiplier of the base LR at fractional epoch ``epoch`` (warm-up, then step or cosine)."""
    s, total = recipe.train.schedule, recipe.train.epochs
    if s.warmup_epochs > 0 and epoch < s.warmup_epochs:
        return (epoch + 1e-8) / s.warmup_epochs
    if s.name == "step":
        return s.gamma ** sum(epoch >= m for m in s.milestones)
    if s.name == "cosine":
        t = (epoch - s.warmup_epochs) / max(1e-8, total - s.warmup_epochs)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, t)))
    return 1.0


def cpu_has_native_bf16() -> bool:
    """Whether this CPU has bf16 matrix instructions (AMX or AVX-512 BF16)."""
    cpu = torch.cpu
    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(getattr(cpu, c, lambda: False)() for c in checks)


def autocast_for(device: torch.device, amp: str):
    """``(autocast context factory, grad scaler or None)`` for ``train.amp`` on ``device``.

    bf16 runs on CUDA and on CPUs (oneDNN uses AMX / AVX-512 BF16 where the CPU has them);
    fp16 needs CUDA and a grad scaler. Master weights, optimiser state and the logged losses
    stay fp32 either way.
    """
    if amp == "none":
        return nullcontext, None
    if amp == "fp16" and device.type != "cuda":
        raise RecipeError("train.amp=fp16 needs a CUDA device; on a CPU use train.amp=bf16")
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    if device.type == "cpu" and not cpu_has_native_bf16():
        warnings.warn(
            "train.amp=bf16 on a CPU without AMX or AVX-512 BF16: bf16 is emulated there and "
            "runs several times slower than fp32 (train.amp=none)",
            stacklevel=2,
        )

    def autocast():
        return torch.autocast(device.type, dtype=dtype)

    return autocast, (torch.amp.GradScaler("cuda") if amp == "fp16" else None)


# --------------------------------------------------------------------------- the loop


def evaluate(
    model: nn.Module, data: TensorData, device: torch.device, batch_size: int, autocast=nullcontext
) -> float:
    """Top-1 accuracy (%) on ``data``; under torchrun each rank scores its shard."""
    rank, world = (
        (torch.distributed.get_rank(), torch.distributed.get_world_size())
        if (dist.is_distributed())
        else (0, 1)
    )
    was = model.training
    model.eval()
    correct = 0
    idx = torch.arange(rank, len(data), world)
    with torch.no_grad():
        for i in range(0, len(idx), batch_size):
            j = idx[i : i + batch_size]
            x = to_float(data.x[j].to(device), data.mean, data.std)
            with autocast():
                pred = model(x).argmax(1)
            correct += (pred.cpu() == data.y[j]).sum().item()
    model.train(was)
    c, n = dist.all_sum([float(correct), float(len(idx))], device)
    return 100.0 * c / max(1.0, n)


class TeacherTable:
    """The frozen teacher's outputs on every training sample, computed once.

    Without augmentation and without an attack a training sample is the same tensor every epoch,
    so the teacher's logits (and features) on it are too: a distiller's step then reads them by
    sample index instead of running the teacher (``train.cache_teacher``; on by default).
    """

    def __init__(self, logits: torch.Tensor, feats: Features | None) -> None:
        self.logits, self.feats = logits, feats

    def __call__(self, idx: torch.Tensor) -> tuple[torch.Tensor, Features | None]:
        f = self.feats
        if f is None:
            return self.logits[idx], None
        blocks = [[b[idx] for b in stage] for stage in f.blocks]
        return self.logits[idx], Features(f.stem[idx], blocks, f.pooled[idx])

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
) -> Iterator[Batch]:
    """One epoch of training batches: shuffled, sharded by rank, augmented, teacher outputs added
    (read from ``table`` where one was built).

    The order and the augmentation depend on (seed, epoch, rank) only, so a resumed run sees the
    same batches as an uninterrupted one. ``data`` already lives on ``device``.
    """
    t = recipe.train
    n = len(data)
    order = torch.randperm(
        n, generator=torch.Generator().manual_seed(recipe.seed * 100_003 + epoch)
    )
    order = order.to(data.x.device)
    steps_per_epoch = max(1, n // t.batch_size)
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
            x = _attack(method.student, x, y, data, t.adversarial)
        else:
            x = to_float(x, data.mean, data.std)
        batch = Batch(x=x, y=y, epoch=epoch + i / steps_per_epoch)
        if table is not None and method.teacher_on_batch:
            batch.t_logits, feats = table(idx)
            if method.teacher_features:
                batch.t_feats = feats
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


def pixel_normalizer(data: TensorData):
    """``(pixels in [0, 1]) -> model input`` for ``data``; attacks work in pixel space."""
    if data.x.dtype != torch.uint8 or not data.mean:
        return lambda z: z
    shape = (1, -1) + (1,) * (data.x.dim() - 2)
    mean = torch.tensor(data.mean).view(shape)
    std = torch.tensor(data.std).view(shape)
    return lambda z: (z - mean.to(z.device)) / std.to(z.device)


def _attack(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, data: TensorData, spec
) -> torch.Tensor:
    """Replace a batch by adversarial examples against ``model`` (Madry et al. 2018); returns
    normalised inputs. Unlabelled samples are attacked away from the model's own prediction."""
    from advkt import attacks

    norm = pixel_normalizer(data)
    pix = x.float() / 255 if x.dtype == torch.uint8 else x.float()
    clamp = (0.0, 1.0) if x.dtype == torch.uint8 else None
    if (y < 0).any():
        with torch.no_grad():
            y = torch.where(y >= 0, y, model(norm(pix)).argmax(1))
    if spec.attack == "fgsm":
        adv = attacks.fgsm(model, pix, y, spec.eps, clamp=clamp, normalize=norm)
    else:
        adv = attacks.pgd(
            model,
            pix,
            y,
            spec.eps,
            spec.step,
            spec.steps,
            random_start=spec.random_start,
            clamp=clamp,
            normalize=norm,
        )
    return norm(adv)


def _train_epoch(
    method: Method,
    teacher: nn.Module | None,
    data: TensorData,
    y_train: torch.Tensor,
    recipe: Recipe,
    optims: dict,
    scheduled: dict,
    base_lrs: dict,
    epoch: int,
    device: torch.device,
    autocast,
    scaler,
    rank: int,
    world: int,
    quiet: bool,
    table: TeacherTable | None = None,
) -> dict[str, float]:
    t = recipe.train
    steps_per_epoch = max(1, len(data) // t.batch_size)
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
        method, teacher, data, y_train, recipe, epoch, device, autocast, rank, world, table
    )
    bar = tqdm(
        batches,
        total=steps_per_epoch,
        desc=f"epoch {epoch + 1}/{t.epochs}",
        leave=False,
        disable=quiet or rank != 0 or not sys.stderr.isatty(),  # a log gets one line an epoch
        mininterval=1.0,
    )
    for i, batch in enumerate(bar):
        f = lr_factor(recipe, epoch + i / steps_per_epoch)
        for name, opt in optims.items():
            if scheduled[name]:
                for group, base in zip(opt.param_groups, base_lrs[name]):
                    group["lr"] = base * f
        for name, fn in steps:
            opt = optims[name]
            opt.zero_grad(set_to_none=True)
            with autocast():
                out = fn(batch)
            loss = out["loss"]
            (scaler.scale(loss) if scaler else loss).backward()
            if world > 1:
                dist.average_gradients(params[name])
            if t.grad_clip:
                if scaler:
                    scaler.unscale_(opt)
                nn.utils.clip_grad_norm_(params[name], t.grad_clip)
            scaler.step(opt) if scaler else opt.step()
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
            if not quiet and rank == 0:
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


def new_run_dir(recipe: Recipe) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(recipe.out) / f"{recipe.name or recipe.method.name}-s{recipe.seed}-{stamp}"


def train(
    recipe: Recipe | None,
    run_dir: str | Path | None = None,
    resume: str | Path | None = None,
    quiet: bool = False,
    return_method: bool = False,
) -> dict[str, Any] | tuple[dict[str, Any], Method]:
    """Train ``recipe`` into ``run_dir`` (or continue the run at ``resume``); return its summary
    (and the trained method, with ``return_method``)."""
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
    teacher = build_teacher(recipe, data.train, quiet)
    torch.manual_seed(recipe.seed)  # the student's init must not depend on the teacher's path
    spec = model_spec(recipe.student, data.train)
    student = build_model(spec)
    if teacher is not None:
        teacher.to(device)
    method = build_method(recipe, student, teacher, data.train, device).to(device)
    spec = method.student_spec(spec)  # what spec.json says: the network the method trains
    if world > 1:
        dist.broadcast_module(method)
    optims, scheduled = build_optimizers(method, recipe)
    base_lrs = {k: [g["lr"] for g in o.param_groups] for k, o in optims.items()}
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
    start, best, best_epoch, wall = 0, -1.0, -1, 0.0  # best: on the validation split only
    if resume is not None:
        state, _ = ckpt.load_resumable(method, run_dir)
        for k, o in optims.items():
            o.load_state_dict(state["optimizers"][k])
        if scaler and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng_cpu"])
        if device.type == "cuda" and state.get("rng_cuda") is not None:
            torch.cuda.set_rng_state(state["rng_cuda"])
        start, best, best_epoch = state["epoch"], state["best_val_acc"], state["best_epoch"]
        wall = state["wall_time_s"]
        _truncate_metrics(run_dir / "metrics.jsonl", start)
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

    teacher_acc = (
        evaluate(teacher, data.test, device, recipe.train.eval_batch_size, autocast)
        if teacher is not None
        else None
    )
    acc, val_acc = float("nan"), None
    board = EpochWriter(run_dir, start) if recipe.train.tensorboard and rank == 0 else None
    for epoch in range(start, recipe.train.epochs):
        t0 = time.perf_counter()
        try:
            losses = _train_epoch(
                method,
                teacher,
                data.train,
                y_train,
                recipe,
                optims,
                scheduled,
                base_lrs,
                epoch,
                device,
                autocast,
                scaler,
                rank,
                world,
                quiet,
                table=table,
            )
        except DivergenceError as exc:
            last = run_dir / "ckpt" / "last"
            kept = (
                f"the last good checkpoint is {ckpt.resolve(run_dir)}"
                if last.exists()
                else "no checkpoint was written before it"
            )
            raise DivergenceError(f"{exc}; training stopped, {kept}") from None
        if world > 1:
            dist.average_buffers(method)
        wall += time.perf_counter() - t0
        acc = evaluate(method.student, data.test, device, recipe.train.eval_batch_size, autocast)
        val_acc = (
            evaluate(method.student, data.val, device, recipe.train.eval_batch_size, autocast)
            if data.val is not None
            else None
        )
        is_best = val_acc is not None and val_acc > best
        if is_best:
            best, best_epoch = val_acc, epoch + 1
        if rank == 0:
            lr = optims["student"].param_groups[0]["lr"] if "student" in optims else None
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
                    "optimizers": {k: o.state_dict() for k, o in optims.items()},
                    "scaler": scaler.state_dict() if scaler else None,
                    "rng_cpu": torch.get_rng_state(),
                    "rng_cuda": torch.cuda.get_rng_state() if device.type == "cuda" else None,
                    "epoch": epoch + 1,
                    "best_val_acc": best,
                    "best_epoch": best_epoch,
                    "wall_time_s": wall,
                }
                pointers = ("last", "best") if is_best else ("last",)
                ckpt.save(run_dir, f"e{epoch + 1:04d}", method, spec, state, pointers)
        dist.barrier()

    if start >= recipe.train.epochs:  # resuming a finished run: score what it holds, as it ended
        bs = recipe.train.eval_batch_size
        acc = evaluate(method.student, data.test, device, bs, autocast)
        if data.val is not None:
            val_acc = evaluate(method.student, data.val, device, bs, autocast)
    if board is not None:
        board.close()
    summary = {
        "name": recipe.name,
        "method": recipe.method.name,
        "dataset": recipe.data.dataset,
        "student": spec,
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
        "wall_time_s": wall,
        "world_size": world,
        "device": str(device),
        **_size(student, data.train),
        "versions": {
            "advkt": _version(),
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
    }
    if rank == 0:
        write_text_atomic(run_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    return (summary, method) if return_method else summary


def _size(model: nn.Module, data: TensorData) -> dict[str, int]:
    from advkt.profile import count_flops, count_params

    return {"params": count_params(model), "flops": count_flops(model, data.input_shape)}


def _version() -> str:
    from advkt import __version__

    return __version__


def _truncate_metrics(path: Path, epochs: int) -> None:
    if path.exists():
        keep = [ln for ln in path.read_text().splitlines() if json.loads(ln)["epoch"] <= epochs]
        path.write_text("".join(ln + "\n" for ln in keep))
