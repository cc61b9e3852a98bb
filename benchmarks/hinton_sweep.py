"""The validation sweep for hinton-mnist (issue #12): the students' schedule, then each row's
learning rate, chosen on a validation split (54,000 / 6,000 of the training images), never on the
test set.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/hinton_sweep.py --jobs 2

KD's runs here distil from the validation teacher ``benchmarks/teachers/hinton-mnist-mlp1200-val``
(the benchmark teacher's recipe trained on the 54,000 alone): a teacher that saw the validation
images would hand its student their answers and bias every KD figure upward.

Phase 1, the student alone (``recipes/hinton-mnist/student_mlp800.yaml``) at 30, 60 and 120
epochs at the base learning rate 0.05: the schedule is the shortest whose doubling moves the
validation mean by less than 0.1 point (the student alone converged), else the longest.
Phase 2, the same three trials for each row: SGD's learning rate in ``LRS`` on that schedule, for
the student alone and for KD at T = 20 with hard-label CE / soft term 0.5 / 0.5
(``kd_mlp1200_mlp800.yaml``); each row takes its highest validation mean (the first of ``LRS``
among equals). Phase 2b, three more trials for each row, so that both rows keep one tuning budget:
the student alone's rate beyond the grid's edge (``MORE_LRS``: its best of ``LRS`` was the
highest), KD's hard-label CE / soft weights at KD's chosen rate (``KD_WEIGHTS``: the paper found
"a considerably lower weight" on the hard targets best); each row again takes its best of all six
trials. Phase 3, KD at its chosen rate converged on the same rule (its schedule doubled
while that still moves its validation mean by 0.1 point or more); the comparison's schedule, the
same for both rows, is the longer of the two.
Seeds 1-2 each. Runs train in ``$ADVKT_CACHE/hinton-sweep/``; each finished run's summary is
recorded in ``benchmarks/results/hinton-sweep/runs/`` and read back from there (the sweep resumes
from its records); writes ``benchmarks/results/hinton-sweep/`` (results.json, table.md). The
comparison itself is then rerun with the chosen values on all the training images and the test set
(``benchmarks/specs/hinton-mnist.yaml``).
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from cached_runs import runs_dir, train_once  # the sibling script

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes" / "hinton-mnist"
EPOCHS = (30, 60, 120)
LRS = (0.02, 0.05, 0.1)  # the recipes' SGD learning rate is 0.05
MORE_LRS = (0.15, 0.2, 0.3)  # phase 2b, the student alone
KD_WEIGHTS = ((0.5, 0.5), (0.25, 0.75), (0.1, 0.9), (0.0, 1.0))  # CE / soft; phase 2 had the first
VAL_TEACHER = ROOT / "benchmarks" / "teachers" / "hinton-mnist-mlp1200-val"
OUT = ROOT / "benchmarks" / "results" / "hinton-sweep"


def run(name: str, recipe: str, overrides: tuple[str, ...], seed: int) -> dict:
    import torch

    torch.set_num_threads(1)
    over = ["data.validation=0.1", f"seed={seed}", *overrides]
    where = runs_dir("hinton-sweep") / f"{name}-s{seed}"
    return train_once(RECIPES / recipe, over, where, OUT / "runs" / f"{name}-s{seed}.json")


def _many(jobs: int, tasks: list[tuple]) -> list[dict]:
    with ProcessPoolExecutor(jobs) as pool:
        return list(pool.map(run, *zip(*tasks)))


def schedule(jobs, seeds, name, recipe, overrides, epochs) -> tuple[int, dict[int, list[float]]]:
    """The shortest of ``epochs`` whose doubling moves the validation mean by less than 0.1 point
    (else the longest), and the validation accuracies of every schedule trained: a longer one is
    trained only while the last doubling still moved the mean. ``name(e)`` names the runs."""
    from advkt.report.results import mean_std

    val: dict[int, list[float]] = {}
    prev = None
    for e in epochs:
        tasks = [(name(e), recipe, (f"train.epochs={e}", *overrides), s) for s in seeds]
        val[e] = [d["val_acc"] for d in _many(jobs, tasks)]
        if prev is not None and abs(mean_std(val[e])[0] - mean_std(val[prev])[0]) < 0.1:
            return prev, val
        prev = e
    return epochs[-1], val


def lr_name(row: str, epochs: int, lr: float, weights: tuple[float, float] = KD_WEIGHTS[0]) -> str:
    """A run's record name; the recipes' own rate (0.05) and KD's first weights (0.5 / 0.5) keep
    the names the earlier phases gave them."""
    return (
        f"{row}-e{epochs}"
        + ("" if lr == 0.05 else f"-lr{lr}")
        + ("" if weights == KD_WEIGHTS[0] else f"-ce{weights[0]}")
    )


def weight_args(weights: tuple[float, float]) -> tuple[str, str]:
    return (f"method.args.ce_weight={weights[0]}", f"method.args.kd_weight={weights[1]}")


def kd_label(weights: tuple[float, float]) -> str:
    return f"KD, T = 20, CE {weights[0]} / soft {weights[1]}"


def main(argv: list[str] | None = None) -> int:
    from advkt.report.results import fmt, mean_std, row, write_results

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--seeds", type=int, default=2)
    args = p.parse_args(argv)
    seeds = list(range(1, args.seeds + 1))
    if not (VAL_TEACHER / "model.safetensors").is_file():
        raise SystemExit(
            f"{VAL_TEACHER} is missing: python benchmarks/train_teacher.py "
            "recipes/hinton-mnist/teachers/mlp1200.yaml data.validation=0.1 "
            "--name hinton-mnist-mlp1200-val"
        )
    kd_over = (f"teacher.checkpoint={VAL_TEACHER}", *weight_args(KD_WEIGHTS[0]))
    chosen, val = schedule(  # at the base recipe's rate, whatever rate the recipe now holds
        args.jobs,
        seeds,
        lambda e: f"student-e{e}",
        "student_mlp800.yaml",
        ("train.optimizer.lr=0.05",),
        EPOCHS,
    )
    tasks = [
        (lr_name(name, chosen, lr), recipe,
         (f"train.epochs={chosen}", f"train.optimizer.lr={lr}", *over), s)
        for name, recipe, over in (("student", "student_mlp800.yaml", ()),
                                   ("kdval", "kd_mlp1200_mlp800.yaml", kd_over))
        for lr in LRS for s in seeds
    ]  # fmt: skip
    done = [d["val_acc"] for d in _many(args.jobs, tasks)]
    n = len(seeds)
    lr_val = {
        (name, lr): done[(i * len(LRS) + j) * n : (i * len(LRS) + j + 1) * n]
        for i, name in enumerate(("student", "kd"))
        for j, lr in enumerate(LRS)
    }
    best = {
        name: max(LRS, key=lambda lr, name=name: mean_std(lr_val[(name, lr)])[0])
        for name in ("student", "kd")
    }
    # phase 2b: three more trials each, the student alone's rate beyond the grid, KD's weights
    tasks = [
        (lr_name("student", chosen, lr), "student_mlp800.yaml",
         (f"train.epochs={chosen}", f"train.optimizer.lr={lr}"), s)
        for lr in MORE_LRS for s in seeds
    ] + [
        (lr_name("kdval", chosen, best["kd"], w), "kd_mlp1200_mlp800.yaml",
         (f"train.epochs={chosen}", f"train.optimizer.lr={best['kd']}",
          f"teacher.checkpoint={VAL_TEACHER}", *weight_args(w)), s)
        for w in KD_WEIGHTS[1:] for s in seeds
    ]  # fmt: skip
    done = [d["val_acc"] for d in _many(args.jobs, tasks)]
    for j, lr in enumerate(MORE_LRS):
        lr_val[("student", lr)] = done[j * n : (j + 1) * n]
    more = len(MORE_LRS) * n
    w_val = {KD_WEIGHTS[0]: lr_val[("kd", best["kd"])]}
    for j, w in enumerate(KD_WEIGHTS[1:]):
        w_val[w] = done[more + j * n : more + (j + 1) * n]
    student_lrs = (*LRS, *MORE_LRS)
    best["student"] = max(student_lrs, key=lambda lr: mean_std(lr_val[("student", lr)])[0])
    best_w = max(KD_WEIGHTS, key=lambda w: mean_std(w_val[w])[0])
    kd_over = (f"teacher.checkpoint={VAL_TEACHER}", *weight_args(best_w))
    # phase 3: KD converged too, on the same rule; both rows of the comparison then train the
    # longer of the two schedules (the student alone, converged at `chosen`, stays where it is)
    kd_epochs, kd_val = schedule(
        args.jobs,
        seeds,
        lambda e: lr_name("kdval", e, best["kd"], best_w),
        "kd_mlp1200_mlp800.yaml",
        (f"train.optimizer.lr={best['kd']}", *kd_over),
        [e for e in EPOCHS if e >= chosen],
    )
    final = max(chosen, kd_epochs)
    ds = "hinton-mnist-val"
    rows = [
        row("student", ds, "val_acc", v, epochs=e, lr=0.05, seeds=seeds, chosen=e == chosen)
        for e, v in val.items()
    ]
    rows += [
        row(name, ds, "val_acc", v, epochs=chosen, lr=lr, seeds=seeds, chosen=lr == best[name])
        for (name, lr), v in lr_val.items()
    ]
    rows += [
        row(
            "kd-weights",
            ds,
            "val_acc",
            v,
            epochs=chosen,
            lr=best["kd"],
            ce_weight=w[0],
            kd_weight=w[1],
            seeds=seeds,
            chosen=w == best_w,
        )
        for w, v in w_val.items()
    ]
    rows += [
        row("kd-schedule", ds, "val_acc", v, epochs=e, lr=best["kd"], ce_weight=best_w[0],
            kd_weight=best_w[1], seeds=seeds, chosen=e == final)
        for e, v in kd_val.items()
    ]  # fmt: skip
    label = {"student": "student alone", "kd": kd_label(KD_WEIGHTS[0])}
    lines = [
        "# hinton-mnist validation sweep (54,000 / 6,000; KD from the validation teacher)",
        "",
        "| row | setting | validation % | chosen |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| student alone | {e} epochs, lr 0.05 | {fmt(*mean_std(v))} | "
        f"{'**yes**' if e == chosen else ''} |"
        for e, v in val.items()
    ]
    lines += [
        f"| {label[name]} | {chosen} epochs, lr {lr} | {fmt(*mean_std(v))} | "
        f"{'**yes**' if lr == best[name] else ''} |"
        for (name, lr), v in lr_val.items()
    ]
    lines += [
        f"| {kd_label(w)} | {chosen} epochs, lr {best['kd']} | "
        f"{fmt(*mean_std(v))} | {'**yes**' if w == best_w else ''} |"
        for w, v in w_val.items()
    ]
    lines += [
        f"| {kd_label(best_w)} | {e} epochs, lr {best['kd']} | {fmt(*mean_std(v))} | "
        f"{'**yes**' if e == final else ''} |"
        for e, v in kd_val.items()
    ]
    lines += [
        "",
        f"Schedule of the comparison: {final} epochs for both rows (the student alone converged "
        f"at {chosen}, KD at {kd_epochs}: the shortest schedule whose doubling moves the "
        "validation mean by less than 0.1 point); learning rates: student alone "
        f"{best['student']}, KD {best['kd']}; KD's CE / soft weights {best_w[0]} / {best_w[1]}.",
    ]
    write_results(OUT, "hinton-sweep", rows, command="python benchmarks/hinton_sweep.py --jobs 2")
    (OUT / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
