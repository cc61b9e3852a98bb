"""The validation sweep for hinton-mnist (issue #12): the students' schedule, then KD's weights,
chosen on a validation split (54,000 / 6,000 of the training images), never on the test set.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/hinton_sweep.py --jobs 2

Phase 1, the student alone (``recipes/hinton-mnist/student_mlp800.yaml``) at 30, 60 and 120
epochs: the schedule is the shortest whose doubling moves the validation mean by less than 0.1
point (the student alone converged), else the longest. Phase 2, KD at T = 20
(``kd_mlp1200_mlp800.yaml``) on that schedule with three splits of its weights (hard-label CE /
soft term: 0.1 / 0.9, the current recipe; 0.3 / 0.7; 0.5 / 0.5): the highest validation mean.
Phase 3, KD with those weights converged on the same rule (its schedule doubled from the
student's while that still moves its validation mean by 0.1 point or more): the comparison's
schedule, the same for both rows, is the longer of the two.
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
KD_WEIGHTS = ((0.1, 0.9), (0.3, 0.7), (0.5, 0.5))
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


def main(argv: list[str] | None = None) -> int:
    from advkt.report.results import fmt, mean_std, row, write_results

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--seeds", type=int, default=2)
    args = p.parse_args(argv)
    seeds = list(range(1, args.seeds + 1))
    chosen, val = schedule(
        args.jobs, seeds, lambda e: f"student-e{e}", "student_mlp800.yaml", (), EPOCHS
    )
    ktasks = [
        (f"kd-e{chosen}-ce{c}", "kd_mlp1200_mlp800.yaml",
         (f"train.epochs={chosen}", f"method.args.ce_weight={c}", f"method.args.kd_weight={k}"), s)
        for c, k in KD_WEIGHTS for s in seeds
    ]  # fmt: skip
    kdone = _many(args.jobs, ktasks)
    kval = {
        w: [d["val_acc"] for d in kdone[i * len(seeds) : (i + 1) * len(seeds)]]
        for i, w in enumerate(KD_WEIGHTS)
    }
    best = max(kval, key=lambda w: mean_std(kval[w])[0])
    # phase 3: KD converged too, on the same rule; both rows of the comparison then train the
    # longer of the two schedules (the student alone, converged at `chosen`, stays where it is)
    kd_epochs, kd_val = schedule(
        args.jobs,
        seeds,
        lambda e: f"kd-e{e}-ce{best[0]}",
        "kd_mlp1200_mlp800.yaml",
        (f"method.args.ce_weight={best[0]}", f"method.args.kd_weight={best[1]}"),
        [e for e in EPOCHS if e >= chosen],
    )
    final = max(chosen, kd_epochs)
    rows = [
        row("student", "hinton-mnist-val", "val_acc", v, epochs=e, seeds=seeds, chosen=e == chosen)
        for e, v in val.items()
    ]
    rows += [
        row(
            "kd",
            "hinton-mnist-val",
            "val_acc",
            v,
            epochs=chosen,
            ce_weight=w[0],
            kd_weight=w[1],
            seeds=seeds,
            chosen=w == best,
        )
        for w, v in kval.items()
    ]
    rows += [
        row(
            "kd-schedule",
            "hinton-mnist-val",
            "val_acc",
            v,
            epochs=e,
            ce_weight=best[0],
            kd_weight=best[1],
            seeds=seeds,
            chosen=e == final,
        )
        for e, v in kd_val.items()
    ]
    lines = [
        "# hinton-mnist validation sweep (54,000 / 6,000)",
        "",
        "| row | setting | validation % | chosen |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| student alone | {e} epochs | {fmt(*mean_std(v))} | {'**yes**' if e == chosen else ''} |"
        for e, v in val.items()
    ]
    lines += [
        f"| KD, T = 20, {chosen} epochs | CE {w[0]} / soft {w[1]} | {fmt(*mean_std(v))} | "
        f"{'**yes**' if w == best else ''} |"
        for w, v in kval.items()
    ]
    lines += [
        f"| KD, T = 20, CE {best[0]} / soft {best[1]} | {e} epochs | {fmt(*mean_std(v))} | "
        f"{'**yes**' if e == final else ''} |"
        for e, v in kd_val.items()
    ]
    lines += [
        "",
        f"Schedule of the comparison: {final} epochs for both rows (the student alone converged "
        f"at {chosen}, KD at {kd_epochs}: the shortest schedule whose doubling moves the "
        "validation mean by less than 0.1 point); KD's weights: "
        f"CE {best[0]} / soft {best[1]}.",
    ]
    write_results(OUT, "hinton-sweep", rows, command="python benchmarks/hinton_sweep.py --jobs 2")
    (OUT / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
