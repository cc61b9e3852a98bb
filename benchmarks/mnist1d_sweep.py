"""The validation sweep of issue #13 on the mnist1d pair: each distiller's main weight, and
HKSANC's ours-choices, with the same budget of four trials each, chosen on a validation split.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/mnist1d_sweep.py --jobs 2

Every trial is the method's ``recipes/mnist1d/*.yaml`` (150 epochs, batch 64) with
``data.validation=0.125`` (3,500 training / 500 validation signals of the 4,000; the test split is
never read for the choice), the validation teacher ``benchmarks/teachers/mnist1d-cnn1d128-val``
(the benchmark teacher's recipe trained on the same 3,500 signals:
``recipes/mnist1d/teachers/cnn1d128_val.yaml``) and the trial's overrides, seeds 1-3 (HKSANC's
trials start from the paper's form, ``ablation/hksanc_faithful.yaml``). The choice: the
highest mean validation accuracy (last epoch). Runs train in
``$ADVKT_CACHE/mnist1d-sweep-val-teacher/``;
each finished run's summary is recorded in ``benchmarks/results/mnist1d-sweep/runs/`` and read
back from there (the sweep resumes from its records); writes
``benchmarks/results/mnist1d-sweep/`` (results.json, table.md).
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from cached_runs import runs_dir, train_once  # the sibling script

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes" / "mnist1d"
OUT = ROOT / "benchmarks" / "results" / "mnist1d-sweep"
# the benchmark teacher's recipe trained on the 3,500 training signals only: the committed
# benchmark teacher saw the 500 validation signals, and a student that copies it well inherits
# its (training-set) accuracy there, which would favour the settings that copy it most
VAL_TEACHER = ROOT / "benchmarks" / "teachers" / "mnist1d-cnn1d128-val"
# HKSANC's L_b as KD's soft term (logit_loss="kl", ours) with KD's weights (CE 0.1, soft 0.9);
# L_is (a sum over 128 channels and three points, about 100-4,000 in training) weighted down to
# the KL's scale
KL = [
    "method.args.logit_loss=kl",
    "method.args.T=4.0",
    "method.args.ce_weight=0.1",
    "method.args.lambda_b=0.9",
]
# method -> (recipe, [(trial name, overrides)]): four trials each
TRIALS = {
    "kd": ("kd_cnn1d128_cnn1d32.yaml", [(f"T={t}", [f"method.args.T={t}"]) for t in (2, 4, 8, 16)]),
    "fitnet": (
        "fitnet_cnn1d128_cnn1d32.yaml",
        [(f"beta={b}", [f"method.args.beta={b}"]) for b in (1, 10, 100, 1000)],
    ),
    "at": (
        "at_cnn1d128_cnn1d32.yaml",
        [(f"beta={b}", [f"method.args.beta={b}"]) for b in (10, 100, 1000, 10000)],
    ),
    "fsp": (
        "fsp_cnn1d128_cnn1d32.yaml",
        [(f"beta={b}", [f"method.args.beta={b}"]) for b in (5, 50, 500, 5000)],
    ),
    "dkd": (
        "dkd_cnn1d128_cnn1d32.yaml",
        [(f"beta={b}", [f"method.args.beta={b}"]) for b in (1, 2, 4, 8)],
    ),
    "fsp_two_stage": (
        "fsp2_cnn1d128_cnn1d32.yaml",
        [(f"init_epochs={e}", [f"method.args.init_epochs={e}"]) for e in (10, 30, 50, 75)],
    ),
    # dense flow on FSP's grid; its no-adversarial ablation takes the chosen beta
    "dense_flow": (
        "dense_flow_cnn1d128_cnn1d32.yaml",
        [(f"beta={b}", [f"method.args.beta={b}"]) for b in (5, 50, 500, 5000)],
    ),
    "hksanc": (
        "ablation/hksanc_faithful.yaml",
        [
            ("faithful (ce 0, lambda_b 1)", []),
            ("ce 1, lambda_b 0.1", ["method.args.ce_weight=1.0", "method.args.lambda_b=0.1"]),
            ("KL T 4, ce 0.1, lambda_b 0.9, lambda_is 0.01", [*KL, "method.args.lambda_is=0.01"]),
            ("KL T 4, ce 0.1, lambda_b 0.9, lambda_is 0.001", [*KL, "method.args.lambda_is=0.001"]),
        ],
    ),
}


def run(method: str, trial: int, seed: int) -> dict:
    import torch

    torch.set_num_threads(1)
    recipe, trials = TRIALS[method]
    over = ["data.validation=0.125", f"teacher.checkpoint={VAL_TEACHER}", f"seed={seed}"]
    over += trials[trial][1]
    name = f"{method}-t{trial}-s{seed}"
    return train_once(
        RECIPES / recipe,
        over,
        runs_dir("mnist1d-sweep-val-teacher") / name,
        OUT / "runs" / f"{name}.json",
    )


def main(argv: list[str] | None = None) -> int:
    from advkt.report.results import fmt, mean_std, row, write_results

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--methods", nargs="+", default=list(TRIALS), choices=TRIALS)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--jobs", type=int, default=1)
    args = p.parse_args(argv)
    seeds = list(range(1, args.seeds + 1))
    keys = [(m, t, s) for m in args.methods for t in range(len(TRIALS[m][1])) for s in seeds]
    with ProcessPoolExecutor(args.jobs) as pool:
        done = dict(zip(keys, pool.map(run, *zip(*keys))))
    # the table holds every method whose records are complete, trained now or in an earlier run
    # (so that a run of a few --methods does not drop the others); the rest are listed as such
    for m, (_, trials) in TRIALS.items():
        for t in range(len(trials)):
            for s in seeds:
                record = OUT / "runs" / f"{m}-t{t}-s{s}.json"
                if (m, t, s) not in done and record.is_file():
                    done[m, t, s] = json.loads(record.read_text())
    complete = [
        m
        for m, (_, trials) in TRIALS.items()
        if all((m, t, s) in done for t in range(len(trials)) for s in seeds)
    ]
    rows, lines = [], ["# mnist1d validation sweep (3,500 / 500 of the training signals)", ""]
    lines += ["| method | trial | validation % | chosen |", "|---|---|---|---|"]
    for m in complete:
        vals = {t: [done[m, t, s]["val_acc"] for s in seeds] for t in range(len(TRIALS[m][1]))}
        best = max(vals, key=lambda t: mean_std(vals[t])[0])
        for t, v in vals.items():
            name = TRIALS[m][1][t][0]
            rows.append(
                row(
                    m,
                    "mnist1d-val",
                    "val_acc",
                    v,
                    trial=name,
                    overrides=TRIALS[m][1][t][1],
                    seeds=seeds,
                    chosen=t == best,
                )
            )
            lines.append(
                f"| {m} | {name} | {fmt(*mean_std(v))} | {'**yes**' if t == best else ''} |"
            )
    for m in TRIALS:
        if m not in complete:
            n = sum((m, t, s) in done for t in range(len(TRIALS[m][1])) for s in seeds)
            total = len(TRIALS[m][1]) * len(seeds)
            lines.append(f"| {m} | not complete: {n} of {total} runs | | |")
    write_results(OUT, "mnist1d-sweep", rows, command="python benchmarks/mnist1d_sweep.py --jobs 2")
    (OUT / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
