"""The hinton-mnist validation sweep: the same learning-rate trials for both rows, KD from the
validation teacher, three more trials for each row (the student alone's rate beyond the grid,
KD's CE / soft weights), each row's values chosen on its own validation mean, KD's schedule doubled
at its chosen values while that still moves the mean (the runs are stubbed: what is tested is
the choosing)."""

from __future__ import annotations

import json

import pytest

from tests.benchmarks.scripts import load

# validation accuracy by (row, epochs, lr, KD's CE weight); seed 2 is 0.1 below seed 1
VAL = {
    ("student", 30, 0.05, None): 98.20,
    ("student", 60, 0.05, None): 98.25,  # doubling moves it by 0.05 < 0.1: converged at 30
    ("student", 30, 0.02, None): 98.30,
    ("student", 30, 0.1, None): 98.10,
    ("student", 30, 0.15, None): 98.00,
    ("student", 30, 0.2, None): 98.40,  # the student's best rate, beyond the first grid
    ("student", 30, 0.3, None): 11.00,  # diverged
    ("kdval", 30, 0.05, 0.5): 98.90,
    ("kdval", 30, 0.02, 0.5): 98.80,
    ("kdval", 30, 0.1, 0.5): 99.00,  # KD's best rate
    ("kdval", 30, 0.1, 0.25): 99.05,  # KD's best weights
    ("kdval", 30, 0.1, 0.1): 98.95,
    ("kdval", 30, 0.1, 0.0): 98.50,
    ("kdval", 60, 0.1, 0.25): 99.20,  # + 0.15: not converged at 30
    ("kdval", 120, 0.1, 0.25): 99.25,  # + 0.05: converged at 60
}


def _stub_run(calls):
    def run(name, recipe, overrides, seed):
        row, epochs = name.split("-")[0], int(name.split("-")[1][1:])
        over = dict(o.split("=", 1) for o in overrides)
        lr = float(over.get("train.optimizer.lr", 0.05))
        ce = None
        assert int(over["train.epochs"]) == epochs
        if row == "kdval":  # KD distils from the validation teacher, never the benchmark's
            assert over["teacher.checkpoint"].endswith("hinton-mnist-mlp1200-val")
            assert recipe == "kd_mlp1200_mlp800.yaml"
            ce = float(over["method.args.ce_weight"])
            assert float(over["method.args.kd_weight"]) == 1.0 - ce
        calls.append((row, epochs, lr, ce, seed))
        return {"val_acc": VAL[(row, epochs, lr, ce)] - 0.1 * (seed - 1)}

    return run


def test_each_row_takes_its_best_rate_and_kd_its_converged_schedule(tmp_path, monkeypatch):
    sweep = load("hinton_sweep")
    calls: list = []
    monkeypatch.setattr(sweep, "run", _stub_run(calls))
    monkeypatch.setattr(sweep, "_many", lambda jobs, tasks: [sweep.run(*t) for t in tasks])
    monkeypatch.setattr(sweep, "OUT", tmp_path)
    teacher = tmp_path / "hinton-mnist-mlp1200-val"
    teacher.mkdir()
    (teacher / "model.safetensors").write_bytes(b"")
    monkeypatch.setattr(sweep, "VAL_TEACHER", teacher)
    assert sweep.main(["--seeds", "2"]) == 0
    # the same three rates for both rows, on both seeds, then three more trials each
    assert {(lr, s) for r, e, lr, ce, s in calls if r == "student" and e == 30} == {
        (lr, s) for lr in (*sweep.LRS, *sweep.MORE_LRS) for s in (1, 2)
    }
    assert {(lr, s) for r, e, lr, ce, s in calls if r == "kdval" and e == 30 and ce == 0.5} == {
        (lr, s) for lr in sweep.LRS for s in (1, 2)
    }
    student = {c for c in calls if c[0] == "student" and c[1] == 30}
    kd = {c for c in calls if c[0] == "kdval" and c[1] == 30}  # phase 3 reads one back
    assert len(student) == len(kd) == 12  # one tuning budget: six trials, two seeds
    assert {c[3] for c in kd if c[2] == 0.1} == {w[0] for w in sweep.KD_WEIGHTS}
    doc = json.loads((tmp_path / "results.json").read_text())
    chosen = {(r["method"], r["lr"], r["epochs"]) for r in doc["rows"] if r["chosen"]}
    assert ("student", 0.2, 30) in chosen and ("kd", 0.1, 30) in chosen
    assert ("kd-weights", 0.1, 30) in chosen and ("kd-schedule", 0.1, 60) in chosen
    picked = next(r for r in doc["rows"] if r["method"] == "kd-weights" and r["chosen"])
    assert picked["ce_weight"] == 0.25 and picked["kd_weight"] == 0.75
    # KD's schedule was doubled at its chosen weights
    assert {c[3] for c in calls if c[0] == "kdval" and c[1] > 30} == {0.25}
    table = (tmp_path / "table.md").read_text()
    assert "60 epochs for both rows" in table and "student alone 0.2, KD 0.1" in table
    assert "CE / soft weights 0.25 / 0.75" in table


def test_a_missing_validation_teacher_stops_with_the_command_that_trains_it(tmp_path, monkeypatch):
    sweep = load("hinton_sweep")
    monkeypatch.setattr(sweep, "VAL_TEACHER", tmp_path / "absent")
    monkeypatch.setattr(sweep, "_many", lambda *a: (_ for _ in ()).throw(AssertionError))
    with pytest.raises(SystemExit, match=r"train_teacher\.py .*data\.validation=0\.1"):
        sweep.main([])
