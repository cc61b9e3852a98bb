"""The fixed EWGAN's choices made on the training folds only (issue #15): how many generator
steps the share weighting with the support filter needs (``--study steps``), which filter
of generated rows (``--study filter``), and whether early stopping on the MMD to held-out
minority rows beats the fixed budget (``--study stop``), and whether a cheaper training (fewer
critic steps, or fewer generator steps at a higher rate) keeps the stop study's quality within
the speed target (``--study speed``).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ewgan_budget.py --jobs 2
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ewgan_budget.py --study filter --jobs 2
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ewgan_budget.py --study stop --jobs 2
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ewgan_budget.py --study speed --jobs 2

For every KEEL set, the outer 5-fold split of ``ewgan_keel.py`` (seed 0); inside each training
fold a stratified inner split (75 / 25, seed 0) is the only data used: EWGAN is fitted on the
inner-training part with each ``STEPS`` budget, the four classifiers of ``ewgan_keel.py`` are
trained on its output and scored on the inner-validation part (minority F1, G-mean, AUC). The
test folds are never read. The choice of steps (``CHOICE_RULE``): the fewest steps whose
inner-validation G-mean, averaged over classifiers, folds and sets, is within 0.01 of the best
budget's. The choice of filter: the highest mean of F1, G-mean and AUC so averaged (the three
metrics the KEEL comparison ranks on); none, ROS and SMOTE are scored beside it as references,
never chosen. The stop study chooses by the same mean, and the speed study by the same mean
among the variants whose median fit takes at most ``SPEED_LIMIT`` seconds.

Writes benchmarks/results/ewgan-budget/, ewgan-filter/, ewgan-stop/ or ewgan-speed/ (results.json,
table.md, sets/): per variant the mean inner G-mean, F1 and AUC, the median and maximum fit_resample
seconds, and the choice.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
from ewgan_keel import CLASSIFIERS, _onehot, make_classifier, make_sampler, score  # sibling

from advkt.atomic import write_text_atomic

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
STEPS = (50, 100, 200, 400)
CHOICE_RULE = 0.01  # G-mean within this of the best budget's: take the fewest steps
FILTER_STEPS = 100  # the steps study's choice
# variant -> EWGANOverSampler arguments (share weighting); a string names a peer of ewgan_keel
STUDIES = {
    "steps": {str(n): {"filter": "support", "n_iter": n} for n in STEPS},
    "filter": {
        "none": {"filter": "none", "n_iter": FILTER_STEPS},
        "support": {"filter": "support", "n_iter": FILTER_STEPS},
        "safe": {"filter": "safe", "n_iter": FILTER_STEPS},
        "safe-pool2": {"filter": "safe", "n_iter": FILTER_STEPS, "pool": 2},
        "peer:none": "none",
        "peer:ros": "ros",
        "peer:smote": "smote",
    },
    # early stopping on the MMD to held-out minority rows (stop="mmd") against the fixed budget
    "stop": {
        "safe-100": {"filter": "safe", "n_iter": FILTER_STEPS},
        "safe-mmd-300": {"filter": "safe", "n_iter": 300, "stop": "mmd"},
        "safe-mmd-600": {"filter": "safe", "n_iter": 600, "stop": "mmd"},
        "safe-mmd-1200": {"filter": "safe", "n_iter": 1200, "stop": "mmd"},
        "peer:ros": "ros",
    },
    # the stop study's choice (safe-mmd-1200: median 22 s a fit) made cheaper: fewer critic steps
    # per generator step (one or two instead of five), or the five at a higher rate (the default
    # 5e-4) for at most 150 generator steps
    "speed": {
        "safe-mmd-600-c1": {"filter": "safe", "n_iter": 600, "stop": "mmd", "n_critic": 1},
        "safe-mmd-1200-c1": {"filter": "safe", "n_iter": 1200, "stop": "mmd", "n_critic": 1},
        "safe-mmd-600-c2": {"filter": "safe", "n_iter": 600, "stop": "mmd", "n_critic": 2},
        "safe-mmd-150-lr1e-3": {"filter": "safe", "n_iter": 150, "stop": "mmd", "lr": 1e-3},
        "safe-mmd-150-lr2e-3": {"filter": "safe", "n_iter": 150, "stop": "mmd", "lr": 2e-3},
        "safe-mmd-150-lr4e-3": {"filter": "safe", "n_iter": 150, "stop": "mmd", "lr": 4e-3},
        "peer:ros": "ros",
    },
}
OUT_NAMES = {
    "steps": "ewgan-budget",
    "filter": "ewgan-filter",
    "stop": "ewgan-stop",
    "speed": "ewgan-speed",
}
SPEED_LIMIT = 2.0  # the speed study: only variants with a median fit of at most this (s)
METRICS = ("gmean", "f1", "auc")


def run_set(path: Path, folds: int = 5, study: str = "steps", out: Path | None = None) -> dict:
    """One KEEL set's inner-validation figures for every variant of ``study``, recorded under
    ``out/sets/`` (committed) and read back, so that an interrupted run continues; a variant
    already recorded with the same settings and folds is read back, only the others are run."""
    out = out or RESULTS / OUT_NAMES[study]
    record = out / "sets" / f"{path.stem}.json"
    variants = STUDIES[study]
    kept: dict = {}
    if record.is_file():
        old = json.loads(record.read_text())
        if old["folds"] == folds:
            kept = {
                v: old["results"][v]
                for v, spec in old["variants"].items()
                if variants.get(v) == spec and v in old["results"]
            }
    missing = {v: spec for v, spec in variants.items() if v not in kept}
    if not missing:
        return {**old, "variants": variants, "results": {v: kept[v] for v in variants}}
    ran = _run_set(path, folds, missing)
    result = {
        **ran,
        "variants": variants,
        "results": {v: {**kept, **ran["results"]}[v] for v in variants},
    }
    record.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(record, json.dumps(result, indent=1) + "\n")
    return result


def _sampler(spec, fold: int, nominal):
    from advkt.oversample.ewgan import EWGANOverSampler

    if isinstance(spec, str):
        return make_sampler(spec, fold, nominal, None)  # the peers read no setting of cfg
    return EWGANOverSampler(
        **spec, random_state=fold, categorical_features=nominal or None, device="cpu"
    )


def _run_set(path: Path, folds: int, variants: dict) -> dict:
    import torch
    from sklearn.model_selection import StratifiedKFold, train_test_split

    from advkt.data.keel import read_keel

    torch.set_num_threads(1)
    data = read_keel(path)
    y = (data.y == data.minority).astype(np.int64)
    res = {v: {**{m: [] for m in METRICS}, "seconds": []} for v in variants}
    outer = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for fold, (tr, _) in enumerate(outer.split(data.X, y)):  # the test folds stay unread
        i_tr, i_va = train_test_split(tr, test_size=0.25, stratify=y[tr], random_state=0)
        X_va = _onehot(data, data.X[i_va])  # the same for every variant and classifier
        for v, spec in variants.items():
            sampler = _sampler(spec, fold, data.nominal)
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                X_res, y_res = (
                    (data.X[i_tr], y[i_tr]) if sampler is None
                    else sampler.fit_resample(data.X[i_tr], y[i_tr])
                )  # fmt: skip
            res[v]["seconds"].append(time.perf_counter() - t0)
            scores = []
            for c in CLASSIFIERS:
                model = make_classifier(c, 0)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.fit(_onehot(data, X_res), y_res)
                scores.append(score(model, X_va, y[i_va]))
            for m in METRICS:
                res[v][m].append(float(np.mean([sc[m] for sc in scores])))
    print(f"{path.stem} done", file=sys.stderr, flush=True)
    return {"dataset": path.stem, "variants": variants, "folds": folds, "results": res}


def choose(study: str, summary: dict) -> str:
    """The steps study: the fewest steps within ``CHOICE_RULE`` G-mean of the best; the filter
    and stop studies: the EWGAN variant with the highest mean of F1, G-mean and AUC; the speed
    study: the same among the variants whose median fit takes at most ``SPEED_LIMIT`` s."""
    if study == "steps":
        best = max(v["gmean"] for v in summary.values())
        return str(min(int(n) for n, v in summary.items() if v["gmean"] >= best - CHOICE_RULE))
    ours = {n: v for n, v in summary.items() if not n.startswith("peer:")}
    if study == "speed":
        ours = {n: v for n, v in ours.items() if v["median_s"] <= SPEED_LIMIT}
        if not ours:
            return f"none (no variant's median fit is within {SPEED_LIMIT} s)"
    return max(ours, key=lambda n: np.mean([ours[n][m] for m in METRICS]))


def rule_name(study: str) -> str:
    return f"best mean, median fit <= {SPEED_LIMIT} s" if study == "speed" else "best mean"


def main() -> None:
    from advkt.report.results import write_results

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "data_dir", type=Path, nargs="?", default=ROOT.parent / "shared" / "data" / "keel"
    )
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--study", choices=sorted(STUDIES), default="steps")
    ap.add_argument("--out", type=Path, default=None, help="default benchmarks/results/<study's>")
    args = ap.parse_args()
    out = args.out or RESULTS / OUT_NAMES[args.study]
    paths = sorted(args.data_dir.glob("*.dat"), key=lambda p: p.stat().st_size, reverse=True)
    with ProcessPoolExecutor(args.jobs) as pool:
        run = partial(run_set, study=args.study, out=out)
        sets = sorted(pool.map(run, paths), key=lambda r: r["dataset"])
    summary = {}
    for v in STUDIES[args.study]:
        per_set = [s["results"][v] for s in sets]
        secs = [t for b in per_set for t in b["seconds"]]
        summary[v] = {m: float(np.mean([np.mean(b[m]) for b in per_set])) for m in METRICS}
        summary[v].update(median_s=statistics.median(secs), max_s=max(secs))
    chosen = choose(args.study, summary)
    rows = [{"method": f"ewgan@{v}", "dataset": f"keel-{len(sets)}", "metric": k,
             "values": [r[k]], "mean": r[k], "std": 0.0} for v, r in summary.items()
            for k in (*METRICS, "median_s", "max_s")]  # fmt: skip
    command = "python benchmarks/ewgan_budget.py" + (
        f" --study {args.study}" if args.study != "steps" else ""
    )
    steps = args.study == "steps"
    write_results(out, OUT_NAMES[args.study], rows, command=command, sets=sets, chosen=chosen,
                  rule=CHOICE_RULE if steps else rule_name(args.study))  # fmt: skip
    lines = [
        f"EWGAN (share weighting), study `{args.study}`: variants scored on inner validation "
        f"splits of the training folds of {len(sets)} KEEL sets (seed 0, 5 outer folds).",
        "",
        "| variant | inner-val G-mean | inner-val F1 | inner-val AUC | mean of the three | "
        "median fit (s) | max fit (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for v, r in summary.items():
        mark = " (**chosen**)" if v == chosen else ""
        lines.append(f"| {v}{mark} | {r['gmean']:.4f} | {r['f1']:.4f} | {r['auc']:.4f} | "
                     f"{np.mean([r[m] for m in METRICS]):.4f} | {r['median_s']:.2f} | "
                     f"{r['max_s']:.2f} |")  # fmt: skip
    rule = (f"the fewest steps within {CHOICE_RULE} G-mean of the best budget"
            if steps else
            "the EWGAN variant with the best mean of the three (peers: references)")  # fmt: skip
    if args.study == "speed":
        rule += f", among those whose median fit takes at most {SPEED_LIMIT} s"
    lines += ["", f"Rule: {rule}."]
    (out / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
