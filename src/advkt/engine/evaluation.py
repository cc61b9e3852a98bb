"""Top-1 accuracy of a model on a data split, clean and, optionally, under an attack: the one
evaluation path, taken by training (each epoch's test and validation accuracy, the teacher's
accuracy) and by ``advkt eval`` alike."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import torch
from torch import nn

from advkt import distributed as dist
from advkt.attacks import ATTACKS, pixel_normalizer, pixels
from advkt.data.augment import to_float
from advkt.data.base import TensorData
from advkt.engine import checkpoint as ckpt
from advkt.engine.run import pick_device
from advkt.engine.splits import load_splits
from advkt.models import build_model
from advkt.nn.modes import eval_mode
from advkt.recipe import recipe_from_json


def accuracy(
    model: nn.Module,
    data: TensorData,
    device: torch.device,
    batch_size: int,
    autocast=nullcontext,
    attack: str | Callable[..., torch.Tensor] | None = None,
    limit: int | None = None,
    **attack_kw,
) -> dict[str, float]:
    """``{"clean": %}`` on the first ``limit`` samples of ``data`` (all by default), plus
    ``"robust"`` (% still correct on the adversarial examples) with ``attack`` ("fgsm", "pgd" or
    a callable with :func:`advkt.attacks.fgsm`'s signature; ``attack_kw`` goes to it: eps, step,
    steps, ...). Attacks work on pixels in [0, 1] (uint8 data) or on the raw float inputs,
    without a clamp. Under torchrun each rank scores its shard and the counts are summed."""
    if isinstance(attack, str):
        if attack not in ATTACKS:
            raise ValueError(f"unknown attack '{attack}'; valid attacks: {', '.join(ATTACKS)}")
        attack = ATTACKS[attack]
    rank, world = dist.rank_and_world()
    n = len(data) if limit is None else min(limit, len(data))
    idx = torch.arange(rank, n, world)
    normalize = pixel_normalizer(data)
    clean = torch.zeros((), dtype=torch.long, device=device)
    robust = torch.zeros((), dtype=torch.long, device=device)
    with eval_mode(model):
        for i in range(0, len(idx), batch_size):
            j = idx[i : i + batch_size]
            x, y = data.x[j].to(device), data.y[j].to(device)
            with torch.no_grad(), autocast():
                clean += (model(to_float(x, data.mean, data.std)).argmax(1) == y).sum()
            if attack is not None:
                pix, clamp = pixels(x)
                adv = attack(model, pix, y, clamp=clamp, normalize=normalize, **attack_kw)
                with torch.no_grad():
                    robust += (model(normalize(adv)).argmax(1) == y).sum()
    c, r, m = dist.all_sum([float(clean), float(robust), float(len(idx))], device)
    out = {"clean": 100.0 * c / max(1.0, m)}
    if attack is not None:
        out["robust"] = 100.0 * r / max(1.0, m)
    return out


# the usual L-inf radii (pixel units) where the user gives none
DEFAULT_EPS = {"mnist": 0.3, "usps": 0.3, "cifar10": 8 / 255, "cifar100": 8 / 255}


def load_student(run: str | Path, which: str = "last") -> torch.nn.Module:
    where = ckpt.resolve(run, which)
    model = build_model(ckpt.read_spec(where))
    ckpt.load_model_weights(model, where)
    return model.eval()


def evaluate_run(
    run: str | Path,
    attack: str = "none",
    eps: float | None = None,
    steps: int = 20,
    step_size: float | None = None,
    limit: int | None = None,
    which: str = "last",
    batch_size: int = 500,
) -> dict:
    for name, value, ok in (
        ("--steps", steps, steps >= 1),
        ("--limit", limit, limit is None or limit >= 1),
        ("--step-size", step_size, step_size is None or step_size > 0),
        ("--eps", eps, eps is None or eps >= 0),
    ):
        if not ok:
            raise ValueError(f"{name} {value} is invalid: expected a positive number")
    recipe = recipe_from_json(Path(run) / "recipe.json")
    device = pick_device(recipe.train.device)
    model = load_student(run, which).to(device)
    test = load_splits(recipe).test
    n = len(test) if limit is None else min(limit, len(test))
    result: dict = {"run": str(run), "checkpoint": which, "samples": n}
    kw: dict = {}
    if attack != "none":
        e = eps if eps is not None else DEFAULT_EPS.get(recipe.data.dataset, 8 / 255)
        kw = {"eps": e} if attack == "fgsm" else {"eps": e, "step": step_size or 2.5 * e / steps}
        if attack == "pgd":
            kw["steps"] = steps
        result.update({"attack": attack, "eps": e, "steps": steps if attack == "pgd" else 1})
    acc = accuracy(
        model, test, device, batch_size, attack=None if attack == "none" else attack, limit=n, **kw
    )
    result["clean_acc"] = acc["clean"]
    if "robust" in acc:
        result["robust_acc"] = acc["robust"]
    return result
