"""How many generator steps the fixed EWGAN (the share weighting with the support filter) needs,
chosen on the training folds only (issue #15, point 3).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ewgan_budget.py --jobs 2

For every KEEL set, the outer 5-fold split of ``ewgan_keel.py`` (seed 0); inside each training
fold a stratified inner split (75 / 25, seed 0) is the only data used: EWGAN is fitted on the
inner-training part with each ``STEPS`` budget, the four classifiers of ``ewgan_keel.py`` are
trained on its output and scored on the inner-validation part (minority F1 and G-mean). The
test folds are never read. The choice (``CHOICE_RULE``): the fewest steps whose inner-validation
G-mean, averaged over classifiers, folds and sets, is within 0.01 of the best budget's.

Writes benchmarks/results/ewgan-budget/ (results.json, table.md): per budget the mean inner
G-mean and F1, the median and maximum fit_resample seconds, and the choice.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from ewgan_keel import CLASSIFIERS, _onehot, make_classifier, score  # sibling script

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "ewgan-budget"
STEPS = (50, 100, 200, 400)
CHOICE_RULE = 0.01  # G-mean within this of the best budget's: take the fewest steps


def run_set(path: Path, folds: int = 5) -> dict:
    """One KEEL set's inner-validation figures for every budget, recorded under ``OUT/sets/``
    (committed) and read back, so that an interrupted run continues."""
    record = OUT / "sets" / f"{path.stem}.json"
    if record.is_file():
        kept = json.loads(record.read_text())
        if kept["steps"] == list(STEPS) and kept["folds"] == folds:
            return kept
    out = _run_set(path, folds)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.with_suffix(".tmp").write_text(json.dumps(out, indent=1) + "\n")
    record.with_suffix(".tmp").replace(record)
    return out


def _run_set(path: Path, folds: int) -> dict:
    import torch
    from sklearn.model_selection import StratifiedKFold, train_test_split

    from advkt.data.keel import read_keel
    from advkt.oversample.ewgan import EWGANOverSampler

    torch.set_num_threads(1)
    data = read_keel(path)
    y = (data.y == data.minority).astype(np.int64)
    out = {n: {"gmean": [], "f1": [], "seconds": []} for n in STEPS}
    outer = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for fold, (tr, _) in enumerate(outer.split(data.X, y)):  # the test folds stay unread
        i_tr, i_va = train_test_split(tr, test_size=0.25, stratify=y[tr], random_state=0)
        for n in STEPS:
            nominal = data.nominal or None
            sampler = EWGANOverSampler(
                filter="support",
                n_iter=n,
                random_state=fold,
                categorical_features=nominal,
                device="cpu",
            )
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                X_res, y_res = sampler.fit_resample(data.X[i_tr], y[i_tr])
            out[n]["seconds"].append(time.perf_counter() - t0)
            g, f = [], []
            for c in CLASSIFIERS:
                model = make_classifier(c, 0)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.fit(_onehot(data, X_res), y_res)
                s = score(model, _onehot(data, data.X[i_va]), y[i_va])
                g.append(s["gmean"])
                f.append(s["f1"])
            out[n]["gmean"].append(float(np.mean(g)))
            out[n]["f1"].append(float(np.mean(f)))
    print(f"{path.stem} done", file=sys.stderr, flush=True)
    budgets = {str(n): v for n, v in out.items()}
    return {"dataset": path.stem, "steps": list(STEPS), "folds": folds, "budgets": budgets}


def main() -> None:
    from advkt.report.results import write_results

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "data_dir", type=Path, nargs="?", default=ROOT.parent / "shared" / "data" / "keel"
    )
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    paths = sorted(args.data_dir.glob("*.dat"), key=lambda p: p.stat().st_size, reverse=True)
    with ProcessPoolExecutor(args.jobs) as pool:
        sets = sorted(pool.map(run_set, paths), key=lambda r: r["dataset"])
    summary = {}
    for n in STEPS:
        per_set = [s["budgets"][str(n)] for s in sets]
        secs = [t for b in per_set for t in b["seconds"]]
        summary[n] = {
            "gmean": float(np.mean([np.mean(b["gmean"]) for b in per_set])),
            "f1": float(np.mean([np.mean(b["f1"]) for b in per_set])),
            "median_s": statistics.median(secs),
            "max_s": max(secs),
        }
    best = max(v["gmean"] for v in summary.values())
    chosen = min(n for n, v in summary.items() if v["gmean"] >= best - CHOICE_RULE)
    rows = [{"method": f"ewgan-share-support@{n}", "dataset": "keel-20", "metric": k,
             "values": [v[k]], "mean": v[k], "std": 0.0} for n, v in summary.items()
            for k in ("gmean", "f1", "median_s", "max_s")]  # fmt: skip
    write_results(OUT, "ewgan-budget", rows, command="python benchmarks/ewgan_budget.py",
                  sets=sets, chosen_n_iter=chosen, rule=CHOICE_RULE)  # fmt: skip
    lines = [
        "EWGAN (share weighting, support filter): generator steps chosen on inner validation "
        f"splits of the training folds of {len(sets)} KEEL sets (seed 0, 5 outer folds).",
        "",
        "| generator steps | inner-val G-mean | inner-val F1 | median fit (s) | max fit (s) |",
        "|---|---|---|---|---|",
    ]
    for n, v in summary.items():
        mark = " (**chosen**)" if n == chosen else ""
        lines.append(f"| {n}{mark} | {v['gmean']:.4f} | {v['f1']:.4f} | {v['median_s']:.2f} | "
                     f"{v['max_s']:.2f} |")  # fmt: skip
    lines += ["", f"Rule: the fewest steps within {CHOICE_RULE} G-mean of the best budget."]
    (OUT / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
