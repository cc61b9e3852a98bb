"""``advkt compare`` with its seeds spread over processes: the same comparison, faster on a
machine with spare cores.

Trains each distinct teacher once (the cached teacher every recipe then loads), runs one
``advkt compare ... --seeds k`` process per seed, then one final ``advkt compare ... --seeds N``
that finds every finished run and writes table.md, plot.png and results.json. The results are
those of a plain ``advkt compare`` with the same arguments; only the wall-time column differs, as
processes share the machine.

    OMP_NUM_THREADS=1 python benchmarks/compare_parallel.py --seeds 5 --jobs 5 \
        --out benchmarks/results/mnist1d-hksanc recipes/mnist1d/student_cnn1d8.yaml ...
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from advkt.engine.trainer import build_teacher, load_splits
from advkt.recipe import load_recipe


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("recipes", nargs="+", help="recipes, then key=value overrides")
    ap.add_argument("--seeds", type=int, required=True)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    recipes = [a for a in args.recipes if "=" not in a]
    overrides = [a for a in args.recipes if "=" in a]
    seen = set()
    for path in recipes:
        r = load_recipe(path, [*overrides, f"out={args.out}"])
        if r.teacher is not None and r.teacher.recipe and r.teacher.recipe not in seen:
            seen.add(r.teacher.recipe)
            build_teacher(r, load_splits(r).train, quiet=True)
    base = [sys.executable, "-m", "advkt", "compare", *recipes, *overrides, "--out", args.out]
    pending = list(range(1, args.seeds + 1))
    running: list[subprocess.Popen] = []
    while pending or running:
        while pending and len(running) < args.jobs:
            running.append(subprocess.Popen([*base, "--seeds", str(pending.pop(0)) + ","]))
        running[0].wait()
        if running[0].returncode:
            sys.exit(f"a seed's comparison failed (exit {running[0].returncode})")
        running.pop(0)
    sys.exit(subprocess.call([*base, "--seeds", str(args.seeds)]))


if __name__ == "__main__":
    main()
