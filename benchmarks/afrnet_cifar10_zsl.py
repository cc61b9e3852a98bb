"""AFRNet against f-CLSWGAN, ESZSL and its own ablations on the CIFAR-10 zero-shot protocol
(issue #21; ``advkt.zsl.cifar10``, ``docs/methods/afrnet.md``).

    OMP_NUM_THREADS=1 ADVKT_DATA=../shared/data python benchmarks/afrnet_cifar10_zsl.py --workers 2

1. One seen-class CNN a split (``recipes/cifar10_zsl/resnet8_seen.yaml`` with the split's pair
   excluded), trained into ``$ADVKT_CACHE/afrnet-cifar10-zsl/`` (an interrupted one continues;
   its test accuracy on the seen classes recorded in ``cnn-<split>.json``); its features, min-max
   scaled by the training rows, make the split's task.
2. The validation sweep: on a task inside the training rows (two seen classes held out as
   unseen, :meth:`advkt.zsl.task.ZSLTask.validation`), each method's main weight at three values
   (``SWEEP``; the prototype-only ablation has none), seed 1, chosen by ZSL top-1 (ties: GZSL H);
   the no-selection ablation takes AFRNet's choice.
3. Every method with its chosen value, seeds 1..N, on the split's task: ZSL top-1, GZSL U, S, H.

Each fit's figures are recorded under ``benchmarks/results/afrnet-cifar10-zsl/runs/`` (committed)
and read back, so a rerun fits only what is missing. Writes results.json (rows: ``method``,
``split``, ``metric``, ``values``, ``seeds``), table.md, sweep.json and plot.png there.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "afrnet-cifar10-zsl"
RECIPE = ROOT / "recipes" / "cifar10_zsl" / "resnet8_seen.yaml"
METRICS = ("zsl_top1", "gzsl_u", "gzsl_s", "gzsl_h")
# method -> (its main weight, three trial values); None: nothing to choose
SWEEP = {
    "eszsl": ("reg", (0.1, 1.0, 10.0)),
    "f-clswgan": ("beta", (0.01, 0.1, 1.0)),
    "afrnet": ("beta", (0.01, 0.1, 1.0)),
    "afrnet-no-residual": None,
    "afrnet-no-selection": "afrnet",  # takes AFRNet's chosen value
}


def build(method: str, **kw):
    from advkt.zsl.afrnet import AFRNet
    from advkt.zsl.eszsl import ESZSL
    from advkt.zsl.fclswgan import FCLSWGAN

    return {
        "eszsl": lambda: ESZSL(**kw),
        "f-clswgan": lambda: FCLSWGAN(**kw),
        "afrnet": lambda: AFRNet(**kw),
        "afrnet-no-residual": lambda: AFRNet(residual=False, **kw),
        "afrnet-no-selection": lambda: AFRNet(keep=1.0, **kw),
    }[method]()


def cache() -> Path:
    base = os.environ.get("ADVKT_CACHE") or os.path.expanduser("~/.cache/advkt")
    return Path(base) / "afrnet-cifar10-zsl"


def cnn_recipe(split: str):
    """The split's seen-class CNN recipe (the split's pair excluded, named after the split)."""
    from advkt.recipe import load_recipe
    from advkt.zsl.cifar10 import SPLITS

    recipe = load_recipe(RECIPE, [f"data.args.exclude={json.dumps(list(SPLITS[split]))}"])
    return recipe.model_copy(update={"name": f"resnet8_seen-{split}"})


def committed(split: str) -> Path:
    """The split's CNN as committed (``benchmarks/teachers/``: weights, spec, the recipe and
    summary of the run that trained it), used instead of training it again when present."""
    return ROOT / "benchmarks" / "teachers" / f"zsl-cifar10-resnet8-{split}"


def cnn_run(split: str) -> Path:
    """The committed CNN of the split if there is one, else the run folder :func:`train_cnn`
    trains it into (``run_one``'s layout)."""
    if (committed(split) / "model.safetensors").is_file():
        return committed(split)
    recipe = cnn_recipe(split)
    return cache() / "cnn" / f"{recipe.name}-s{recipe.seed}"


def train_cnn(split: str) -> dict:
    """The split's seen-class CNN (trained, continued or reused) and its record."""
    import torch

    torch.set_num_threads(1)
    from advkt.report.compare import run_one
    from advkt.zsl.cifar10 import SPLITS

    record = OUT / f"cnn-{split}.json"
    if (committed(split) / "summary.json").is_file():
        summary = json.loads((committed(split) / "summary.json").read_text())
    else:
        summary = run_one(cnn_recipe(split), cache() / "cnn")
    out = {"split": split, "unseen": list(SPLITS[split]), "recipe": str(RECIPE.relative_to(ROOT)),
           "seen_test_acc": summary["test_acc"], "epochs": summary["epochs"],
           "wall_time_s": summary["wall_time_s"]}  # fmt: skip
    OUT.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(out, indent=2) + "\n")
    return out


_TASKS: dict = {}


def task(split: str, validation: bool = False):
    """The split's task (min-max scaled), or the validation task inside its training rows."""
    from advkt.zsl.cifar10 import SPLITS, semantics, task_from_run

    if split not in _TASKS:
        feats = cache() / f"features-{split}.npz"  # never inside the committed folder
        _TASKS[split] = task_from_run(cnn_run(split), SPLITS[split], semantics(), feats).minmax()
    t = _TASKS[split]
    return t.validation(2, seed=0) if validation else t


def fit(split: str, method: str, seed: int, kw: dict, trial: bool = False) -> dict:
    """One fit's figures, recorded (``runs/``, or ``sweep-runs/`` for a trial) and read back."""
    import torch

    torch.set_num_threads(1)
    from advkt.atomic import write_text_atomic
    from advkt.zsl.task import evaluate

    tag = "-".join(f"{k}{v:g}" for k, v in kw.items()) or "default"
    record = OUT / ("sweep-runs" if trial else "runs") / f"{split}-{method}-{tag}-s{seed}.json"
    if record.is_file():
        return json.loads(record.read_text())
    t = task(split, validation=trial)
    out = {"split": split, "method": method, "seed": seed, "args": kw,
           **evaluate(build(method, **kw).fit(t, seed=seed), t)}  # fmt: skip
    record.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(record, json.dumps(out, indent=2) + "\n")
    print(json.dumps(out), file=sys.stderr, flush=True)
    return out


def _pool(workers: int, fn, jobs: list[tuple]) -> list:
    if workers == 1:
        return [fn(*j) for j in jobs]
    with ProcessPoolExecutor(workers) as pool:
        return [f.result() for f in [pool.submit(fn, *j) for j in jobs]]


def choose(trials: list[dict]) -> dict[tuple[str, str], dict]:
    """(split, method) -> the chosen keyword arguments, by validation ZSL top-1 then GZSL H."""
    chosen = {}
    for split in sorted({t["split"] for t in trials}):
        for method, spec in SWEEP.items():
            if isinstance(spec, tuple):
                mine = [t for t in trials if t["split"] == split and t["method"] == method]
                chosen[(split, method)] = max(mine, key=lambda t: (t["zsl_top1"], t["gzsl_h"]))[
                    "args"
                ]
            elif spec is None:
                chosen[(split, method)] = {}
    for split in sorted({t["split"] for t in trials}):
        for method, spec in SWEEP.items():
            if isinstance(spec, str):
                chosen[(split, method)] = chosen[(split, spec)]
    return chosen


def report(rows: list[dict], chosen: dict, trials: list[dict], splits: list[str]) -> None:
    from advkt.report.results import fmt, mean_std, row, write_results

    out = []
    for split in splits:
        for method in SWEEP:
            rs = sorted((r for r in rows if r["split"] == split and r["method"] == method),
                        key=lambda r: r["seed"])  # fmt: skip
            for metric in METRICS if rs else ():
                out.append(row(method, "cifar10", metric, [r[metric] for r in rs], split=split,
                               seeds=[r["seed"] for r in rs], args=rs[0]["args"]))  # fmt: skip
    cnns = [json.loads((OUT / f"cnn-{s}.json").read_text()) for s in splits]
    write_results(OUT, "afrnet-cifar10-zsl", out, cnn=cnns)
    sweep = {"trials": trials, "chosen": [{"split": s, "method": m, "args": kw}
                                          for (s, m), kw in chosen.items()]}  # fmt: skip
    (OUT / "sweep.json").write_text(json.dumps(sweep, indent=2) + "\n")
    by = {(r["method"], r["split"], r["metric"]): r["values"] for r in out}
    lines = ["| method | " + " | ".join(METRICS) + " |", "|---|" + "---|" * len(METRICS)]
    for method in SWEEP:
        cells = []
        for metric in METRICS:
            vals = [v for s in splits for v in by.get((method, s, metric), [])]
            cells.append(fmt(*mean_std(vals), 1) if vals else "—")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    lines += ["", "Mean ± std over every (split, seed); per split:", ""]
    for split in splits:
        lines.append(f"- {split}: " + "; ".join(
            f"{m} ZSL {fmt(*mean_std(by[(m, split, 'zsl_top1')]), 1)}, "
            f"H {fmt(*mean_std(by[(m, split, 'gzsl_h')]), 1)}"
            for m in SWEEP if (m, split, "zsl_top1") in by))  # fmt: skip
    for peer in ("f-clswgan", "eszsl", "afrnet-no-residual", "afrnet-no-selection"):
        for metric in ("zsl_top1", "gzsl_h"):
            diffs = [a - b for s in splits
                     for a, b in zip(by.get(("afrnet", s, metric), []),
                                     by.get((peer, s, metric), []))]  # fmt: skip
            if diffs:
                m, sd = mean_std(diffs)
                ahead = sum(d > 0 for d in diffs)
                lines.append(f"- AFRNet − {peer}, {metric}: {m:+.2f} ± {sd:.2f} "
                             f"({ahead}/{len(diffs)} ahead)")  # fmt: skip
    (OUT / "table.md").write_text("\n".join(lines) + "\n")
    plot(by, splits)


def plot(by: dict, splits: list[str]) -> None:
    """plot.png: ZSL top-1 and GZSL H of every method, each (split, seed) a point coloured by
    split, the mean over them a bar (matplotlib is optional: without it no plot)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    methods = [m for m in SWEEP if any((m, s, "zsl_top1") in by for s in splits)]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    colors = plt.get_cmap("tab10").colors
    for ax, metric, title in zip(axes, ("zsl_top1", "gzsl_h"), ("ZSL top-1 (%)", "GZSL H (%)")):
        for x, m in enumerate(methods):
            every = []
            for k, s in enumerate(splits):
                vals = by.get((m, s, metric), [])
                every += vals
                xs = [x - 0.2 + 0.2 * k + 0.03 * j for j in range(len(vals))]
                ax.scatter(xs, vals, s=14, color=colors[k], label=s if x == 0 else None)
            if every:
                ax.hlines(sum(every) / len(every), x - 0.3, x + 0.3, color="k", lw=1.5)
        ax.set_xticks(range(len(methods)), methods, rotation=25, ha="right", fontsize=8)
        ax.set_title(title, fontsize=10)
    axes[0].legend(fontsize=7, title="unseen pair", title_fontsize=7)
    fig.suptitle("CIFAR-10 zero-shot: each (split, seed) a point, the mean a bar", fontsize=10)
    fig.tight_layout()
    fig.savefig(OUT / "plot.png", dpi=110)
    plt.close(fig)


def main() -> None:
    from advkt.zsl.cifar10 import SPLITS

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--splits", nargs="+", default=list(SPLITS), choices=list(SPLITS))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    os.environ.setdefault("ADVKT_DATA", str(ROOT.parent / "shared" / "data"))
    _pool(args.workers, train_cnn, [(s,) for s in args.splits])
    from advkt.zsl.cifar10 import semantics

    semantics()  # encoded once, before the workers read the cache
    jobs = [(s, m, 1, {key: v}, True) for s in args.splits for m, spec in SWEEP.items()
            if isinstance(spec, tuple) for key, vals in [spec] for v in vals]  # fmt: skip
    trials = _pool(args.workers, fit, jobs)
    chosen = choose(trials)
    jobs = [(s, m, seed, chosen[(s, m)]) for s in args.splits for m in SWEEP
            for seed in range(1, args.seeds + 1)]  # fmt: skip
    rows = _pool(args.workers, fit, jobs)
    report(rows, chosen, trials, args.splits)


if __name__ == "__main__":
    main()
