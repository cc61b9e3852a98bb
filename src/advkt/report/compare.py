"""``advkt compare``: several recipes on the same data, schedule and seeds, side by side.

Every recipe runs once per seed (seeds 1..N), one after the other or ``jobs`` at a time in worker
processes, so that the peers share the machine, the data (decoded once per recipe run from the same
files) and the teacher (trained once from its recipe and cached). The report is the last-epoch test
accuracy, mean ± std over seeds, with the paired difference of each method against the student
alone and against KD over the shared seeds, parameters, FLOPs and wall time, and the benchmark's
validity (docs/benchmarks.md): the teacher reaches its anchor, the student alone has converged, its
seed spread is small enough to rank, and there is room to transfer.

With ``convergence: true`` in the benchmark spec the student-alone recipe also runs with its
schedule stretched to twice the epochs (``<name>-x2``), for the same seeds; that row is marked
``convergence_check`` and takes part in no paired difference. With ``convergence_seeds: N`` the
check runs on seeds 1..N instead (more seeds than the ranking when one check's noise is near its
limit): the student alone also runs on the extra seeds, and the check compares a row of it over
those seeds (``convergence_base``) with the doubled row over the same seeds.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shlex
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from advkt.engine.checkpoint import has_checkpoint
from advkt.engine.trainer import train, train_teacher
from advkt.recipe import Recipe, load_recipe, path_slots
from advkt.report.curves import collect_curves, rows_runs, write_curves
from advkt.report.paired import add_paired, fmt_paired
from advkt.report.plot import plot
from advkt.report.results import fmt, row, write_results
from advkt.report.validity import (
    BenchmarkSpecError,
    describe,
    fmt_threshold,
    kd_row,
    load_spec,
    report_lines,
    resolve_spec,
    student_row,
    validity,
)

__all__ = ["compare", "doubled_recipe", "markdown_table", "plot", "seed_list"]


def seed_list(seeds: int | str) -> list[int]:
    """``3`` -> [1, 2, 3]; ``"2,3"`` -> [2, 3]; anything else is a one-line ValueError."""
    text = str(seeds).strip()
    try:
        out = (
            [int(s) for s in text.split(",") if s] if "," in text else list(range(1, int(text) + 1))
        )
    except ValueError:
        out = []
    if not out or len(set(out)) != len(out) or min(out) < 0:
        raise ValueError(
            f"--seeds {text!r}: expected a count N >= 1 (seeds 1..N) or a list of distinct "
            "seeds >= 0 such as 2,3"
        )
    return out


def doubled_recipe(recipe: Recipe) -> Recipe:
    """``recipe`` named ``<name>-x2`` with twice the epochs, its schedule stretched to match
    (step milestones and warm-up epochs doubled; a cosine schedule follows the epochs itself)."""
    t = recipe.train
    schedule = t.schedule.model_copy(
        update={
            "milestones": [2 * m for m in t.schedule.milestones],
            "warmup_epochs": 2 * t.schedule.warmup_epochs,
        }
    )
    train_spec = t.model_copy(update={"epochs": 2 * t.epochs, "schedule": schedule})
    return recipe.model_copy(update={"name": f"{recipe.name}-x2", "train": train_spec})


def _run_dir(recipe: Recipe, runs_dir: Path) -> Path:
    return Path(runs_dir) / f"{recipe.name}-s{recipe.seed}"


def run_one(recipe: Recipe, runs_dir: Path, quiet: bool = True) -> dict:
    """Train ``recipe`` into ``runs_dir/<name>-s<seed>``: a finished run is kept, an unfinished
    one continues from its last checkpoint, so an interrupted comparison resumes."""
    run_dir = _run_dir(recipe, runs_dir)
    if (run_dir / "recipe.json").is_file():
        _check_same_recipe(recipe, run_dir)
    if (run_dir / "summary.json").is_file():
        s = json.loads((run_dir / "summary.json").read_text())
    elif has_checkpoint(run_dir):
        s = train(None, resume=run_dir, quiet=quiet)
    else:
        s = train(recipe, run_dir=run_dir, quiet=quiet)
    print(
        f"  {recipe.name} seed {recipe.seed}: test acc {s['test_acc']:.2f}% "
        f"({s['wall_time_s']:.1f}s)",
        file=sys.stderr,
    )
    return s


def _what_it_computes(tree: dict) -> dict:
    """``tree`` without its paths (``advkt.recipe.PATH_KEYS``): where a run lives and reads its
    files is not part of what it computes."""
    out = json.loads(json.dumps(tree))
    for node, key in path_slots(out):
        del node[key]
    return out


def recipe_differences(saved: dict, recipe: Recipe) -> list[str]:
    """What differs between a saved recipe (its JSON, as ``recipe.json`` holds it) and
    ``recipe`` in what they compute (paths aside), as ``"key: a there, b here"`` lines; empty
    when a run of one stands for a run of the other."""
    # through the schema, so that a key added since (with its default) is not a difference
    then = _what_it_computes(Recipe.model_validate(saved).model_dump(mode="json"))
    now = _what_it_computes(recipe.model_dump(mode="json"))
    return [f"{k}: {a!r} there, {b!r} here" for k, a, b in _diffs(then, now)]


def _check_same_recipe(recipe: Recipe, run_dir: Path) -> None:
    """A run folder is reused only for the recipe that made it (paths aside): a changed recipe
    or override must not be reported with another recipe's figures."""
    diff = recipe_differences(json.loads((run_dir / "recipe.json").read_text()), recipe)
    if diff:
        raise ValueError(
            f"{run_dir} was trained from another recipe ({'; '.join(diff[:3])}); delete it or "
            "compare into another --out"
        )


def _diffs(a: Any, b: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            d for k in sorted(set(a) | set(b)) for d in _diffs(a.get(k), b.get(k), f"{prefix}{k}.")
        ]
    return [] if a == b else [(prefix.rstrip("."), a, b)]


def _run_json(recipe_json: dict, runs_dir: str, quiet: bool) -> dict:
    """A worker process's task (a recipe crosses the process boundary as its JSON)."""
    return run_one(Recipe.model_validate(recipe_json), Path(runs_dir), quiet)


def _die_with_parent(parent: int) -> None:
    """A worker's initializer: on Linux the kernel sends it SIGTERM when the comparing process
    (pid ``parent``) dies, even by SIGKILL, so that no worker trains on as an orphan (each run's
    checkpoints are written atomically, so the kill leaves the run resumable)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != parent:  # it died while this worker was starting: no signal comes
            os._exit(1)


def _run_all(tasks: list[tuple[Recipe, Path]], jobs: int, quiet: bool) -> dict:
    """Every (recipe, runs folder) task, ``jobs`` at a time -> {(name, seed): summary}."""
    t0, n = time.perf_counter(), len(tasks)
    # runs finished in an earlier session are only read back: the time left is estimated from
    # the runs that train now
    finished = {(r.name, r.seed) for r, d in tasks if (_run_dir(r, d) / "summary.json").is_file()}
    trained = 0

    def progress(done: int, r: Recipe) -> None:
        nonlocal trained
        if (r.name, r.seed) in finished:
            print(f"[{done}/{n}] {r.name} seed {r.seed} read from its record", file=sys.stderr)
            return
        trained += 1
        left = (time.perf_counter() - t0) / trained * (n - len(finished) - trained)
        print(
            f"[{done}/{n}] {r.name} seed {r.seed} done; about {left / 60:.0f} min left",
            file=sys.stderr,
        )

    # each distinct teacher is trained (or found cached) once, here, before any run loads it,
    # with its progress shown: a teacher can take longer than the runs that use it
    for r in {r.teacher.recipe: r for r, _ in tasks if r.teacher and r.teacher.recipe}.values():
        train_teacher(r)
    if jobs <= 1:
        out = {}
        for i, (r, d) in enumerate(tasks, 1):
            out[(r.name, r.seed)] = run_one(r, d, quiet)
            progress(i, r)
        return out
    ctx = multiprocessing.get_context("spawn")  # no forked torch state in the workers
    with ProcessPoolExecutor(
        jobs, mp_context=ctx, initializer=_die_with_parent, initargs=(os.getpid(),)
    ) as pool:
        futures = {
            pool.submit(_run_json, r.model_dump(mode="json"), str(d), quiet): r for r, d in tasks
        }
        out = {}
        for i, f in enumerate(as_completed(futures), 1):
            r = futures[f]
            out[(r.name, r.seed)] = f.result()
            progress(i, r)
        return out


def _pick_recipe(loaded: list[Recipe], name: str | None, method: str, key: str) -> Recipe | None:
    if name is not None:
        found = next((r for r in loaded if r.name == name), None)
        if found is None:
            names = ", ".join(r.name for r in loaded)
            raise BenchmarkSpecError(
                f"benchmark spec key {key!r}: {name!r} is not a compared recipe; recipes: {names}"
            )
        return found
    return next((r for r in loaded if r.method.name == method), None)


def compare(
    recipes: list[str],
    seeds: int | str,
    out: str | Path,
    overrides: list[str] | None = None,
    benchmark: str | None = None,
    quiet: bool = True,
    benchmark_spec: str | Path | dict | None = None,
    jobs: int = 1,
) -> dict:
    """Run ``recipes`` over ``seeds`` into ``out``; write results.json, table.md, curves.json
    (each run's accuracy over epochs) and plot.png. The runs themselves go to ``out/runs/``, the
    working area that a second compare over the same ``out`` resumes from.

    ``benchmark_spec``: a YAML file or dict (docs/benchmarks.md) naming the benchmark, its teacher
    anchor and the validity thresholds. ``benchmark`` names the benchmark in results.json (else
    the spec's ``name``, else the folder's name). ``jobs`` > 1 runs that many trainings at a
    time in worker processes (same runs, same figures; only the wall times share the machine).
    """
    out = Path(out)
    spec = load_spec(benchmark_spec)
    loaded = [load_recipe(r, overrides) for r in recipes]  # validate all before running any
    names = [r.name for r in loaded]
    if len(set(names)) != len(names):
        raise ValueError(f"recipe names must be unique within a comparison: {names}")
    student = _pick_recipe(loaded, spec.get("student"), "student", "student")
    _pick_recipe(loaded, spec.get("kd"), "kd", "kd")
    runs: list[tuple[Recipe, bool]] = [(r, False) for r in loaded]
    if spec.get("convergence"):
        if student is None:
            raise BenchmarkSpecError(
                "benchmark spec key 'convergence': no student-alone recipe to double "
                "(name one with 'student')"
            )
        x2 = doubled_recipe(student)
        if x2.name in names:
            raise ValueError(f"recipe {x2.name!r} clashes with the convergence run's name")
        runs.append((x2, True))

    seeds_run = seed_list(seeds)
    # the convergence check may use more seeds than the ranking (convergence_seeds): the
    # student alone then also runs on the extra seeds, as a row of the check only
    check_seeds = seeds_run
    if spec.get("convergence") and spec.get("convergence_seeds"):
        check_seeds = sorted(set(seeds_run) | set(seed_list(spec["convergence_seeds"])))
    tasks = [
        (recipe.model_copy(update={"seed": seed, "out": str(out)}), out / "runs")
        for seed in sorted(set(seeds_run) | set(check_seeds))  # seed-major: whole seeds first
        for recipe, is_check in runs
        if seed in (check_seeds if is_check else seeds_run)
    ]
    if check_seeds != seeds_run:
        tasks += [
            (student.model_copy(update={"seed": seed, "out": str(out)}), out / "runs")
            for seed in check_seeds
            if seed not in seeds_run
        ]
        runs.append((student, "base"))
    done = _run_all(tasks, jobs, quiet)
    rows = []
    for recipe, is_check in runs:
        row_seeds = check_seeds if is_check else seeds_run
        ss = [done[(recipe.name, seed)] for seed in row_seeds]
        extra: dict[str, Any] = {}
        if is_check:
            extra = {"convergence_check": True, "of": student.name}
        if is_check == "base":  # the student at its own epochs, on the check's seeds
            extra["convergence_base"] = True
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
                seeds=row_seeds,
                **extra,
            )
        )
    report = summarise(rows, spec)
    args = [*recipes, "--seeds", str(seeds), "--out", str(out)]
    if isinstance(benchmark_spec, (str, Path)):
        args += ["--benchmark", str(benchmark_spec)]
    command = "advkt compare " + " ".join(shlex.quote(a) for a in [*args, *(overrides or [])])
    write_results(
        out,
        benchmark or spec.get("name") or out.name,
        rows,
        command=command,
        validity=report["validity"],
        benchmark_spec=report["spec"],
    )
    (out / "table.md").write_text(report["table"])
    curves = collect_curves(out / "runs", rows_runs(rows))
    write_curves(out, curves)
    plot(rows, out / "plot.png", curves=curves, teacher=report["validity"]["teacher_acc"])
    for line in report_lines(report["validity"]):
        print(line, file=sys.stderr)
    return {"rows": rows, "table": report["table"], "validity": report["validity"]}


def summarise(rows: list[dict], spec: dict[str, Any]) -> dict:
    """Add the paired differences to ``rows`` (in place) and judge the validity rule.

    ``spec`` as :func:`advkt.report.validity.load_spec` returns it; returns the resolved spec, the
    validity and the markdown table.
    """
    ranked = [r for r in rows if not r.get("convergence_check")]
    resolved = resolve_spec(spec, ranked[0]["dataset"] if ranked else None)
    add_paired(rows, student_row(rows, resolved), kd_row(rows, resolved))
    v = validity(rows, resolved)
    return {"spec": resolved, "validity": v, "table": markdown_table(rows, v, resolved)}


def _teacher_line(rows: list[dict], v: dict | None, spec: dict) -> str | None:
    kd = kd_row(rows, spec)
    t = kd if kd and kd.get("teacher_acc") is not None else None
    t = t or next((r for r in rows if r.get("teacher_acc") is not None), None)
    if t is None:
        return None
    acc = v["teacher_acc"] if v else t["teacher_acc"]
    line = f"Teacher: {t['teacher']}, test accuracy {acc:.2f} %"
    if spec.get("anchor") is not None:
        src = f", {spec['anchor_source']}" if spec.get("anchor_source") else ""
        line += f" (anchor ≥ {fmt_threshold(spec['anchor'])} %{src})"
    return line + "."


def _validity_lines(v: dict, spec: dict) -> list[str]:
    name = f" of {spec['name']}" if spec.get("name") else ""
    verdict = "valid" if v["valid"] else "NOT valid"
    lines = [f"Validity{name} (docs/benchmarks.md): **{verdict}**.", ""]
    for key, c in v["checks"].items():
        text = describe(c)
        if not c["asked"]:
            text = f"{c['label']}: {c['why']}"
        lines.append(f"- {key}: {text}")
    return lines


def markdown_table(rows: list[dict], v: dict | None = None, spec: dict | None = None) -> str:
    """The teacher line, the table with paired differences, the convergence run, the validity."""
    spec = spec or {}
    lines = []
    teacher = _teacher_line(rows, v, spec)
    if teacher:
        lines += [teacher, ""]
    ranked = [r for r in rows if not r.get("convergence_check")]
    checks = [r for r in rows if r.get("convergence_check")]
    lines += [
        "| recipe | method | student | test acc (%) | − student | − KD | seeds | params | MFLOPs "
        "| wall time (s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in ranked:
        wall = sum(r["wall_time_s"]) / len(r["wall_time_s"])
        paired = r.get("paired") or {}
        lines.append(
            f"| {r['recipe']} | {r['method']} | {r['student']} | {fmt(r['mean'], r['std'])} | "
            f"{fmt_paired(paired.get('student'))} | {fmt_paired(paired.get('kd'))} | "
            f"{len(r['values'])} | {r['params']:,} | {r['flops'] / 1e6:.2f} | {wall:.1f} |"
        )
    lines += [
        "",
        "Test accuracy of the last epoch, mean ± sample std over seeds. − student and − KD: the "
        "paired difference against the student alone and against KD on each shared seed, "
        "mean ± sample std (seeds ahead / shared seeds).",
    ]
    if checks:
        lines += ["", "Convergence check (the student alone, twice the epochs; not ranked):", ""]
        for r in checks:
            lines.append(
                f"- {r['recipe']}: {fmt(r['mean'], r['std'])} at {r['epochs']} epochs "
                f"({len(r['values'])} seeds)"
            )
    if v is not None:
        lines += ["", *_validity_lines(v, spec)]
    return "\n".join(lines) + "\n"
