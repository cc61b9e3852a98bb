"""``advkt eval``: clean and robust accuracy of a saved run, rebuilt from its folder alone."""

from __future__ import annotations

from pathlib import Path

import torch

from advkt.engine import checkpoint as ckpt
from advkt.engine.evaluation import accuracy
from advkt.engine.run import pick_device
from advkt.engine.splits import load_splits
from advkt.models import build_model
from advkt.recipe import recipe_from_json

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
