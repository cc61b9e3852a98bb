"""SAVGAE's link-prediction cost against ARGVA's on Cora, measured side by side (issue #23).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/savgae_timing.py --repeats 2

One process, one torch thread, the split of seed 0 (``split_edges``), each method trained at
its paper's link-prediction length by ``advkt.graph.run.run_one`` (ARGVA 200 iterations of its
released code, SAVGAE 800 with the dense S Sᵀ target and 800 with our sparse one), the methods
interleaved within each repeat so that a change in the machine's load falls on all of them.
Writes ``timing.md`` and ``timing.json`` to the results folder: per repeat and method the wall
seconds and test AUC / AP, and the median ratio of each SAVGAE variant to ARGVA.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch

from advkt.graph.data import load_planetoid, split_edges
from advkt.graph.peers import EPOCHS
from advkt.graph.run import LINK_ITERATIONS, run_one
from advkt.report.results import machine

ROOT = Path(__file__).resolve().parents[1]
METHODS = ("argva", "savgae", "savgae-sparse")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--dataset", default="Cora")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "savgae-planetoid"))
    p.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    data = load_planetoid(args.dataset, args.data_root)
    split = split_edges(data, 0)
    runs = []
    for r in range(args.repeats):
        for method in METHODS:
            rec, _ = run_one(method, data, split, 0, tasks=("link",))
            runs.append(
                {"repeat": r, **{k: rec[k] for k in ("method", "time_link_s", "auc", "ap")}}
            )
            print(json.dumps(runs[-1]), flush=True)
    by = {m: [x for x in runs if x["method"] == m] for m in METHODS}
    ratios = {
        m: statistics.median(
            a["time_link_s"] / b["time_link_s"] for a, b in zip(by[m], by["argva"])
        )
        for m in METHODS[1:]
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    doc = {"dataset": args.dataset, "machine": machine(), "runs": runs, "ratio_to_argva": ratios}
    (out / "timing.json").write_text(json.dumps(doc, indent=1) + "\n")
    lines = [
        f"{args.dataset} link prediction, split of seed 0, one process and one thread, the methods "
        f"interleaved; {args.repeats} repeat(s). Command: "
        f"`OMP_NUM_THREADS=1 python benchmarks/savgae_timing.py --repeats {args.repeats}`.",
        "",
        "| repeat | method | iterations | wall s | AUC | AP |",
        "|---|---|---|---|---|---|",
    ]
    its = {"argva": EPOCHS["argva"], "savgae": LINK_ITERATIONS, "savgae-sparse": LINK_ITERATIONS}
    for x in runs:
        lines.append(
            f"| {x['repeat']} | {x['method']} | {its[x['method']]} | {x['time_link_s']:.0f} | "
            f"{100 * x['auc']:.1f} | {100 * x['ap']:.1f} |"
        )
    lines += ["", "Median wall-time ratio to ARGVA over the repeats (target ≤ 5):", ""]
    lines += [f"- {m} / argva: {v:.2f}" for m, v in ratios.items()]
    (out / "timing.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
