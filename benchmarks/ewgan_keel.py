"""EWGAN vs imbalanced-learn peers on the 20 KEEL data sets (issue 6), committed configuration.

    nice -n 10 .venv/bin/python benchmarks/ewgan_keel.py

writes benchmarks/results/ewgan-keel/ (results.json, table.md, timing.md, pca.png, README.md).
Equivalent to ``advkt oversample bench ../shared/data/keel --out benchmarks/results/ewgan-keel
--jobs 3 --ewgan-n-iter 200 --ewgan-max-time 40 --methods none ros smote borderline-smote
adasyn ewgan-share``. The "complement" weighting is compared with "share" in a second, smaller
run (see the results README): the shared 2-core machine had no room for both at full size.
"""

from __future__ import annotations

import sys
from pathlib import Path

from advkt.oversample.cli import main

ROOT = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    args = [
        "bench",
        str(ROOT.parent / "shared" / "data" / "keel"),
        "--out",
        str(ROOT / "benchmarks" / "results" / "ewgan-keel"),
        "--folds", "5",
        "--seeds", "0", "1", "2",
        "--jobs", "3",
        "--ewgan-n-iter", "200",
        "--ewgan-max-time", "40",
        "--methods", "none", "ros", "smote", "borderline-smote", "adasyn", "ewgan-share",
        *sys.argv[1:],
    ]  # fmt: skip
    raise SystemExit(main(args))
