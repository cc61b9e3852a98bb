"""The frozen teacher of a recipe: built, loaded from a trained run and frozen.

``teacher.checkpoint`` names a trained run (or a committed model folder); ``teacher.recipe`` names
a recipe that trains the teacher, once per machine, into the library cache
(``$ADVKT_CACHE/teachers/<name>-<digest>``), with the teacher's own ``teacher.train.*`` overrides.
"""

from __future__ import annotations

import json
import sys
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


def build_teacher(recipe: Recipe, data: TensorData, quiet: bool) -> nn.Module | None:
    """The recipe's teacher for ``data``, weights loaded, frozen, in eval mode; None without one."""
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
            from advkt.engine.trainer import train  # the loop builds teachers: import it late

            print(
                f"advkt: training the teacher {trecipe.name} ({trecipe.train.epochs} epochs) "
                f"into {run_dir}, once: later runs read it from there",
                file=sys.stderr,
            )
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
