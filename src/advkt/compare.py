"""``advkt compare``: several recipes on the same data, schedule and seeds, side by side.

Every recipe runs once per seed (seeds 1..N), in one process, one after the other, so that the
peers share the machine, the data (decoded once per recipe run from the same files) and the
teacher (trained once from its recipe and cached). The report is the last-epoch test accuracy,
mean ± std over seeds, with parameters, FLOPs and wall time.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from advkt.engine.trainer import train
from advkt.recipe import load_recipe
from advkt.report.results import fmt, row, write_results


def seed_list(seeds: int | str) -> list[int]:
    """``3`` -> [1, 2, 3]; ``"2,3"`` -> [2, 3] (to run seeds in parallel processes)."""
    text = str(seeds)
    if "," in text:
        return [int(s) for s in text.split(",") if s]
    return list(range(1, int(text) + 1))


def compare(
    recipes: list[str],
    seeds: int | str,
    out: str | Path,
    overrides: list[str] | None = None,
    benchmark: str | None = None,
    quiet: bool = True,
) -> dict:
    out = Path(out)
    loaded = [load_recipe(r, overrides) for r in recipes]  # validate all before running any
    names = [r.name for r in loaded]
    if len(set(names)) != len(names):
        raise ValueError(f"recipe names must be unique within a comparison: {names}")
    summaries: dict[str, list[dict]] = {r.name: [] for r in loaded}
    seeds_run = seed_list(seeds)
    for seed in seeds_run:
        for recipe in loaded:
            r = recipe.model_copy(update={"seed": seed, "out": str(out)})
            run_dir = out / "runs" / f"{r.name}-s{seed}"
            done = run_dir / "summary.json"
            if done.is_file():  # a finished run of an interrupted comparison is kept
                s = json.loads(done.read_text())
            elif (run_dir / "ckpt" / "last").is_file():  # an unfinished one continues
                s = train(None, resume=run_dir, quiet=quiet)
            else:
                s = train(r, run_dir=run_dir, quiet=quiet)
            print(
                f"  {r.name} seed {seed}: test acc {s['test_acc']:.2f}% ({s['wall_time_s']:.1f}s)",
                file=sys.stderr,
            )
            summaries[r.name].append(s)
    rows = []
    for recipe in loaded:
        ss = summaries[recipe.name]
        rows.append(
            row(
                ss[0]["method"],
                ss[0]["dataset"],
                "test_acc",
                [s["test_acc"] for s in ss],
                recipe=recipe.name,
                student=ss[0]["student"]["name"],
                teacher=ss[0]["teacher"],
                teacher_acc=ss[0]["teacher_acc"],
                params=ss[0]["params"],
                flops=ss[0]["flops"],
                wall_time_s=[s["wall_time_s"] for s in ss],
                labelled_fraction=ss[0]["labelled_fraction"],
                epochs=ss[0]["epochs"],
                seeds=seeds_run,
            )
        )
    command = "advkt compare " + " ".join(
        shlex.quote(a)
        for a in [*recipes, "--seeds", str(seeds), "--out", str(out), *(overrides or [])]
    )
    write_results(out, benchmark or out.name, rows, command=command)
    table = markdown_table(rows)
    (out / "table.md").write_text(table)
    plot(rows, out / "plot.png")
    return {"rows": rows, "table": table}


def markdown_table(rows: list[dict]) -> str:
    teacher = next((r for r in rows if r.get("teacher_acc") is not None), None)
    lines = []
    if teacher:
        lines.append(
            f"Teacher: {teacher['teacher']}, test accuracy {teacher['teacher_acc']:.2f} %."
        )
        lines.append("")
    lines += [
        "| recipe | method | student | test acc (%) | seeds | params | MFLOPs | wall time (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        wall = sum(r["wall_time_s"]) / len(r["wall_time_s"])
        lines.append(
            f"| {r['recipe']} | {r['method']} | {r['student']} | {fmt(r['mean'], r['std'])} | "
            f"{len(r['values'])} | {r['params']:,} | {r['flops'] / 1e6:.2f} | {wall:.1f} |"
        )
    lines.append("")
    lines.append("Test accuracy of the last epoch, mean ± sample std over seeds.")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # the plot extra is optional; the table and JSON are the record
        return
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(rows), 3.6))
    xs = range(len(rows))
    ax.bar(
        xs,
        [r["mean"] for r in rows],
        yerr=[r["std"] for r in rows],
        capsize=4,
        color="#8fb3d9",
        edgecolor="#2b5d8a",
    )
    for x, r in zip(xs, rows):
        ax.scatter([x] * len(r["values"]), r["values"], s=10, color="#1f2f3f", zorder=3)
    lo = min(min(r["values"]) for r in rows)
    hi = max(max(r["values"]) for r in rows)
    ax.set_ylim(max(0.0, lo - 0.15 * (hi - lo + 1)), min(100.0, hi + 0.15 * (hi - lo + 1)))
    ax.set_xticks(list(xs), [r["recipe"] for r in rows], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(
        f"{rows[0]['dataset']}: mean ± std over {len(rows[0]['values'])} seeds", fontsize=9
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
