"""Train a benchmark teacher once and commit it as a small, code-free folder.

    python benchmarks/train_teacher.py RECIPE --name NAME [key=value ...]

writes ``benchmarks/teachers/NAME/``: ``model.safetensors`` (the weights; float16 where float32
would pass 5 MB), ``spec.json`` (the architecture), ``recipe.json`` (the resolved recipe that
trained it), ``teacher.json`` (its test accuracy, the command, the machine) and ``metrics.jsonl``
(its curve). Recipes point at it with ``teacher: {model: ..., args: ..., checkpoint: <relative path
to the folder>}``, so a benchmark distils from the same teacher on every machine. The run itself
goes to ``runs/teachers/NAME`` (resumed if it was interrupted).
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from advkt.engine import checkpoint as ckpt
from advkt.engine.evaluation import accuracy
from advkt.engine.splits import load_splits
from advkt.engine.trainer import train
from advkt.models import build_model
from advkt.recipe import load_recipe, save_recipe
from advkt.report.results import machine

ROOT = Path(__file__).resolve().parent / "teachers"
MAX_BYTES = 5 * 2**20


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("recipe")
    p.add_argument("overrides", nargs="*", help="key=value overrides of the teacher recipe")
    p.add_argument("--name", required=True, help="folder name under benchmarks/teachers/")
    p.add_argument("--run-dir", help="where to train (default runs/teachers/NAME)")
    p.add_argument("--root", default=str(ROOT), help="teachers folder (default: this one's)")
    args = p.parse_args(argv)
    recipe = load_recipe(args.recipe, args.overrides)
    run_dir = Path(args.run_dir or Path("runs") / "teachers" / args.name)
    if (run_dir / "summary.json").is_file():
        summary = json.loads((run_dir / "summary.json").read_text())
    elif ckpt.has_checkpoint(run_dir):
        summary = train(None, resume=run_dir)
    else:
        summary = train(recipe, run_dir=run_dir)
    where = ckpt.resolve(run_dir)
    out = Path(args.root) / args.name
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(where / "spec.json", out / "spec.json")
    weights = load_file(str(where / "model.safetensors"))
    stored = "float32"
    if (where / "model.safetensors").stat().st_size > MAX_BYTES:  # halve it: float16 weights
        weights = {k: v.half() if v.is_floating_point() else v for k, v in weights.items()}
        stored = "float16"
    save_file(weights, str(out / "model.safetensors"))
    if (out / "model.safetensors").stat().st_size > MAX_BYTES:
        print(f"{out}: teacher weights over the 5 MiB limit even in float16", file=sys.stderr)
        return 1
    # the accuracy of what is committed (float16 weights round; the loaded model is float32)
    data = load_splits(recipe)
    model = build_model(ckpt.read_spec(out))
    ckpt.load_model_weights(model, out)
    acc = accuracy(model, data.test, torch.device("cpu"), recipe.train.eval_batch_size)["clean"]
    shutil.copyfile(run_dir / "metrics.jsonl", out / "metrics.jsonl")
    save_recipe(recipe, out / "recipe.json")
    command = "python benchmarks/train_teacher.py " + shlex.join(
        [args.recipe, *args.overrides, "--name", args.name]
    )
    info = {
        "test_acc": acc,
        "test_acc_of_the_run": summary["test_acc"],
        "weights": stored,
        "epochs": summary["epochs"],
        "params": summary["params"],
        "wall_time_s": summary["wall_time_s"],
        "command": command,
        "machine": machine(),
    }
    (out / "teacher.json").write_text(json.dumps(info, indent=2) + "\n")
    print(
        f"{out}: test accuracy {acc:.2f} % ({stored} weights; "
        f"the run's {summary['test_acc']:.2f} %)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
