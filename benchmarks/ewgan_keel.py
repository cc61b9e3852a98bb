"""EWGAN vs imbalanced-learn peers and CTGAN on the 20 KEEL data sets (issue 6).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ewgan_keel.py

writes benchmarks/results/ewgan-keel/ (results.json, table.md, timing.md, pca*.png, README.md).
Equivalent to ``advkt oversample bench ../shared/data/keel --out benchmarks/results/ewgan-keel
--jobs 2`` with every method (both EWGAN weightings, CTGAN) and the samplers' own budgets:
EWGAN's default generator steps, the same number for CTGAN, no time cap.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from advkt.oversample.cli import main

ROOT = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    # relative to where it runs: the command is written into the committed results
    args = [
        "bench",
        os.path.relpath(ROOT.parent / "shared" / "data" / "keel"),
        "--out",
        os.path.relpath(ROOT / "benchmarks" / "results" / "ewgan-keel"),
        "--folds", "5",
        "--seeds", "0", "1", "2",
        "--jobs", "2",
        *sys.argv[1:],
    ]  # fmt: skip
    raise SystemExit(main(args))
