"""Recipes: YAML files validated by a schema, with ``key=value`` overrides.

A recipe names everything a run needs: the dataset, the student (and teacher) architecture, the
method with its arguments, the schedule and the seed. The resolved recipe (after overrides) is
saved in every run folder, so a run can always be reproduced from its folder alone.

Unknown keys, wrong types and unknown names are :class:`RecipeError` with one line that names the
key and lists the valid choices.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from advkt.atomic import write_text_atomic


class RecipeError(ValueError):
    """A recipe that cannot be run: the message names the offending key or value."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class ModelSpec(_Strict):
    model: str
    args: dict[str, Any] = Field(default_factory=dict)


class TeacherSpec(ModelSpec):
    # a run folder, its checkpoint folder, or a committed teacher (benchmarks/teachers/<name>/)
    checkpoint: str | None = None
    recipe: str | None = None  # else: train it from this recipe (once; cached by its content hash)
    # overrides of the teacher recipe's own train section (``teacher.train.epochs=150``); the
    # student's ``train.*`` never reaches the teacher
    train: dict[str, Any] = Field(default_factory=dict)


class DataSpec(_Strict):
    dataset: str
    root: str | None = None  # else $ADVKT_DATA, else ./data
    args: dict[str, Any] = Field(default_factory=dict)
    labelled_fraction: float = Field(1.0, gt=0.0, le=1.0)
    train_subset: int | None = Field(None, gt=0)  # first-N of a fixed shuffle, for budget runs
    test_subset: int | None = Field(None, gt=0)
    # > 0: hold out this fraction of the training split (a fixed shuffle, the same for every
    # seed and method) as a validation split: the "best" checkpoint and every hyper-parameter
    # choice are made on it, never on the test split
    validation: float = Field(0.0, ge=0.0, lt=1.0)
    augment: dict[str, Any] | None = None  # None: the dataset's default augmentation
    # domain adaptation (a dataset with domain tags, e.g. ssda): keep the labels of this many
    # target samples per class (drawn by the run's seed; 0: unsupervised adaptation), hold out
    # target_val_shots more per class as the validation split (0: none), leave the rest
    # unlabelled
    target_shots: int | None = Field(None, ge=0)
    target_val_shots: int = Field(3, ge=0)


class OptimSpec(_Strict):
    name: Literal["sgd", "adam", "adamw"] = "sgd"
    lr: float = Field(0.05, gt=0)
    momentum: float = 0.9
    weight_decay: float = 5e-4
    nesterov: bool = False
    betas: tuple[float, float] = (0.9, 0.999)


class ScheduleSpec(_Strict):
    name: Literal["constant", "step", "cosine"] = "step"
    milestones: list[float] = Field(default_factory=lambda: [150, 180, 210])
    gamma: float = 0.1
    warmup_epochs: float = 0.0


class AdversarialSpec(_Strict):
    """Adversarial training: each batch is replaced by an L-inf attack on the student (radius and
    step in pixel units, [0, 1]). ``pgd``: Madry et al. 2018, ``steps`` steps of ``step``;
    ``fast``: FGSM from a uniform random start with one step of 1.25·eps (Wong, Rice & Kolter
    2020, "Fast is better than free"; ``step`` and ``steps`` unused); ``fgsm``: one step of eps
    from the clean input. ``overfit_check`` (single-step attacks): after every epoch, PGD-10 and
    FGSM accuracy on the first 1,024 training samples are logged, and a PGD accuracy more than 20
    points below its best so far, or 50 points below the FGSM accuracy (catastrophic
    overfitting, Wong et al.), stops the run with an error (``advkt.engine.overfitting``).
    ``eps_warmup_epochs`` (ours, 0 = off): the radius, and with it every step size, grows
    linearly from 0 to ``eps`` over that many epochs (counted in steps), a curriculum for small
    networks that do not learn at the full radius from a random initialisation."""

    attack: Literal["pgd", "fast", "fgsm"] = "pgd"
    eps: float = Field(0.3, gt=0)
    step: float = Field(0.01, gt=0)
    steps: int = Field(40, ge=1)
    random_start: bool = True
    overfit_check: bool = True
    eps_warmup_epochs: float = Field(0.0, ge=0)


class TrainSpec(_Strict):
    epochs: int = Field(240, ge=1)
    batch_size: int = Field(64, ge=1)
    eval_batch_size: int = Field(1024, ge=1)
    optimizer: OptimSpec = Field(default_factory=OptimSpec)
    schedule: ScheduleSpec = Field(default_factory=ScheduleSpec)
    grad_clip: float | None = Field(None, gt=0)
    # max-norm constraint on the student group's weights after each step: every unit's incoming
    # weight vector (a row of a linear weight, a convolution's filter) rescaled to L2 norm <= c
    # (Hinton et al. 2012; Srivastava et al. 2014, who use c = 3-4 with high learning rates)
    max_norm: float | None = Field(None, gt=0)
    # autocast: bf16 on CUDA and on CPUs (fast where the CPU has AMX / AVX-512 BF16), fp16 on CUDA
    amp: Literal["none", "bf16", "fp16"] = "none"
    device: str = "auto"
    check_every: int = Field(20, ge=1)  # steps between NaN checks (each check syncs the device)
    save_every: int = Field(1, ge=1)  # epochs between checkpoints
    adversarial: AdversarialSpec | None = None  # train on attacked inputs (any method)
    # re-ID's triplet batches: P = batch_size / K identities, K images of each (advkt.reid.sampler)
    images_per_identity: int | None = Field(None, ge=1)
    # without augmentation or attack: compute the teacher's outputs on the training split once
    # and read them by sample index (false: run the teacher on every batch)
    cache_teacher: bool = True
    # 4-D weights and activations in NHWC layout (torch.channels_last): the same numbers, faster
    # convolutions on CPU oneDNN (digit CNNs step 1.4-1.6x faster on one thread here)
    channels_last: bool = False
    tensorboard: bool = False  # also write the metrics as TensorBoard events (<run>/tensorboard)


class MethodSpec(_Strict):
    name: str
    args: dict[str, Any] = Field(default_factory=dict)


class Recipe(_Strict):
    name: str = ""
    method: MethodSpec
    student: ModelSpec
    teacher: TeacherSpec | None = None
    data: DataSpec
    train: TrainSpec = Field(default_factory=TrainSpec)
    seed: int = 0
    out: str = "runs"

    def digest(self) -> str:
        """A short content hash, for caching a teacher trained from this recipe: everything but
        ``out`` (where runs are written is not what they compute)."""
        blob = json.dumps(self.model_dump(mode="json", exclude={"out"}), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


def _set_dotted(tree: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    node = tree
    for p in parts[:-1]:
        nxt = node.get(p)
        if nxt is None:
            nxt = node[p] = {}
        if not isinstance(nxt, dict):
            raise RecipeError(f"override '{key}': '{p}' is a value, not a section")
        node = nxt
    node[parts[-1]] = value


def parse_overrides(items: list[str]) -> list[tuple[str, Any]]:
    """``["train.epochs=3", "seed=1"]`` -> ``[("train.epochs", 3), ("seed", 1)]`` (YAML values)."""
    out = []
    for item in items:
        if "=" not in item:
            raise RecipeError(f"override '{item}' is not of the form key=value")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError:
            value = raw
        out.append((key.strip(), value))
    return out


def _explain(err: ValidationError) -> str:
    """One line for the first error, naming the key and the valid choices."""
    e = err.errors()[0]
    loc = ".".join(str(p) for p in e["loc"])
    if e["type"] == "extra_forbidden":
        parent = e["loc"][:-1]
        model: Any = Recipe
        for p in parent:
            field = model.model_fields.get(str(p)) if hasattr(model, "model_fields") else None
            ann = getattr(field, "annotation", None)
            model = next(
                (a for a in getattr(ann, "__args__", (ann,)) if hasattr(a, "model_fields")), ann
            )
        valid = ", ".join(sorted(getattr(model, "model_fields", {})))
        where = f" under '{'.'.join(map(str, parent))}'" if parent else ""
        return f"unknown recipe key '{loc}'; valid keys{where}: {valid}"
    if e["type"] == "missing":
        return f"recipe key '{loc}' is required"
    return f"recipe key '{loc}': {e['msg']} (got {e.get('input')!r})"


def _merge(base: dict, top: dict) -> dict:
    out = dict(base)
    for k, v in top.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _with_base(tree: dict, path: Path, depth: int = 0) -> dict:
    """Resolve ``base: other.yaml`` (relative to this file): this recipe's keys override its base.

    Peers of one comparison share one base file, so their data and schedule are the same by
    construction, not by copy.
    """
    if "base" not in tree:
        return tree
    if depth > 8:
        raise RecipeError(f"{path}: 'base' nests too deeply (a cycle?)")
    base_path = path.parent / str(tree.pop("base"))
    if not base_path.is_file():
        raise RecipeError(f"{path}: base recipe not found: {base_path}")
    base = yaml.safe_load(base_path.read_text()) or {}
    return _merge(_with_base(base, base_path, depth + 1), tree)


def load_recipe(
    path: str | Path | None = None, overrides: list[str] | None = None, base: dict | None = None
) -> Recipe:
    """Read a YAML recipe (or start from ``base``), apply overrides, validate."""
    tree: dict = dict(base or {})
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise RecipeError(f"recipe file not found: {p}")
        try:
            loaded = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as exc:
            raise RecipeError(f"{p}: not valid YAML: {exc}") from None
        if not isinstance(loaded, dict):
            raise RecipeError(f"{p}: a recipe must be a mapping of keys to values")
        tree = _with_base(loaded, p)
        if not tree.get("name"):
            tree["name"] = p.stem
        # a teacher's recipe or checkpoint path is relative to the recipe that names it
        t = tree.get("teacher")
        for key in ("recipe", "checkpoint"):
            if isinstance(t, dict) and t.get(key) and not Path(t[key]).is_absolute():
                t[key] = str((p.parent / t[key]).resolve())
    for key, value in parse_overrides(overrides or []):
        _set_dotted(tree, key, value)
    try:
        return Recipe.model_validate(tree)
    except ValidationError as err:
        raise RecipeError(_explain(err)) from None


# the recipe keys that hold paths (where a run lives and reads its files, not what it computes): a
# saved recipe stores each relative to its own folder, so that a run folder (its records committed
# beside a benchmark's results) reads the same in any checkout
PATH_KEYS = (("out",), ("data", "root"), ("teacher", "checkpoint"), ("teacher", "recipe"))


def path_slots(tree: dict) -> list[tuple[dict, str]]:
    """(section, key) of each of :data:`PATH_KEYS` that a recipe tree (a JSON dump) holds."""
    slots = []
    for keys in PATH_KEYS:
        node = tree
        for k in keys[:-1]:
            node = node.get(k) if isinstance(node, dict) else None
        if isinstance(node, dict) and keys[-1] in node:
            slots.append((node, keys[-1]))
    return slots


def _map_paths(tree: dict, fn) -> dict:
    for node, key in path_slots(tree):
        if isinstance(node[key], str):
            node[key] = fn(node[key])
    return tree


def save_recipe(recipe: Recipe, path: str | Path) -> None:
    """Write the resolved recipe as JSON, its paths relative to ``path``'s folder."""
    here = Path(path).resolve().parent
    tree = _map_paths(
        recipe.model_dump(mode="json"), lambda v: os.path.relpath(Path(v).resolve(), here)
    )
    write_text_atomic(path, json.dumps(tree, indent=2) + "\n")


def recipe_from_json(path: str | Path) -> Recipe:
    """Read a recipe that :func:`save_recipe` wrote, its relative paths resolved against its
    folder (an absolute one, as older runs saved them, is kept)."""
    here = Path(path).resolve().parent
    try:
        tree = _map_paths(json.loads(Path(path).read_text()), lambda v: str((here / v).resolve()))
        return Recipe.model_validate(tree)
    except (OSError, ValueError) as exc:
        raise RecipeError(f"cannot read resolved recipe {path}: {exc}") from None
