"""The frozen teacher of a recipe: built, loaded from a trained run and frozen.

``teacher.checkpoint`` names a trained run (or a committed model folder); ``teacher.recipe`` names
a recipe that trains the teacher, once per machine, into the library cache
(``$ADVKT_CACHE/teachers/<name>-<digest>``), with the teacher's own ``teacher.train.*`` overrides.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from torch import nn

from advkt.data.base import TensorData
from advkt.data.cache import cache_dir
from advkt.engine import checkpoint as ckpt
from advkt.models import build_model
from advkt.recipe import Recipe, RecipeError, load_recipe


def model_spec(spec, data: TensorData) -> dict:
    """The ``build_model`` spec of a recipe's ``student`` or ``teacher`` on ``data``."""
    return {
        "name": spec.model,
        "num_classes": data.num_classes,
        "in_channels": data.input_shape[0],
        **spec.args,
    }


def teacher_run(recipe: Recipe) -> tuple[Recipe, Path] | None:
    """The recipe that trains ``recipe``'s teacher and the cache folder of that run, or None when
    the teacher is not trained by a recipe (none, or a ``checkpoint``)."""
    t = recipe.teacher
    if t is None or t.checkpoint or not t.recipe:
        return None
    # the teacher's own overrides (teacher.train.*); its cache key below follows them
    trecipe = load_recipe(t.recipe, [f"train.{k}={json.dumps(v)}" for k, v in _dotted(t.train)])
    if (trecipe.student.model, trecipe.student.args) != (t.model, t.args):
        raise RecipeError(
            f"teacher recipe {t.recipe} trains a '{trecipe.student.model}' "
            f"{trecipe.student.args}, but 'teacher' asks for '{t.model}' {t.args}"
        )
    # one cache for every output folder: a teacher recipe is trained once per machine
    return trecipe, cache_dir() / "teachers" / f"{trecipe.name}-{trecipe.digest()}"


def is_trained(run_dir: Path) -> bool:
    """A finished run with its weights (committed results keep metrics, not ckpt/: such a run is
    trained again rather than failing to load)."""
    return (run_dir / "summary.json").is_file() and ckpt.has_checkpoint(run_dir)


def build_teacher(recipe: Recipe, data: TensorData) -> nn.Module | None:
    """The recipe's teacher for ``data``, weights loaded, frozen, in eval mode; None without one.

    A teacher recipe must have been trained already (:func:`advkt.engine.trainer.train` and
    ``advkt compare`` train it first)."""
    t = recipe.teacher
    if t is None:
        return None
    spec = model_spec(t, data)
    teacher = build_model(spec)
    if t.checkpoint:
        where = ckpt.resolve(t.checkpoint)
    elif t.recipe:
        trecipe, run_dir = teacher_run(recipe)
        if not is_trained(run_dir):
            raise RecipeError(
                f"the teacher recipe {trecipe.name} is not trained yet (no finished run in "
                f"{run_dir}): advkt train and advkt compare train it first"
            )
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
