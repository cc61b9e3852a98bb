"""One-off: replace the committed run folders of compare results by one curves.json each.

For every ``benchmarks/results/<name>/`` that has a ``runs/`` folder (or the folders named), write
``curves.json`` (each run's accuracy per epoch, as ``advkt compare`` now writes it; see
docs/benchmarks.md) from the runs of its ``results.json`` rows, then untrack ``runs/`` from git
(``git rm -r --cached``) and delete it. A folder where some row's run has no curve is left as it
is. Run from the repository root::

    PYTHONPATH=src python benchmarks/compact_results.py --exclude mnist1d
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

from advkt.report.curves import collect_curves, rows_runs, write_curves

RESULTS = Path("benchmarks/results")


def missing_runs(curves: dict, runs: dict[str, list[int]]) -> list[str]:
    """The ``<recipe>-s<seed>`` runs asked for that have no curve."""
    return [f"{n}-s{s}" for n, seeds in runs.items() for s in seeds if str(s) not in curves[n]]


def last_epoch_mismatches(curves: dict, rows: list[dict]) -> list[str]:
    """The runs whose last recorded test accuracy is not their row's figure for that seed."""
    out = []
    for r in rows:
        for seed, value in zip(r.get("seeds", []), r["values"]):
            c = curves[r["recipe"]].get(str(seed))
            if c and abs(c["test_acc"][-1] - value) > 1e-9:
                out.append(f"{r['recipe']}-s{seed}: {c['test_acc'][-1]} vs {value}")
    return out


def compact(folder: Path) -> bool:
    """Write ``folder/curves.json`` from ``folder/runs``, untrack and delete ``runs``; False
    (and nothing changed) when a run of results.json has no curve."""
    rows = json.loads((folder / "results.json").read_text())["rows"]
    runs = rows_runs(rows)
    curves = collect_curves(folder / "runs", runs)
    missing = missing_runs(curves, runs)
    if missing:
        print(f"{folder}: left as it is, no curve for {', '.join(missing)}", file=sys.stderr)
        return False
    for line in last_epoch_mismatches(curves, rows):
        print(f"{folder}: note: last test_acc differs from results.json, {line}", file=sys.stderr)
    write_curves(folder, curves)
    subprocess.run(
        ["git", "rm", "-r", "-q", "--cached", "--ignore-unmatch", str(folder / "runs")], check=True
    )
    shutil.rmtree(folder / "runs")
    n = sum(len(v) for v in curves.values())
    print(f"{folder}: curves.json ({n} runs), runs/ untracked and deleted", file=sys.stderr)
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folders", nargs="*", type=Path, help="default: every results folder with runs/")
    p.add_argument("--exclude", action="append", default=[], help="a results folder's name to skip")
    args = p.parse_args(argv)
    folders = args.folders or sorted(d.parent for d in RESULTS.glob("*/runs") if d.is_dir())
    done = [compact(f) for f in folders if f.name not in args.exclude]
    return 0 if all(done) else 1


if __name__ == "__main__":
    sys.exit(main())
