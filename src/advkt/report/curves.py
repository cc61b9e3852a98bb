"""``curves.json``: the per-epoch accuracy of every run of a comparison, in one file.

The run folders (``runs/<recipe>-s<seed>/``) are compare's working area and are not committed;
what a reader of the results needs from them is each run's accuracy over epochs, gathered here::

    {"<recipe>": {"<seed>": {"epoch": [1, 2, ...], "test_acc": [...], "val_acc": [...]}}}

``val_acc`` is there only when every recorded epoch of that run has one (a recipe with a
validation split). A run without a readable ``metrics.jsonl`` has no entry.
"""

from __future__ import annotations

import json
from pathlib import Path

from advkt.atomic import write_text_atomic


def read_curve(metrics: Path) -> dict[str, list]:
    """``{"epoch", "test_acc"[, "val_acc"]}`` lists from a run's metrics.jsonl, in epoch order;
    {} when it is missing or holds no epoch. A torn or incomplete line is skipped, and an epoch
    recorded twice (a run resumed from an earlier checkpoint) keeps its last record."""
    try:
        text = Path(metrics).read_text()
    except OSError:
        return {}
    records: dict[int, dict] = {}
    for line in text.splitlines():
        try:
            rec = json.loads(line)
            val = rec.get("val_acc")
            records[int(rec["epoch"])] = {
                "test_acc": float(rec["test_acc"]),
                "val_acc": None if val is None else float(val),
            }
        except (ValueError, KeyError, TypeError, AttributeError):  # torn, or not a record
            continue
    if not records:
        return {}
    epochs = sorted(records)
    curve = {"epoch": epochs, "test_acc": [records[e]["test_acc"] for e in epochs]}
    if all(records[e]["val_acc"] is not None for e in epochs):
        curve["val_acc"] = [records[e]["val_acc"] for e in epochs]
    return curve


def collect_curves(runs_dir: Path, runs: dict[str, list[int]]) -> dict[str, dict[str, dict]]:
    """The curves.json mapping for ``runs`` ({recipe name: seeds}) from ``runs_dir``."""
    out: dict[str, dict[str, dict]] = {}
    for name, seeds in runs.items():
        per_seed = {}
        for seed in seeds:
            curve = read_curve(Path(runs_dir) / f"{name}-s{seed}" / "metrics.jsonl")
            if curve:
                per_seed[str(seed)] = curve
        out[name] = per_seed
    return out


def rows_runs(rows: list[dict]) -> dict[str, list[int]]:
    """{recipe name: seeds} of the rows of a comparison's results.json (a recipe in two rows,
    ranked and in the convergence check, has the seeds of both)."""
    out: dict[str, list[int]] = {}
    for r in rows:
        seen = out.setdefault(r["recipe"], [])
        seen += [s for s in r.get("seeds", []) if s not in seen]
    return out


def dumps(curves: dict) -> str:
    """curves.json's text: one line per run's curve, so that a diff shows which run changed."""
    blocks = []
    for name, per_seed in curves.items():
        lines = [f"    {json.dumps(seed)}: {json.dumps(c)}" for seed, c in per_seed.items()]
        body = "{\n" + ",\n".join(lines) + "\n  }" if lines else "{}"
        blocks.append(f"  {json.dumps(name)}: {body}")
    return "{\n" + ",\n".join(blocks) + "\n}\n" if blocks else "{}\n"


def write_curves(out_dir: Path, curves: dict) -> Path:
    """Write ``out_dir/curves.json`` atomically and return its path."""
    path = Path(out_dir) / "curves.json"
    write_text_atomic(path, dumps(curves))
    return path


def load_curves(path: Path) -> dict:
    """The mapping of a curves.json; {} when the file is missing."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return {}


def mean_curve(
    curves: dict, recipe: str, seeds: list[int], key: str = "test_acc"
) -> tuple[list[int], list[float]]:
    """Each epoch's ``key`` accuracy, mean over the seeds whose run recorded that epoch."""
    per_epoch: dict[int, list[float]] = {}
    for s in seeds:
        curve = curves.get(recipe, {}).get(str(s), {})
        for e, acc in zip(curve.get("epoch", []), curve.get(key, [])):
            per_epoch.setdefault(e, []).append(acc)
    epochs = sorted(per_epoch)
    return epochs, [sum(per_epoch[e]) / len(per_epoch[e]) for e in epochs]
