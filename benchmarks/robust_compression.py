"""Robust compression (Lee & Lee 2021; robust_compression.md): ours against ADMM and
adversarial training + magnitude pruning, at compression rates 1, 5, 10, 20 and 50.

Two suites (``--suite``), each with its own results folder:

- ``mnist`` (benchmarks/results/robust-mnist/, the CPU benchmark): LeNet-5 from the committed
  robust teacher ``benchmarks/teachers/robust-mnist-lenet5``, PGD-40 at ε = 0.3, step 0.01;
- ``cifar10`` (benchmarks/results/robust-cifar10/, for a GPU: ``benchmarks/gpu/robust_cifar10.sh``):
  ResNet-20 from the robust ResNet-20 that ``recipes/cifar10/robust_adv_resnet20.yaml`` trains
  (PGD-7 at ε = 8/255), PGD-20 at ε = 8/255, step 2/255.

Parts, each writing into ``--out`` (default: the suite's folder):

- ``accuracy``: clean and PGD accuracy of the three methods at each rate, over seeds; then
  ``report`` (results.json, table.md, plot.png). The 20x and 50x rows are also evaluated under
  PGD-100 (the attack has converged when it agrees with the shorter one).
- ``sweep``: ours' λ and ADMM's ρ at four values each, at rate 10, chosen by PGD accuracy on a
  validation split of the training images (sweep.md / sweep.json; ``SWEEP``).
- ``memory`` (mnist): peak resident memory of ours against ADMM, each in a fresh subprocess, on
  LeNet-5 (MNIST-shaped batches) and ResNet-56 (CIFAR-shaped batches); memory.md / memory.json.
- ``structured`` (mnist): group-lasso LeNet-5, physically shrunk, saved (safetensors + JSON),
  reloaded with ``load_shrunk``; parameters, FLOPs, CPU latency and clean / PGD-40 accuracy
  against the dense teacher; structured.md / structured.json.

Runs train in ``$ADVKT_CACHE/robust-<suite>`` (else ~/.cache/advkt/robust-<suite>), never into the
repo; an interrupted run continues from its last checkpoint (``advkt.report.compare.run_one``), a
trained-from-recipe teacher likewise (``advkt.engine.trainer.train_teacher``). Each finished run's
figures are recorded in the suite's ``runs/`` folder (committed) and read back from there, so an
interrupted benchmark continues where it stopped, on any machine. Every run is a recipe of the
suite with ``seed``, ``method.args.rate`` (and ``--set`` overrides) applied, evaluated as
``advkt eval RUN --attack pgd --eps EPS --steps STEPS --step-size STEP``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


@dataclass(frozen=True)
class Suite:
    name: str  # the results folder under benchmarks/results/
    dataset: str
    model: str  # as the tables name it
    recipes: Path
    peers: dict[str, str]  # label -> recipe file in ``recipes``
    attack: dict  # the evaluation attack (advkt.engine.evaluation.evaluate_run's arguments)
    teacher: Path | None = None  # a committed teacher (its figures in robust.json); None: the
    # teacher the recipes train (``teacher: {recipe: ...}``), evaluated once and recorded
    structured: str | None = None  # ours' group-lasso recipe (the ``structured`` part)
    rates: list[float] = field(default_factory=lambda: [1, 5, 10, 20, 50])

    @property
    def records(self) -> Path:  # one JSON per finished run, committed: outlives the cache
        return RESULTS / self.name / "runs"

    @property
    def metric(self) -> str:  # the record's key of the evaluation attack's accuracy
        return f"pgd{self.attack['steps']}_acc"

    def describe(self) -> str:
        a = self.attack
        return f"PGD-{a['steps']}, eps {a['eps']:.4g}, step {a['step_size']:.4g}, random start"


SUITES = {
    "mnist": Suite(
        name="robust-mnist",
        dataset="mnist",
        model="LeNet-5",
        recipes=ROOT / "recipes" / "mnist",
        peers={
            "adv+magnitude": "robust_advprune_lenet5.yaml",
            "admm": "robust_admm_lenet5.yaml",
            "ours (robust l1)": "robust_l1_lenet5.yaml",
        },
        attack={"attack": "pgd", "eps": 0.3, "steps": 40, "step_size": 0.01},
        teacher=ROOT / "benchmarks" / "teachers" / "robust-mnist-lenet5",
        structured="robust_group_lenet5.yaml",
    ),
    "cifar10": Suite(
        name="robust-cifar10",
        dataset="cifar10",
        model="ResNet-20",
        recipes=ROOT / "recipes" / "cifar10",
        peers={
            "adv+magnitude": "robust_advprune_resnet20.yaml",
            "admm": "robust_admm_resnet20.yaml",
            "ours (robust l1)": "robust_l1_resnet20.yaml",
        },
        attack={"attack": "pgd", "eps": 8 / 255, "steps": 20, "step_size": 2 / 255},
    ),
}
MNIST = SUITES["mnist"]
TEACHER = MNIST.teacher  # the committed robust LeNet-5 (memory and structured use it)
RECIPES = MNIST.recipes


def cache_dir(suite: Suite = MNIST) -> Path:
    base = os.environ.get("ADVKT_CACHE") or os.path.expanduser("~/.cache/advkt")
    return Path(base) / suite.name


def _threads() -> None:
    import torch

    if not torch.cuda.is_available():
        torch.set_num_threads(1)


# ------------------------------------------------------------------------------------ accuracy
def _recipe(suite: Suite, label: str, rate: float, seed: int, runs: Path, extra=()):
    """The run's recipe, named ``<recipe>-r<rate>`` so that each rate has its own run folder."""
    from advkt.recipe import load_recipe

    ov = [f"seed={seed}", f"out={runs}", f"method.args.rate={rate}", *extra]
    if label.startswith("ours") and rate == 1:
        ov.append("method.args.lam=0.0")  # rate 1: no pruning, adversarial distillation only
    file = suite.structured if label == STRUCTURED else suite.peers[label]
    recipe = load_recipe(suite.recipes / file, ov)
    return recipe.model_copy(update={"name": f"{recipe.name}-r{rate:g}"})


def one_run(suite: Suite, label: str, rate: float, seed: int, runs: Path, extra=()) -> dict:
    """Train one recipe (or continue or reuse its run), evaluate it, return its figures."""
    _threads()
    from advkt.engine.evaluation import evaluate_run, load_student
    from advkt.pruning import compression_rate
    from advkt.report.compare import run_one

    recipe = _recipe(suite, label, rate, seed, runs, extra)
    record = suite.records / f"{recipe.name}-s{seed}.json"
    if record.is_file():
        return _read_record(record, recipe)
    run_dir = runs / "runs" / f"{recipe.name}-s{seed}"
    done = run_dir / "eval.json"
    if done.is_file():
        _record(record, json.loads(done.read_text()))
        return _read_record(record, recipe)
    t0 = time.perf_counter()
    summary = run_one(recipe, runs / "runs")
    ev = evaluate_run(run_dir, **suite.attack)
    out = {
        "label": label,
        "method": recipe.method.name,
        "recipe": recipe.name.rsplit("-r", 1)[0],
        "rate": rate,
        "seed": seed,
        "clean_acc": ev["clean_acc"],
        suite.metric: ev["robust_acc"],
        "compression_rate": compression_rate(load_student(run_dir)),
        "train_time_s": summary["wall_time_s"],
        "total_time_s": time.perf_counter() - t0,
        "samples": ev["samples"],
        "recipe_tree": recipe.model_dump(mode="json"),  # what made it: read back only for it
    }
    if rate >= 20:  # the attack has converged: PGD-100 beside the shorter attack
        out["pgd100_acc"] = evaluate_run(run_dir, **{**suite.attack, "steps": 100})["robust_acc"]
    done.write_text(json.dumps(out, indent=2) + "\n")
    _record(record, out)
    print(json.dumps(out), file=sys.stderr, flush=True)
    return out


def _read_record(path: Path, recipe) -> dict:
    """A run's record, only for the recipe that made it: one made by another (a weight chosen
    since and put into the recipe) stops with the difference instead of standing for this run."""
    from advkt.report.compare import recipe_differences

    kept = json.loads(path.read_text())
    diff = recipe_differences(kept["recipe_tree"], recipe) if "recipe_tree" in kept else []
    if diff:
        raise ValueError(f"{path} was made by another recipe ({'; '.join(diff[:3])}); delete it "
                         "to train this one")  # fmt: skip
    return kept


def _record(path: Path, out: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(out, indent=2) + "\n")
    os.replace(tmp, path)  # a kill never leaves half a record


def build_teacher(suite: Suite = MNIST, extra=()) -> dict:
    """The suite's robust dense teacher and its full-test-set figures under the suite's attack:
    the committed one's ``robust.json`` (measured by the ``advkt eval`` command it records), or
    the recipe-trained one, trained (or continued) here, evaluated once and recorded as
    ``runs/teacher.json``."""
    if suite.teacher is not None:
        ev = json.loads((suite.teacher / "robust.json").read_text())
        return {**ev, "run": str(suite.teacher.relative_to(ROOT))}
    record = suite.records / "teacher.json"
    if record.is_file():
        return json.loads(record.read_text())
    _threads()
    from advkt.engine.evaluation import evaluate_run
    from advkt.engine.teacher import teacher_run
    from advkt.engine.trainer import train_teacher

    recipe = _recipe(suite, next(iter(suite.peers)), 1, 1, cache_dir(suite), extra)
    train_teacher(recipe)
    trecipe, run_dir = teacher_run(recipe)
    ev = evaluate_run(run_dir, **suite.attack)
    summary = json.loads((run_dir / "summary.json").read_text())
    out = {**ev, "recipe": trecipe.name, "epochs": trecipe.train.epochs,
           "train_time_s": summary["wall_time_s"], "run": f"<cache>/{run_dir.name}"}  # fmt: skip
    _record(record, out)
    return out


def plan(suite: Suite, seeds: int, rates: list[float]) -> list[tuple[str, float, int]]:
    """Every (label, rate, seed) of the comparison, seed by seed. At rate 1 ADMM's projection keeps
    every weight (Z = W, U = 0, penalty 0): its row is plain adversarial training, run so that
    every method has its dense baseline from its own code."""
    return [
        (label, rate, seed)
        for seed in range(1, seeds + 1)
        for rate in rates
        for label in suite.peers
    ]


def accuracy(args: argparse.Namespace) -> None:
    suite, runs = args.suite, cache_dir(args.suite)
    teacher = build_teacher(suite, args.set)
    print(f"teacher: {teacher}", file=sys.stderr, flush=True)
    jobs = [(suite, *job, runs, args.set) for job in plan(suite, args.seeds, args.rates)]
    if args.workers == 1:  # in this process: a time limit that stops it stops the training
        results = [one_run(*job) for job in jobs]
    else:
        with ProcessPoolExecutor(args.workers) as pool:
            results = [f.result() for f in [pool.submit(one_run, *job) for job in jobs]]
    print(f"{len(results)} runs done", file=sys.stderr)
    report(args)


# the validation sweep (``sweep``): each method's main weight, four trials (adv+magnitude has
# none; three first, then one more past the grid's edge, where both choices fell), at rate 10,
# seed 1, on a validation split of the training images (data.validation=0.1, the same images for
# every trial), chosen by the PGD accuracy there; the chosen values go into the recipes by hand,
# and the comparison's records made before that are then retrained
# (weight, values, rate); the structured form at its own rate (2 over filters), its lambda on the
# same rule (added after the converged teacher made the budget run's lambda = 8 zero every filter)
STRUCTURED = "ours (robust group)"
SWEEP = {
    "ours (robust l1)": ("method.args.lam", (0.005, 0.05, 0.5, 5.0), 10),
    "admm": ("method.args.rho", (0.001, 0.01, 0.1, 1.0), 10),
    STRUCTURED: ("method.args.lam", (0.05, 0.5, 5.0), 2),
}


def sweep_run(suite: Suite, label: str, key: str, value: float, rate: float, extra=()) -> dict:
    """One sweep trial: train (or reuse) it, then clean and PGD accuracy on the validation split."""
    _threads()
    import torch

    from advkt.attacks import pixel_normalizer, robust_accuracy
    from advkt.engine.evaluation import load_student
    from advkt.engine.splits import load_splits
    from advkt.report.compare import run_one

    runs = cache_dir(suite) / "sweep"
    over = [*extra, "data.validation=0.1", f"{key}={value}"]
    recipe = _recipe(suite, label, rate, 1, runs, over)
    recipe = recipe.model_copy(update={"name": f"{recipe.name}-{key.rsplit('.', 1)[-1]}{value:g}"})
    record = RESULTS / suite.name / "sweep-runs" / f"{recipe.name}.json"
    if record.is_file():
        return json.loads(record.read_text())
    summary = run_one(recipe, runs / "runs")
    val = load_splits(recipe).val
    model = load_student(runs / "runs" / f"{recipe.name}-s1")
    norm, x = pixel_normalizer(val), val.x.float() / 255
    a = suite.attack
    torch.manual_seed(0)
    out = {
        "label": label, "key": key, "value": value, "recipe": recipe.name, "seed": 1, "rate": rate,
        "val_clean_acc": 100 * robust_accuracy(model, x, val.y, None, normalize=norm),
        f"val_{suite.metric}": 100 * robust_accuracy(
            model, x, val.y, "pgd", eps=a["eps"], step=a["step_size"], steps=a["steps"],
            normalize=norm,
        ),
        "val_samples": len(val.y), "train_time_s": summary["wall_time_s"],
    }  # fmt: skip
    _record(record, out)
    print(json.dumps(out), file=sys.stderr, flush=True)
    return out


def sweep(args: argparse.Namespace) -> None:
    """Every SWEEP trial (``--workers`` at a time); sweep.json and sweep.md with the choices."""
    suite = args.suite
    build_teacher(suite, args.set)  # a recipe-trained teacher, before the workers need it
    jobs = [(suite, label, key, v, rate, args.set)
            for label, (key, vals, rate) in SWEEP.items() for v in vals]  # fmt: skip
    if args.workers == 1:
        done = [sweep_run(*job) for job in jobs]
    else:
        with ProcessPoolExecutor(args.workers) as pool:
            done = [f.result() for f in [pool.submit(sweep_run, *job) for job in jobs]]
    metric = f"val_{suite.metric}"
    lines = [
        f"Validation sweep ({suite.name}): seed 1, 10 % of the training images held out; each "
        "method's main weight at the values below (unstructured forms at rate 10, the structured "
        f"one at its rate 2 over filters), chosen by {suite.describe()} accuracy on "
        "the held-out images (never the test set).",
        "",
        f"| method | rate | weight | value | val clean (%) | val PGD-{suite.attack['steps']} (%) "
        "| chosen |",
        "|---|---|---|---|---|---|---|",
    ]
    chosen = {}
    for label, (key, _, _) in SWEEP.items():
        mine = [r for r in done if r["label"] == label]
        best = max(mine, key=lambda r: (r[metric], r["val_clean_acc"]))
        chosen[label] = {"key": key, "value": best["value"]}
        for r in mine:
            mark = "**chosen**" if r is best else ""
            lines.append(f"| {label} | {r['rate']:g} | `{key}` | {r['value']:g} | "
                         f"{r['val_clean_acc']:.2f} | "
                         f"{r[metric]:.2f} | {mark} |")  # fmt: skip
    lines += ["", f"Command: python benchmarks/robust_compression.py sweep --suite {suite.dataset}"]
    (args.out / "sweep.md").write_text("\n".join(lines) + "\n")
    doc = {"trials": done, "chosen": chosen, "metric": metric}
    (args.out / "sweep.json").write_text(json.dumps(doc, indent=2) + "\n")


def report(args: argparse.Namespace) -> None:
    """results.json, runs.json, table.md and plot.png from the finished runs of seeds 1..N."""
    from advkt.report.results import fmt, mean_std, row, write_results

    suite = args.suite
    teacher = build_teacher(suite, args.set)
    runs = [json.loads(p.read_text()) for p in sorted(suite.records.glob("*-s*.json"))]
    runs = [{k: v for k, v in r.items() if k != "recipe_tree"} for r in runs
            if r["seed"] <= args.seeds and r["rate"] in args.rates]  # fmt: skip
    (args.out / "runs.json").write_text(json.dumps({"teacher": teacher, "runs": runs}, indent=2))
    rows = []
    metrics = ("clean_acc", suite.metric, "pgd100_acc")
    for label in suite.peers:
        for rate in sorted({r["rate"] for r in runs}):
            rs = sorted((r for r in runs if r["label"] == label and r["rate"] == rate),
                        key=lambda r: r["seed"])  # fmt: skip
            for metric in metrics if rs else ():
                if not all(metric in r for r in rs):  # PGD-100: the 20x and 50x rows
                    continue
                rows.append(
                    row(
                        label,
                        suite.dataset,
                        f"{metric}@rate={rate:g}",
                        [r[metric] for r in rs],
                        recipe=rs[0]["recipe"],
                        rate=rate,
                        compression_rate=[r["compression_rate"] for r in rs],
                        seeds=[r["seed"] for r in rs],
                        train_time_s=[r["train_time_s"] for r in rs],
                    )
                )
    command = (
        f"python benchmarks/robust_compression.py accuracy --suite {suite.dataset} "
        f"--seeds {args.seeds} --workers {args.workers}"
    )
    paired = _paired_lines(suite, rows)  # gives ours' rows their ``paired`` entries
    write_results(args.out, suite.name, rows, command=command,
                  teacher={k: teacher[k] for k in ("clean_acc", "robust_acc", "samples")},
                  evaluation=suite.describe())  # fmt: skip
    short = f"PGD-{suite.attack['steps']}"
    lines = [
        f"Robust dense teacher ({suite.model}): clean {teacher['clean_acc']:.1f} %, "
        f"{short} {teacher['robust_acc']:.1f} % on {teacher['samples']} test images.",
        "",
        f"| method | target rate | achieved rate | clean acc (%) | {short} acc (%) | "
        "PGD-100 acc (%) | seeds |",
        "|---|---|---|---|---|---|---|",
    ]
    by = {(r["method"], r["metric"]): r for r in rows}
    for label in suite.peers:
        for rate in sorted({r["rate"] for r in runs}):
            c = by.get((label, f"clean_acc@rate={rate:g}"))
            if c is None:
                continue
            p = by[(label, f"{suite.metric}@rate={rate:g}")]
            p100 = by.get((label, f"pgd100_acc@rate={rate:g}"))
            achieved = mean_std(c["compression_rate"])[0]
            lines.append(
                f"| {label} | {rate:g} | {achieved:.2f} | {fmt(c['mean'], c['std'], 1)} | "
                f"{fmt(p['mean'], p['std'], 1)} | "
                f"{fmt(p100['mean'], p100['std'], 1) if p100 else '—'} | {len(c['values'])} |"
            )
    lines += ["", f"Mean ± sample std over seeds; {suite.describe()}.", ""]
    lines += paired
    (args.out / "table.md").write_text("\n".join(lines) + "\n")
    _plot(suite, rows, args.out / "plot.png")


def _paired_lines(suite: Suite, rows: list[dict]) -> list[str]:
    """Ours − each peer, seed by seed (same seed: same data order and teacher), at every rate
    both have: mean ± std of the difference (seeds where ours is ahead / seeds); each row of
    ``rows`` gets them as ``paired``."""
    from advkt.report.paired import fmt_paired, paired_difference

    ours = next(label for label in suite.peers if label.startswith("ours"))
    peers = [label for label in suite.peers if label != ours]
    short = f"PGD-{suite.attack['steps']}"
    lines = [f"Paired differences, {ours} − peer (points; seeds ours is ahead / seeds):", "",
             f"| rate | metric | {' | '.join(f'− {p}' for p in peers)} |",
             "|---|---|" + "---|" * len(peers)]  # fmt: skip
    by = {(r["method"], r["metric"]): r for r in rows}
    for rate in sorted({r["rate"] for r in rows}):
        for metric, name in (("clean_acc", "clean"), (suite.metric, short)):
            mine = by.get((ours, f"{metric}@rate={rate:g}"))
            if mine is None:
                continue
            ds = {p: by.get((p, f"{metric}@rate={rate:g}")) for p in peers}
            mine["paired"] = {p: paired_difference(mine, b) for p, b in ds.items() if b}
            cells = [fmt_paired(mine["paired"].get(p)) for p in peers]
            lines.append(f"| {rate:g} | {name} | {' | '.join(cells)} |")
    return lines


def _plot(suite: Suite, rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharex=True)
    robust = f"PGD-{suite.attack['steps']}, ε = {suite.attack['eps']:.3g}"
    for ax, metric, title in zip(axes, ("clean_acc", suite.metric), ("clean", robust)):
        for label in suite.peers:
            mine = [r for r in rows if r["method"] == label and r["metric"].startswith(metric)]
            rs = sorted(mine, key=lambda r: r["rate"])
            xs, ys = [r["rate"] for r in rs], [r["mean"] for r in rs]
            yerr = [r["std"] for r in rs]
            ax.errorbar(xs, ys, yerr=yerr, marker="o", capsize=3, label=label)
        ax.set_xscale("log")
        ax.set_xticks(suite.rates, [f"{r:g}" for r in suite.rates])
        ax.set_xlabel("compression rate (total / non-zero weights)")
        ax.set_ylabel("accuracy (%)")
        ax.set_title(f"{suite.dataset} {suite.model}: {title}", fontsize=9)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# -------------------------------------------------------------------------------------- memory
def memory_probe(method: str, model: str, steps: int, batch: int, rate: float) -> dict:
    """In this (fresh) process: ``steps`` training steps of ``method`` on random inputs; peak RSS.

    The step is the engine's: distillation loss (+ ADMM penalty), backward, Adam step, after_step
    (proximal step, or ADMM Z/U update every 5 steps). No attack, so that only the method differs.
    """
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    from advkt.methods.base import Batch
    from advkt.models import build_model
    from advkt.registry import METHODS

    shape = (1, 28, 28) if model == "lenet5" else (3, 32, 32)
    spec = {"name": model, "num_classes": 10, "in_channels": shape[0]}
    student, teacher = build_model(spec), build_model(spec).eval().requires_grad_(False)
    x = torch.randn(batch, *shape)
    y = torch.randint(0, 10, (batch,))
    if method == "admm":
        m = METHODS.get("admm")(student, teacher, 10, x[:2], rate=rate, prune_epoch=1e9,
                                update_every=5, alpha=0.9)  # fmt: skip
    else:
        m = METHODS.get("robust")(student, teacher, 10, x[:2], alpha=0.9, lam=1e-4,
                                  prune_epoch=1e9, rate=rate)  # fmt: skip
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(steps):
        with torch.no_grad():
            t = teacher(x)
        opt.zero_grad(set_to_none=True)
        out = m.student_loss(Batch(x=x, y=y, t_logits=t, epoch=0.0))
        out["loss"].backward()
        opt.step()
        m.after_step("student", 1e-3)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    weights = sum(p.numel() * p.element_size() for p in student.parameters())
    optim = sum(v.numel() * v.element_size() for s in opt.state.values() for v in s.values()
                if torch.is_tensor(v))  # fmt: skip
    admm = m.admm.state_bytes() if method == "admm" else 0
    masks = sum(b.numel() * b.element_size() for b in m.masks.buffers())
    return {
        "method": method, "model": model, "steps": steps, "batch": batch,
        "peak_rss_mib": peak / 1024, "rss_before_training_mib": before / 1024,
        "weights_bytes": weights, "optimizer_bytes": optim, "admm_zu_bytes": admm,
        "mask_bytes": masks,
    }  # fmt: skip


def _state(r: dict) -> int:
    """Bytes of training state: weights + Adam moments + ADMM Z/U + masks."""
    return r["weights_bytes"] + r["optimizer_bytes"] + r["admm_zu_bytes"] + r["mask_bytes"]


def memory(args: argparse.Namespace) -> None:
    from advkt.report.results import machine

    cases = [("lenet5", 128), ("resnet56", 64)]
    results = []
    for model, batch in cases:
        for method in ("robust", "admm"):
            per = []
            for _ in range(args.repeats):
                cmd = [sys.executable, __file__, "memory-probe", "--method", method,
                       "--model", model, "--batch", str(batch)]  # fmt: skip
                res = subprocess.run(cmd, check=True, capture_output=True, text=True)
                per.append(json.loads(res.stdout.strip().splitlines()[-1]))
            best = min(per, key=lambda r: r["peak_rss_mib"])
            best["peak_rss_mib_all"] = [r["peak_rss_mib"] for r in per]
            results.append(best)
    lines = [
        "Peak resident memory (ru_maxrss) of a fresh process after 20 training steps, Adam, "
        f"target rate 10, no attack; the minimum over {args.repeats} processes.",
        "",
        "| model | batch | method | peak RSS (MiB) | growth in training (MiB) | weights (MB) | "
        "Adam state (MB) | ADMM Z+U (MB) | masks (MB) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['model']} | {r['batch']} | {r['method']} | {r['peak_rss_mib']:.1f} | "
            f"{r['peak_rss_mib'] - r['rss_before_training_mib']:.1f} | "
            f"{r['weights_bytes'] / 1e6:.3f} | {r['optimizer_bytes'] / 1e6:.3f} | "
            f"{r['admm_zu_bytes'] / 1e6:.3f} | {r['mask_bytes'] / 1e6:.3f} |"
        )
    lines.append("")
    ratios = {}
    for model, _ in cases:
        ours = next(r for r in results if r["model"] == model and r["method"] == "robust")
        admm = next(r for r in results if r["model"] == model and r["method"] == "admm")
        ratios[model] = {
            "peak_rss_ours_over_admm": ours["peak_rss_mib"] / admm["peak_rss_mib"],
            "state_bytes_ours_over_admm": _state(ours) / _state(admm),
        }
        lines.append(
            f"- {model}: peak RSS ours / ADMM = {ratios[model]['peak_rss_ours_over_admm']:.3f}; "
            f"training state (weights + Adam + Z/U + masks) ours / ADMM = "
            f"{ratios[model]['state_bytes_ours_over_admm']:.3f}"
        )
    lines += [
        "",
        f"Machine: {machine()}.",
        "Command: python benchmarks/robust_compression.py memory",
    ]
    (args.out / "memory.md").write_text("\n".join(lines) + "\n")
    (args.out / "memory.json").write_text(
        json.dumps({"machine": machine(), "results": results, "ratios": ratios}, indent=2) + "\n"
    )


# ---------------------------------------------------------------------------------- structured
def structured(args: argparse.Namespace) -> None:
    _threads()
    import torch
    from safetensors.torch import save_file

    from advkt.attacks import pixel_normalizer, robust_accuracy
    from advkt.engine.evaluation import load_student
    from advkt.engine.splits import load_splits
    from advkt.engine.trainer import train
    from advkt.models.profile import count_flops, count_params, latency_ms
    from advkt.pruning import compression_rate, load_shrunk, shrink
    from advkt.recipe import load_recipe
    from advkt.report.results import machine

    runs = cache_dir()
    recipe = load_recipe(RECIPES / "robust_group_lenet5.yaml", [f"out={runs}", "seed=1"])
    run_dir = runs / "runs" / f"{recipe.name}-s1"
    if not (run_dir / "summary.json").is_file():
        train(recipe, run_dir=run_dir, quiet=True)
    test = load_splits(recipe).test
    norm = pixel_normalizer(test)
    x, y = test.x.float() / 255, test.y
    masked = load_student(run_dir)
    small, info = shrink(masked, example=norm(x[:64]))
    out = runs / "shrunk"
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in small.state_dict().items()},
              str(out / "model.safetensors"))  # fmt: skip
    spec = json.loads((run_dir / "ckpt" / (run_dir / "ckpt" / "last").read_text().strip()
                       / "spec.json").read_text())  # fmt: skip
    (out / "shrink.json").write_text(json.dumps({"spec": spec, **info}, indent=2) + "\n")
    reloaded = load_shrunk(spec, out / "shrink.json", out / "model.safetensors").eval()
    with torch.no_grad():
        diff = (reloaded(norm(x[:256])) - masked(norm(x[:256]))).abs().max().item()
    dense = load_student(TEACHER)
    shape = (1, 28, 28)
    rows = {}
    for name, model in (("dense teacher", dense), ("masked student", masked),
                        ("shrunk student", reloaded)):  # fmt: skip
        torch.manual_seed(0)
        rows[name] = {
            "params": count_params(model),
            "flops": count_flops(model, shape),
            "compression_rate": compression_rate(model),
            "clean_acc": 100 * robust_accuracy(model, x, y, None, normalize=norm),
            "pgd40_acc": 100
            * robust_accuracy(
                model, x, y, "pgd", eps=0.3, step=0.01, steps=40, normalize=norm
            ),  # fmt: skip
        }
    # latency on a shared CPU: the three models interleaved over 5 rounds, the fastest median kept
    models = {"dense teacher": dense, "masked student": masked, "shrunk student": reloaded}
    for _ in range(5):
        for name, model in models.items():
            for b, reps in ((1, 100), (128, 10)):
                t = latency_ms(model, shape, batch=b, warmup=5, repeats=reps)
                key = f"latency_ms_b{b}"
                rows[name][key] = min(rows[name].get(key, float("inf")), t)
    recipe_path = (RECIPES / "robust_group_lenet5.yaml").relative_to(ROOT)  # no machine path
    doc = {"machine": machine(), "recipe": str(recipe_path),
           "kept_channels": info["kept"], "max_abs_output_diff_reloaded_vs_masked": diff,
           "models": rows}  # fmt: skip
    (args.out / "structured.json").write_text(json.dumps(doc, indent=2) + "\n")
    lines = [
        "Structured pruning of LeNet-5 (group lasso over filters, recipes/mnist/"
        "robust_group_lenet5.yaml, seed 1), physically shrunk, saved as safetensors + JSON and "
        "reloaded with `load_shrunk`.",
        "",
        f"Kept channels: { {k: len(v) for k, v in info['kept'].items()} } "
        f"(of 6 and 16); reloaded vs masked outputs differ by at most {diff:.2e}.",
        "",
        "| model | params | kFLOPs | latency b=1 (ms) | latency b=128 (ms) | rate | clean (%) | "
        "PGD-40 (%) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['params']:,} | {r['flops'] / 1e3:.1f} | {r['latency_ms_b1']:.3f} | "
            f"{r['latency_ms_b128']:.2f} | {r['compression_rate']:.2f} | {r['clean_acc']:.1f} | "
            f"{r['pgd40_acc']:.1f} |"
        )
    lines += [
        "",
        "Latency: median forward time, one thread, the fastest of 5 interleaved rounds, on a "
        "CPU shared with other jobs (load average ~20): read the ratios, not the values. "
        f"Machine: {machine()}.",
        "Command: python benchmarks/robust_compression.py structured",
    ]
    (args.out / "structured.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parts = ["accuracy", "report", "sweep", "memory", "memory-probe", "structured"]
    p.add_argument("part", choices=parts)
    p.add_argument("--suite", choices=sorted(SUITES), default="mnist")
    p.add_argument("--out", type=Path, default=None, help="default: the suite's results folder")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--rates", type=float, nargs="+", default=[1, 5, 10, 20, 50])
    p.add_argument("--workers", type=int, default=2)
    over = "recipe overrides for every run (teacher.train.* for the teacher)"
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help=over)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--method", default="robust")
    p.add_argument("--model", default="lenet5")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=20)
    args = p.parse_args()
    args.suite = SUITES[args.suite]
    args.out = args.out or RESULTS / args.suite.name
    # the recipes (teachers included) read their data from ADVKT_DATA; default: ../shared/data
    os.environ.setdefault("ADVKT_DATA", str(ROOT.parent / "shared" / "data"))
    args.out.mkdir(parents=True, exist_ok=True)
    if args.part == "memory-probe":
        print(json.dumps(memory_probe(args.method, args.model, args.steps, args.batch, 10.0)))
        return
    run = {"accuracy": accuracy, "report": report, "sweep": sweep, "memory": memory}
    {**run, "structured": structured}[args.part](args)


if __name__ == "__main__":
    main()
