"""SAVGAE against PyG's GAE, VGAE, ARGA, ARGVA on Cora and CiteSeer (same splits and seeds).

    nice -n 10 .venv/bin/python benchmarks/savgae_planetoid.py --datasets Cora --seeds 10
    nice -n 10 .venv/bin/python benchmarks/savgae_planetoid.py --datasets CiteSeer --seeds 10
    .venv/bin/python benchmarks/savgae_planetoid.py --summarise-only

Each data set can run in its own process; both append to records-<dataset>.jsonl in the results
folder, finished (method, seed) pairs are skipped on a rerun, and every run rebuilds
results.json and table.md from all records. Everything else is ``advkt graph bench``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from advkt.graph.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = [
    "--data-root",
    str(ROOT.parent / "shared" / "data"),
    "--out",
    str(ROOT / "benchmarks" / "results" / "savgae-planetoid"),
]

if __name__ == "__main__":
    sys.exit(main(["graph", "bench", *DEFAULTS, *sys.argv[1:]]))
