"""BiAT against S+T, ENT, DANN, VAT and MME on semi-supervised domain adaptation (issue #18):
every task of a family, 1 and 3 target shots a class, seeds 1-3, the same shots, extractor,
schedule and selection rule for every method, in one run.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/biat_ssda.py --family office_caltech --workers 2
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/biat_ssda.py --family digits
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/biat_ssda.py --family amazon_reviews

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/biat_ssda.py --family office_caltech --sweep
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/biat_ssda.py --family office_caltech \
        --methods biat biat-no-at biat-no-aat biat-no-evat biat-no-entropy

``--sweep`` trains each method's main weight at three values (``SWEEP``: 3 target shots, seed 1,
every task) and writes ``sweep.md`` / ``sweep.json`` with the choice by target-validation
accuracy; the chosen values go into the family's recipes by hand, and a record made by the
recipe before that change then stops the main run with the difference (delete it to retrain).
The ablation rows each remove one of BiAT's terms and are paired against BiAT.

Each run is ``recipes/<family recipes>/<method>.yaml`` with the task's source and target, the
shots and the seed overridden, trained into ``$ADVKT_CACHE/biat-<family>/`` (a finished run is
reused) and its summary recorded in ``benchmarks/results/biat-<family>/runs/`` (committed: a
rerun reads the records and trains only what is missing). Figures are the target test accuracy
at the last epoch of the fixed schedule. ``--workers 2`` trains two runs at once. Writes
``benchmarks/results/biat-<family>/`` (results.json with one row per method, task and shots;
table.md with the mean over tasks, and BiAT − MME paired by task and seed).
"""

from __future__ import annotations

import argparse
import itertools
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from cached_runs import runs_dir, train_once  # the sibling script

ROOT = Path(__file__).resolve().parents[1]
METHODS = ("st", "ent", "dann", "vat", "mme", "biat")
# BiAT's ablation (docs/methods/biat.md): each term removed from recipes/<family>/biat.yaml
ABLATIONS = {
    "biat-no-at": "method.args.at_weight=0",
    "biat-no-aat": "method.args.aat_weight=0",
    "biat-no-evat": "method.args.evat_weight=0",
    "biat-no-entropy": "method.args.lam=0",
}
FAMILIES = {  # family -> (recipe folder, domains: every ordered pair is a task)
    "office_caltech": ("office_caltech", ("amazon", "caltech", "dslr", "webcam")),
    "amazon_reviews": ("amazon_reviews_ssda", ("books", "dvd", "electronics", "kitchen")),
    "digits": ("digits_da", ("mnist", "usps")),
}


# the validation sweep (--sweep): each method's main weight, three trials each (S+T has none);
# BiAT's three weights alpha, beta, gamma scaled together; VAT's radius eps, as its paper fixes
# alpha = 1 and tunes eps (Miyato et al. 2018). Trained on the 3-shot setting, seed 1,
# every task; chosen by the mean target-validation accuracy (the validation shots, last epoch)
SWEEP = {
    "ent": [f"method.args.lam={v}" for v in (0.03, 0.1, 0.3)],
    "dann": [f"method.args.weight={v}" for v in (0.1, 0.3, 1.0)],
    "vat": [f"method.args.eps={v}" for v in (0.3, 1.0, 3.0)],
    "mme": [f"method.args.lam={v}" for v in (0.03, 0.1, 0.3)],
    "biat": [
        f"method.args.at_weight={v},method.args.aat_weight={v},method.args.evat_weight={v}"
        for v in (0.1, 0.3, 1.0)
    ],
}


def tasks(family: str) -> list[tuple[str, str]]:
    return list(itertools.permutations(FAMILIES[family][1], 2))


def overrides(family: str, src: str, tgt: str, shots: int, seed: int) -> list[str]:
    over = [f"data.args.source={src}", f"data.args.target={tgt}", f"data.target_shots={shots}"]
    if family == "digits" and src == "usps":
        over.append("data.args.source_limit=null")  # every USPS image; 2,000 MNIST ones
    if family == "office_caltech" and tgt == "dslr" and shots == 3:
        over.append("data.target_val_shots=1")  # dslr's smallest class has 4 training images
    return [*over, f"seed={seed}"]


def results_dir(family: str) -> Path:
    return ROOT / "benchmarks" / "results" / f"biat-{family.replace('_', '-')}"


def run(
    family: str, method: str, src: str, tgt: str, shots: int, seed: int, trial: str | None = None
) -> dict:
    """One run's summary; ``trial`` (an entry of SWEEP, comma-separated overrides) makes it a
    sweep run, recorded apart under ``sweep-runs/``."""
    import torch

    torch.set_num_threads(1)
    recipe = ROOT / "recipes" / FAMILIES[family][0] / f"{method.split('-')[0]}.yaml"
    extra = [ABLATIONS[method]] if method in ABLATIONS else []
    name = f"{src}-{tgt}-{shots}shot-{method}-s{seed}"
    record = results_dir(family) / "runs" / f"{name}.json"
    if trial is not None:
        extra = trial.split(",")
        name = f"{name}-{'-'.join(o.removeprefix('method.args.').replace('=', '') for o in extra)}"
        record = results_dir(family) / "sweep-runs" / f"{name}.json"
    where = runs_dir(f"biat-{family}") / name
    return train_once(recipe, [*overrides(family, src, tgt, shots, seed), *extra], where, record)


def sweep(family: str, pairs: list[tuple[str, str]], methods: list[str], workers: int) -> int:
    """Every SWEEP trial of ``methods`` on ``pairs`` (3 shots, seed 1): writes sweep.md and
    sweep.json (the choice per method) beside the family's results."""
    from advkt.report.results import mean_std

    todo = [(m, t) for m in methods if m in SWEEP for t in SWEEP[m]]
    with ProcessPoolExecutor(workers) as pool:
        futures = {
            (m, t): [pool.submit(run, family, m, s, g, 3, 1, t) for s, g in pairs] for m, t in todo
        }
        val = {key: [f.result()["val_acc"] for f in fs] for key, fs in futures.items()}
    lines = [
        f"# {family}: the validation sweep (3 target shots, seed 1, {len(pairs)} tasks)",
        "",
        "Mean target-validation accuracy over the tasks (the validation shots, last epoch; the",
        "target test split is not read). The chosen trial per method is in bold.",
        "",
        "| method | trial | validation acc (%) |",
        "|---|---|---|",
    ]
    chosen = {}
    for m in dict.fromkeys(m for m, _ in todo):
        trials = [t for mm, t in todo if mm == m]
        best = max(trials, key=lambda t: mean_std(val[m, t])[0])  # the first of equals kept
        chosen[m] = best
        for t in trials:
            mean, std = mean_std(val[m, t])
            cell = f"{mean:.2f} ± {std:.2f}"
            lines.append(f"| {m} | {t} | {f'**{cell}**' if t == best else cell} |")
    out = results_dir(family)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.md").write_text("\n".join(lines) + "\n")
    (out / "sweep.json").write_text(json.dumps({"chosen": chosen, "validation": {
        f"{m} {t}": v for (m, t), v in val.items()}}, indent=1) + "\n")  # fmt: skip
    print("\n".join(lines))
    return 0


def main(argv: list[str] | None = None) -> int:
    import torch

    from advkt.report.results import fmt, mean_std, row, write_results

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--family", choices=FAMILIES, required=True)
    p.add_argument("--shots", type=int, nargs="+", default=[1, 3])
    p.add_argument("--seeds", type=int, default=3, help="seeds 1..n")
    p.add_argument(
        "--methods",
        nargs="+",
        default=list(METHODS),
        choices=[*METHODS, *ABLATIONS],
        help="the peers and BiAT (default), or BiAT's ablation rows: " + ", ".join(ABLATIONS),
    )
    p.add_argument(
        "--tasks", nargs="+", help="source:target, e.g. amazon:webcam (default: every pair)"
    )
    p.add_argument("--workers", type=int, default=1, help="runs trained at once")
    p.add_argument(
        "--sweep",
        action="store_true",
        help="train the validation sweep (SWEEP) instead and write sweep.md / sweep.json",
    )
    p.add_argument(
        "--out", type=Path, default=None, help="default: benchmarks/results/biat-<family>"
    )
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    seeds = list(range(1, args.seeds + 1))
    acc: dict[tuple[str, int, str], list[float]] = {}
    pairs = [t for t in tasks(args.family) if not args.tasks or ":".join(t) in args.tasks]
    unknown = set(args.tasks or ()) - {":".join(t) for t in pairs}
    if unknown:
        p.error(f"unknown tasks {sorted(unknown)} for {args.family}: expected source:target")
    if args.sweep:
        return sweep(args.family, pairs, args.methods, args.workers)
    cells = list(itertools.product(args.shots, pairs, args.methods))  # every shot setting first
    with ProcessPoolExecutor(args.workers) as pool:
        futures = {
            (k, src, tgt, m): [pool.submit(run, args.family, m, src, tgt, k, s) for s in seeds]
            for k, (src, tgt), m in cells
        }
        for (k, src, tgt, m), fs in futures.items():
            acc[f"{src}->{tgt}", k, m] = [f.result()["test_acc"] for f in fs]
            print(
                f"{src}->{tgt} {k}-shot {m}: {fmt(*mean_std(acc[f'{src}->{tgt}', k, m]))}",
                flush=True,
            )
    rows = [row(m, task, "test_acc", v, shots=k, seeds=seeds) for (task, k, m), v in acc.items()]
    lines = [f"# Semi-supervised domain adaptation, {args.family}: target test accuracy (%)", ""]
    names = [f"{s}->{t}" for s, t in pairs]

    def paired(row: str, base: str, k: int) -> str:  # row − base, paired by task and seed
        d = [x - y for t in names for y, x in zip(acc[t, k, base], acc[t, k, row])]
        return (
            f"{row} − {base}, paired by task and seed: {fmt(*mean_std(d))} points, "
            f"ahead on {sum(x > 0 for x in d)} of {len(d)}."
        )

    for k in args.shots:
        lines += [f"## {k}-shot (mean ± std over seeds {seeds[0]}-{seeds[-1]})", ""]
        lines += [
            "| task | " + " | ".join(args.methods) + " |",
            "|---|" + "---|" * len(args.methods),
        ]
        for task in names:
            cells = [fmt(*mean_std(acc[task, k, m]), 1) for m in args.methods]
            lines.append(f"| {task} | " + " | ".join(cells) + " |")
        means = [mean_std([sum(acc[t, k, m]) / len(seeds) for t in names])[0] for m in args.methods]
        lines.append("| **mean** | " + " | ".join(f"{v:.1f}" for v in means) + " |")

        if {"biat", "mme"} <= set(args.methods):
            lines += ["", paired("biat", "mme", k)]
        if "biat" in args.methods:
            lines += [paired(a, "biat", k) for a in args.methods if a in ABLATIONS]
        lines.append("")
    out = args.out or results_dir(args.family)
    command = f"python benchmarks/biat_ssda.py --family {args.family}"
    write_results(out, f"biat-{args.family}", rows, command=command)
    (out / "table.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
