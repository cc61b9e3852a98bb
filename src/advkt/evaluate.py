"""``advkt eval``: clean and robust accuracy of a saved run, rebuilt from its folder alone."""

from __future__ import annotations

from pathlib import Path

import torch

from advkt.attacks import pixel_normalizer
from advkt.engine import checkpoint as ckpt
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
    x_all, y_all = test.x[:limit], test.y[:limit]
    result: dict = {"run": str(run), "checkpoint": which, "samples": len(y_all)}

    normalize = pixel_normalizer(test)

    clean = robust = 0
    for i in range(0, len(y_all), batch_size):
        xb = x_all[i : i + batch_size].to(device)
        yb = y_all[i : i + batch_size].to(device)
        pix = xb.float() / 255 if xb.dtype == torch.uint8 else xb.float()
        # pixels live in [0, 1]; float data (signals) have their own range and no clamp
        clamp = (0.0, 1.0) if xb.dtype == torch.uint8 else None
        with torch.no_grad():
            clean += (model(normalize(pix)).argmax(1) == yb).sum().item()
        if attack != "none":
            from advkt import attacks

            e = eps if eps is not None else DEFAULT_EPS.get(recipe.data.dataset, 8 / 255)
            if attack == "fgsm":
                adv = attacks.fgsm(model, pix, yb, e, clamp=clamp, normalize=normalize)
            else:
                adv = attacks.pgd(
                    model,
                    pix,
                    yb,
                    e,
                    step=step_size or 2.5 * e / steps,
                    steps=steps,
                    clamp=clamp,
                    normalize=normalize,
                )
            with torch.no_grad():
                robust += (model(normalize(adv)).argmax(1) == yb).sum().item()
            result.update({"attack": attack, "eps": e, "steps": steps if attack == "pgd" else 1})
    result["clean_acc"] = 100.0 * clean / len(y_all)
    if attack != "none":
        result["robust_acc"] = 100.0 * robust / len(y_all)
    return result
