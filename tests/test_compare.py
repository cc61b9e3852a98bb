"""advkt compare's validity rule, paired differences and benchmark spec (docs/benchmarks.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from advkt.recipe import load_recipe
from advkt.report.compare import compare, doubled_recipe, markdown_table, summarise
from advkt.report.curves import collect_curves, dumps, load_curves, mean_curve, read_curve
from advkt.report.paired import add_paired, fmt_paired, paired_difference
from advkt.report.plot import plot
from advkt.report.results import row
from advkt.report.validity import (
    BenchmarkSpecError,
    check_anchor,
    check_converged,
    check_gap,
    check_spread,
    load_spec,
    report_lines,
    resolve_spec,
    validity,
)


def _row(method, values, seeds=None, recipe=None, **extra):
    seeds = seeds or list(range(1, len(values) + 1))
    extra = {
        "student": "cnn1d",
        "params": 858,
        "flops": 8080,
        "wall_time_s": [1.0],
        "epochs": 1,
        **extra,
    }
    return row(method, "mnist1d", "test_acc", values, recipe=recipe or method, seeds=seeds, **extra)


# --- the four checks ------------------------------------------------------------------------


def test_anchor_pass_fail_and_not_checked():
    assert check_anchor(93.1, 92.5)["status"] == "pass"
    c = check_anchor(92.0, 92.5)
    assert (c["status"], c["value"], c["need"]) == ("fail", 92.0, ">= 92.5")
    assert check_anchor(93.1, None)["status"] == "not checked"  # no anchor is never a pass
    assert check_anchor(None, 92.5)["status"] == "not checked"


def test_spread_pass_fail_and_one_seed_not_checked():
    assert check_spread(_row("student", [50.0, 50.5, 51.0]), 1.0)["status"] == "pass"
    c = check_spread(_row("student", [48.0, 50.0, 51.0]), 1.0)
    assert c["status"] == "fail" and c["value"] == pytest.approx(1.5275, abs=1e-4)
    assert c["need"] == "<= 1.0"
    one = check_spread(_row("student", [50.0]), 1.0)
    assert one["status"] == "not checked" and "one seed" in one["why"]
    assert check_spread(_row("student", [50.0, 60.0]), None)["status"] == "not checked"
    unasked = check_spread(_row("student", [50.0, 60.0]), None, asked=False)
    assert unasked["status"] == "not checked" and unasked["asked"] is False


def test_gap_pass_fail_and_not_checked():
    st = _row("student", [80.0, 82.0])
    assert check_gap(90.0, st, 3.0)["status"] == "pass"
    c = check_gap(83.0, st, 3.0)
    assert c["status"] == "fail" and c["value"] == pytest.approx(2.0)
    assert check_gap(None, st, 3.0)["status"] == "not checked"
    assert check_gap(90.0, None, 3.0)["status"] == "not checked"


def test_converged_pass_fail_and_no_doubled_run():
    st = _row("student", [80.0, 81.0], epochs=20)
    close = _row("student", [80.2, 81.2], epochs=40, convergence_check=True)
    far = _row("student", [79.0, 80.0], epochs=40, convergence_check=True)  # moved -1.0
    ok = check_converged(st, close, 0.5)
    assert ok["status"] == "pass" and ok["moved"] == pytest.approx(0.2)
    bad = check_converged(st, far, 0.5)
    assert bad["status"] == "fail" and bad["value"] == pytest.approx(1.0)  # |moved|: either way
    assert bad["need"] == "< 0.5" and bad["epochs"] == [20, 40]
    edge = check_converged(st, _row("student", [80.5, 81.5], convergence_check=True), 0.5)
    assert edge["status"] == "fail"  # less than 0.5, strictly
    none = check_converged(st, None, 0.5)
    assert none["status"] == "not checked" and "convergence: true" in none["why"]


def test_validity_on_rows_counts_only_asked_checks_and_never_a_missing_input():
    st = _row("student", [50.0, 50.4], recipe="s")
    kd = _row("kd", [51.0, 50.0], recipe="k", teacher_acc=60.0, teacher="cnn1d")
    x2 = _row("student", [50.1, 50.5], recipe="s-x2", convergence_check=True, of="s")
    spec = resolve_spec({"anchor": 59.0}, "mnist1d")
    assert (spec["max_student_std"], spec["min_gap"], spec["converged_delta"]) == (1.0, 3.0, 0.5)
    v = validity([st, kd, x2], spec)
    assert v["valid"] is True and v["teacher_acc"] == 60.0
    assert {k: c["status"] for k, c in v["checks"].items()} == dict.fromkeys(
        ("anchor", "converged", "spread", "gap"), "pass"
    )
    assert report_lines(v) == ["validity: valid (all 4 checks pass)"]

    # no doubled run: the converged check is not checked, and the comparison is not valid
    v = validity([st, kd], spec)
    assert v["checks"]["converged"]["status"] == "not checked" and v["valid"] is False
    assert any("not checked" in line for line in report_lines(v))
    # a threshold set to null is not asked and does not count
    v = validity([st, kd], resolve_spec({"anchor": 59.0, "converged_delta": None}, "mnist1d"))
    assert v["checks"]["converged"]["asked"] is False and v["valid"] is True
    # no anchor: not checked, not valid
    v = validity([st, kd, x2], resolve_spec({}, "mnist1d"))
    assert v["checks"]["anchor"]["status"] == "not checked" and v["valid"] is False
    # the teacher misses its anchor: one printed line names the check and the failure
    v = validity([st, kd, x2], resolve_spec({"anchor": 61.0}, "mnist1d"))
    assert report_lines(v)[0] == "validity: teacher anchor 60.00 < 61.0 (fail)"


def test_rule_defaults_per_dataset():
    assert resolve_spec({}, "mnist")["max_student_std"] == 0.15
    assert resolve_spec({}, "mnist")["min_gap"] is None  # the rule asks no gap on MNIST
    assert resolve_spec({}, "cifar10")["converged_delta"] == 1.0
    assert resolve_spec({}, "cifar10")["max_student_std"] == 0.6
    assert resolve_spec({"max_student_std": 2.0}, "mnist1d")["max_student_std"] == 2.0
    other = resolve_spec({}, "cifar100")  # no std threshold: asked, but not checked
    assert "max_student_std" not in other
    st = _row("student", [50.0, 51.0])
    v = validity([st], other)
    assert v["checks"]["spread"]["status"] == "not checked" and v["checks"]["spread"]["asked"]


def test_failing_std_line_reads_like_the_issue():
    st = _row("student", [48.58, 50.0, 51.42], recipe="s")
    v = validity([st], resolve_spec({"anchor": 1.0}, "mnist1d"))
    line = next(x for x in report_lines(v) if "std" in x)
    assert line == "validity: student-alone std 1.42 > 1.0 (fail)"


# --- paired differences ---------------------------------------------------------------------


def test_paired_difference_over_shared_seeds_in_order():
    base = _row("student", [10.0, 20.0, 30.0], seeds=[1, 2, 3])
    r = _row("kd", [22.0, 9.0, 31.0, 99.0], seeds=[2, 1, 3, 4])  # seed 4 has no partner
    d = paired_difference(r, base)
    # diffs: seed 2 +2, seed 1 -1, seed 3 +1
    assert d["n"] == 3 and d["ahead"] == 2 and d["seeds"] == [2, 1, 3]
    assert d["mean"] == pytest.approx(2 / 3)
    assert d["std"] == pytest.approx(1.527525, abs=1e-6)
    assert fmt_paired(d) == "+0.67 ± 1.53 (2/3)"
    assert paired_difference(r, _row("student", [1.0], seeds=[7])) is None
    tie = paired_difference(_row("kd", [10.0]), _row("student", [10.0]))
    assert tie["ahead"] == 0  # a tie is not ahead


def test_add_paired_skips_the_student_and_the_convergence_rows():
    st = _row("student", [50.0, 51.0], recipe="s")
    kd = _row("kd", [52.0, 51.5], recipe="k")
    at = _row("at", [49.0, 53.0], recipe="a")
    x2 = _row("student", [50.0, 51.0], recipe="s-x2", convergence_check=True)
    rows = [st, kd, at, x2]
    add_paired(rows, st, kd)
    assert "paired" not in st and "paired" not in x2
    assert set(kd["paired"]) == {"student"}
    assert kd["paired"]["student"]["mean"] == pytest.approx(1.25)
    assert kd["paired"]["student"]["ahead"] == 2
    assert at["paired"]["kd"]["mean"] == pytest.approx(-0.75)
    assert at["paired"]["kd"]["ahead"] == 1 and at["paired"]["kd"]["n"] == 2
    table = markdown_table(rows, validity(rows, resolve_spec({}, "mnist1d")), {})
    assert "| k | kd |" in table and "+1.25 ± 1.06 (2/2)" in table
    assert "| s-x2 |" not in table and "s-x2:" in table  # listed apart, not ranked


# --- the spec -------------------------------------------------------------------------------


def test_spec_validation_is_one_line_naming_the_key_and_the_valid_ones(tmp_path):
    with pytest.raises(BenchmarkSpecError) as ex:
        load_spec({"anchr": 92.5})
    msg = str(ex.value)
    assert msg.startswith("unknown benchmark spec key 'anchr'; valid keys: name, anchor,")
    assert "max_student_std" in msg and "\n" not in msg
    with pytest.raises(ValueError, match="key 'anchor': expected a number, got 'high'"):
        load_spec({"anchor": "high"})
    with pytest.raises(ValueError, match="key 'convergence': expected true or false"):
        load_spec({"convergence": "yes"})
    with pytest.raises(ValueError, match="key 'anchor': expected a number, got None"):
        load_spec({"anchor": None})
    with pytest.raises(ValueError, match="'max_student_std': expected >= 0"):
        load_spec({"max_student_std": -1})
    assert load_spec({"min_gap": None, "anchor": 90}) == {"min_gap": None, "anchor": 90.0}
    p = tmp_path / "b.yaml"
    p.write_text("name: x\nanchor: 92.5\nconvergence: true\n")
    assert load_spec(p) == {"name": "x", "anchor": 92.5, "convergence": True}
    p.write_text("- a list\n")
    with pytest.raises(ValueError, match="must be a mapping"):
        load_spec(p)
    with pytest.raises(FileNotFoundError):
        load_spec(tmp_path / "missing.yaml")


def test_the_documented_example_spec_loads():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md").read_text()
    block = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    spec = load_spec(yaml.safe_load(block))
    assert spec["anchor"] == 92.5 and spec["convergence"] is True
    assert set(spec) == {
        "name",
        "anchor",
        "anchor_source",
        "student",
        "kd",
        "convergence",
        "max_student_std",
        "min_gap",
        "converged_delta",
    }


def test_cli_spec_error_is_one_line_exit_2(tmp_path, capsys):
    from advkt.cli import main

    spec = tmp_path / "b.yaml"
    spec.write_text("anchor: 92.5\nmax_std: 1.0\n")
    recipe = _recipes(tmp_path)[0]
    assert main(["compare", recipe, "--out", str(tmp_path / "o"), "--benchmark", str(spec)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("advkt: error: unknown benchmark spec key 'max_std'; valid keys: ")
    assert "\n" not in err
    assert not (tmp_path / "o").exists()  # validated before anything ran


def test_doubled_recipe_stretches_the_schedule(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text(
        yaml.safe_dump(
            {
                "method": {"name": "student"},
                "student": {"model": "cnn1d"},
                "data": {"dataset": "mnist1d"},
                "train": {
                    "epochs": 240,
                    "schedule": {"name": "step", "milestones": [150, 180], "warmup_epochs": 1},
                },
            }
        )
    )
    r = load_recipe(p)
    x2 = doubled_recipe(r)
    assert x2.name == "r-x2" and x2.train.epochs == 480
    assert x2.train.schedule.milestones == [300, 360] and x2.train.schedule.warmup_epochs == 2
    assert r.train.epochs == 240 and r.train.schedule.milestones == [150, 180]  # not mutated


def test_read_curve_skips_torn_lines_keeps_the_last_record_and_val_acc_only_when_whole(tmp_path):
    m = tmp_path / "metrics.jsonl"
    m.write_text(
        '{"epoch": 2, "test_acc": 20.0, "val_acc": 21.0}\n'
        '{"epoch": 1, "test_acc": 10.0, "val_acc": 11.0}\n'
        '{"epoch": 2, "test_acc": 22.0, "val_acc": 23.0}\n'  # resumed: epoch 2 again
        '"not a record"\n{"epoch": 3, "te'
    )
    assert read_curve(m) == {"epoch": [1, 2], "test_acc": [10.0, 22.0], "val_acc": [11.0, 23.0]}
    m.write_text(
        '{"epoch": 1, "test_acc": 10.0, "val_acc": 11.0}\n{"epoch": 2, "test_acc": 20.0}\n'
    )
    assert read_curve(m) == {"epoch": [1, 2], "test_acc": [10.0, 20.0]}  # no partial val_acc
    assert read_curve(tmp_path / "missing.jsonl") == {}


def _curves_runs(tmp_path):
    runs = tmp_path / "runs"
    (runs / "a-s1").mkdir(parents=True)
    (runs / "a-s1" / "metrics.jsonl").write_text(
        '{"epoch": 1, "test_acc": 10.0}\n{"epoch": 2, "test_acc": 20.0}\n{"epoch": 3, "te'
    )
    (runs / "a-s2").mkdir()
    (runs / "a-s2" / "metrics.jsonl").write_text('{"epoch": 1, "test_acc": 30.0}\n')
    return runs


def test_collect_curves_and_mean_curve_skip_missing_and_torn_metrics(tmp_path):
    curves = collect_curves(_curves_runs(tmp_path), {"a": [1, 2, 3], "b": [1]})
    assert curves == {  # seed 3 and recipe b: no run folder, no entry
        "a": {
            "1": {"epoch": [1, 2], "test_acc": [10.0, 20.0]},
            "2": {"epoch": [1], "test_acc": [30.0]},
        },
        "b": {},
    }
    assert json.loads(dumps(curves)) == curves and json.loads(dumps({})) == {}
    assert mean_curve(curves, "a", [1, 2, 3]) == ([1, 2], [20.0, 20.0])
    assert mean_curve(curves, "a", [2]) == ([1], [30.0])
    assert mean_curve(curves, "b", [1]) == ([], [])
    assert mean_curve(curves, "c", [1]) == ([], [])
    assert load_curves(tmp_path / "missing.json") == {}


def test_plot_draws_from_curves_json_without_a_runs_folder(tmp_path):
    pytest.importorskip("matplotlib")
    import shutil

    runs = _curves_runs(tmp_path)
    (tmp_path / "curves.json").write_text(dumps(collect_curves(runs, {"a": [1, 2]})))
    shutil.rmtree(runs)
    rows = [_row("student", [20.0, 30.0], recipe="a")]
    out = plot(rows, tmp_path / "plot.png", curves=load_curves(tmp_path / "curves.json"))
    assert out == tmp_path / "plot.png" and out.stat().st_size > 5000


def test_summarise_without_a_spec_still_judges_and_is_not_valid():
    st = _row("student", [50.0, 50.4], recipe="s")
    kd = _row("kd", [51.0, 50.0], recipe="k", teacher_acc=60.0, teacher="cnn1d")
    rep = summarise([st, kd], {})
    assert rep["validity"]["valid"] is False
    assert rep["table"].startswith("Teacher: cnn1d, test accuracy 60.00 %.")
    rep = summarise([st, kd], {"anchor": 59.5, "anchor_source": "a paper"})
    assert rep["table"].startswith(
        "Teacher: cnn1d, test accuracy 60.00 % (anchor ≥ 59.5 %, a paper)."
    )
    assert "- anchor: teacher anchor 60.00 >= 59.5 (pass)" in rep["table"]


# --- end to end -----------------------------------------------------------------------------


def _recipes(tmp_path) -> list[str]:
    """A student alone and a KD recipe on a 1,000-signal MNIST-1D subset, 3 epochs, width 4 (a
    few seconds on one core, and enough to learn something: the rows differ)."""
    train = {
        "epochs": 3,
        "batch_size": 32,
        "optimizer": {"name": "adam", "lr": 0.01, "weight_decay": 0.0},
        "schedule": {"name": "cosine"},
    }
    base = {
        "data": {"dataset": "mnist1d", "train_subset": 1000, "test_subset": 200},
        "train": train,
    }
    cnn = {"model": "cnn1d", "args": {"width": 4}}
    trees = {
        "teacher4": {
            **base,
            "train": {**train, "epochs": 5},
            "method": {"name": "student"},
            "student": cnn,
        },
        "student4": {**base, "method": {"name": "student"}, "student": cnn},
        "kd4": {
            **base,
            "method": {"name": "kd"},
            "student": cnn,
            "teacher": {**cnn, "recipe": "teacher4.yaml"},
        },
    }
    for name, tree in trees.items():
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(tree))
    return [str(tmp_path / "student4.yaml"), str(tmp_path / "kd4.yaml")]


def test_compare_end_to_end_with_convergence_validity_paired_and_plot(
    tmp_path, capsys, monkeypatch
):
    from advkt.cli import main

    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path / "cache"))  # the teacher is trained here

    recipes = _recipes(tmp_path)
    spec = tmp_path / "bench.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "name": "mnist1d-tiny",
                "anchor": 101.0,  # no teacher reaches it: the anchor check must fail
                "anchor_source": "made up for the test",
                "max_student_std": 100.0,
                "min_gap": None,  # not asked
                "converged_delta": 100.0,
                "convergence": True,
            }
        )
    )
    out = tmp_path / "cmp"
    code = main(["compare", *recipes, "--seeds", "2", "--out", str(out), "--benchmark", str(spec)])
    assert code == 0

    res = json.loads((out / "results.json").read_text())
    assert res["benchmark"] == "mnist1d-tiny"
    assert "--benchmark" in res["command"]
    assert [r["recipe"] for r in res["rows"]] == ["student4", "kd4", "student4-x2"]
    st, kd, x2 = res["rows"]
    for r in res["rows"]:  # the keys other tools read are still there
        assert {"method", "values", "mean", "std", "teacher_acc", "seeds", "epochs"} <= set(r)
        assert {"recipe", "student", "params", "flops", "wall_time_s"} <= set(r)
        assert r["seeds"] == [1, 2] and len(r["values"]) == 2
    assert x2["convergence_check"] is True and x2["epochs"] == 6 and st["epochs"] == 3
    assert (out / "runs" / "student4-x2-s1" / "summary.json").is_file()
    assert (out / "runs" / "student4-x2-s2" / "summary.json").is_file()
    assert "paired" not in st and "paired" not in x2
    p = kd["paired"]["student"]
    assert p["n"] == 2 and 0 <= p["ahead"] <= 2
    diffs = [a - b for a, b in zip(kd["values"], st["values"])]
    assert p["mean"] == pytest.approx(sum(diffs) / 2)
    assert "kd" not in kd["paired"]

    v = res["validity"]
    checks = v["checks"]
    assert checks["anchor"]["status"] == "fail" and checks["anchor"]["need"] == ">= 101.0"
    assert checks["anchor"]["value"] == pytest.approx(kd["teacher_acc"])
    assert checks["converged"]["status"] == "pass"
    assert checks["converged"]["means"] == pytest.approx([st["mean"], x2["mean"]])
    assert checks["spread"]["status"] == "pass"
    assert checks["spread"]["value"] == pytest.approx(st["std"])
    assert checks["gap"]["status"] == "not checked" and checks["gap"]["asked"] is False
    assert v["valid"] is False
    assert res["benchmark_spec"]["anchor"] == 101.0

    err = capsys.readouterr().err
    assert "validity: teacher anchor" in err and "< 101.0 (fail)" in err
    assert "validity: NOT valid" in err
    assert "[1/6] student4 seed 1 done" in err and "[6/6]" in err  # overall progress
    # the teacher's training is announced and shows its epochs before the first run ends
    told = err.index("advkt: training the teacher teacher4 (5 epochs) into ")
    assert told < err.index("] epoch 5/5 ") < err.index("[1/6]")
    table = (out / "table.md").read_text()
    assert "(anchor ≥ 101.0 %, made up for the test)" in table
    assert "| − student | − KD |" in table and "student4-x2:" in table
    assert "- anchor: teacher anchor" in table
    assert (out / "plot.png").stat().st_size > 5000
    curves = json.loads((out / "curves.json").read_text())
    assert list(curves) == ["student4", "kd4", "student4-x2"]
    for r in res["rows"]:  # one curve per seed, each epoch, ending at the row's figure
        assert list(curves[r["recipe"]]) == ["1", "2"]
        for seed, value in zip(["1", "2"], r["values"]):
            c = curves[r["recipe"]][seed]
            assert c["epoch"] == list(range(1, r["epochs"] + 1)) and "val_acc" not in c
            assert len(c["test_acc"]) == r["epochs"] and c["test_acc"][-1] == pytest.approx(value)

    # a second compare over the same folder reuses every finished run
    before = (out / "runs" / "student4-x2-s1" / "summary.json").stat().st_mtime_ns
    capsys.readouterr()
    again = compare(recipes, 2, out, benchmark_spec=load_spec(spec))
    assert (out / "runs" / "student4-x2-s1" / "summary.json").stat().st_mtime_ns == before
    err = capsys.readouterr().err  # no time-left estimate from runs that were only read back
    assert "[6/6] student4-x2 seed 2 read from its record" in err and "min left" not in err
    assert again["validity"]["checks"]["converged"]["status"] == "pass"

    # the same comparison two trainings at a time in worker processes: the same figures
    par = compare(recipes, 2, tmp_path / "par", benchmark_spec=load_spec(spec), jobs=2)
    assert [r["values"] for r in par["rows"]] == [r["values"] for r in res["rows"]]


def test_a_run_folder_is_never_reused_for_another_recipe(tmp_path):
    from advkt.recipe import load_recipe
    from advkt.report.compare import run_one

    recipe = _recipes(tmp_path)[0]
    r = load_recipe(recipe, ["train.epochs=1", "data.train_subset=200"]).model_copy(
        update={"seed": 1, "out": str(tmp_path)}
    )
    first = run_one(r, tmp_path / "runs")
    moved = r.model_copy(update={"out": str(tmp_path / "elsewhere")})
    assert run_one(moved, tmp_path / "runs") == first  # where it lives is not what it computes
    saved = tmp_path / "runs" / f"{r.name}-s1" / "recipe.json"
    tree = json.loads(saved.read_text())
    del tree["train"]["cache_teacher"]  # a run from before a key (with its default) existed
    saved.write_text(json.dumps(tree))
    assert run_one(r, tmp_path / "runs") == first
    changed = load_recipe(recipe, ["train.epochs=2", "data.train_subset=200"]).model_copy(
        update={"seed": 1, "out": str(tmp_path)}
    )
    with pytest.raises(ValueError, match=r"another recipe \(train\.epochs: 1 there, 2 here\)"):
        run_one(changed, tmp_path / "runs")


@pytest.mark.parametrize("bad", ["0", "-1", "1,1", "x", ",", "2,-3"])
def test_bad_seeds_are_one_line_errors(bad):
    from advkt.report.compare import seed_list

    with pytest.raises(ValueError, match="--seeds"):
        seed_list(bad)
    assert seed_list("3") == [1, 2, 3] and seed_list("2,0") == [2, 0]


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _alive(pid: int) -> bool:
    try:  # a zombie has exited: only its entry is left for its new parent to reap
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_killing_compare_stops_its_worker_processes(tmp_path):
    """SIGKILL of `advkt compare --jobs 2` (a session's end, a CI timeout) leaves no worker
    training on as an orphan."""
    import os
    import signal
    import subprocess
    import time

    cmd = [
        sys.executable,
        "-m",
        "advkt",
        "compare",
        "recipes/mnist1d/student_cnn1d32.yaml",
        "train.epochs=2000",
        "--seeds",
        "2",
        "--jobs",
        "2",
        "--out",
        str(tmp_path / "c"),
    ]
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, workers = time.time() + 90, []
        while time.time() < deadline and len(workers) < 2:
            time.sleep(0.5)
            workers = [
                p
                for p in _children(proc.pid)
                if b"multiprocessing-fork" in Path(f"/proc/{p}/cmdline").read_bytes()
            ]
        assert len(workers) == 2, "the workers did not start"
        time.sleep(3)  # past their initializer, into training
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.time() + 20
        while time.time() < deadline and any(_alive(p) for p in workers):
            time.sleep(0.2)
        assert not any(_alive(p) for p in workers)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_convergence_seeds_run_the_check_on_more_seeds_than_the_ranking(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path / "cache"))
    recipes = _recipes(tmp_path)
    spec = {"name": "tiny", "convergence": True, "convergence_seeds": 3, "converged_delta": 100.0}
    out = tmp_path / "cmp"
    res = compare(recipes, 2, out, benchmark_spec=spec)
    rows = {(r["recipe"], bool(r.get("convergence_base"))): r for r in res["rows"]}
    st, kd = rows[("student4", False)], rows[("kd4", False)]
    base, x2 = rows[("student4", True)], rows[("student4-x2", False)]
    assert st["seeds"] == kd["seeds"] == [1, 2]  # the ranking keeps the comparison's seeds
    assert base["seeds"] == x2["seeds"] == [1, 2, 3] and base["convergence_check"] is True
    assert base["values"][:2] == st["values"]  # the same runs where the seeds overlap
    assert base["epochs"] == 3 and x2["epochs"] == 6
    conv = res["validity"]["checks"]["converged"]
    assert conv["means"] == pytest.approx([base["mean"], x2["mean"]])
    assert res["validity"]["checks"]["spread"]["value"] == pytest.approx(st["std"])
    assert not (out / "runs" / "kd4-s3").exists()  # only the student runs the extra seed
    assert (out / "runs" / "student4-s3" / "summary.json").is_file()
    assert kd["paired"]["student"]["n"] == 2  # paired on the ranking's seeds only
    curves = json.loads((out / "curves.json").read_text())
    assert sorted(curves["student4"]) == ["1", "2", "3"]


@pytest.mark.parametrize("bad", [1, 2.5, True, "3"])
def test_convergence_seeds_must_be_a_whole_number_of_at_least_two(bad):
    with pytest.raises(BenchmarkSpecError, match="convergence_seeds"):
        load_spec({"convergence_seeds": bad})
