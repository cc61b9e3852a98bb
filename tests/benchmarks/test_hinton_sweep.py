"""The hinton-mnist validation sweep: the same learning-rate trials for both rows, KD from the
validation teacher, each row's rate chosen on its own validation mean, KD's schedule doubled
while that still moves the mean (the runs are stubbed: what is tested is the choosing)."""

from __future__ import annotations

import json

import pytest

from tests.benchmarks.scripts import load

# validation accuracy by (row, epochs, lr); seed 2 is 0.1 below seed 1
VAL = {
    ("student", 30, 0.05): 98.20,
    ("student", 60, 0.05): 98.25,  # doubling moves it by 0.05 < 0.1: converged at 30
    ("student", 30, 0.02): 98.30,  # the student's best rate
    ("student", 30, 0.1): 98.10,
    ("kdval", 30, 0.05): 98.90,
    ("kdval", 30, 0.02): 98.80,
    ("kdval", 30, 0.1): 99.00,  # KD's best rate
    ("kdval", 60, 0.1): 99.20,  # + 0.2: not converged at 30
    ("kdval", 120, 0.1): 99.25,  # + 0.05: converged at 60
}


def _stub_run(calls):
    def run(name, recipe, overrides, seed):
        row, epochs = name.split("-")[0], int(name.split("-")[1][1:])
        over = dict(o.split("=", 1) for o in overrides)
        lr = float(over.get("train.optimizer.lr", 0.05))
        assert int(over["train.epochs"]) == epochs
        if row == "kdval":  # KD distils from the validation teacher, never the benchmark's
            assert over["teacher.checkpoint"].endswith("hinton-mnist-mlp1200-val")
            assert recipe == "kd_mlp1200_mlp800.yaml"
        calls.append((row, epochs, lr, seed))
        return {"val_acc": VAL[(row, epochs, lr)] - 0.1 * (seed - 1)}

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
    # the same three rates for both rows, on both seeds
    for row in ("student", "kdval"):
        assert {(lr, s) for r, e, lr, s in calls if r == row and e == 30} == {
            (lr, s) for lr in sweep.LRS for s in (1, 2)
        }
    doc = json.loads((tmp_path / "results.json").read_text())
    chosen = {(r["method"], r["lr"], r["epochs"]) for r in doc["rows"] if r["chosen"]}
    assert ("student", 0.02, 30) in chosen and ("kd", 0.1, 30) in chosen
    assert ("kd-schedule", 0.1, 60) in chosen  # 120 moved it by less than 0.1
    table = (tmp_path / "table.md").read_text()
    assert "60 epochs for both rows" in table and "student alone 0.02, KD 0.1" in table


def test_a_missing_validation_teacher_stops_with_the_command_that_trains_it(tmp_path, monkeypatch):
    sweep = load("hinton_sweep")
    monkeypatch.setattr(sweep, "VAL_TEACHER", tmp_path / "absent")
    monkeypatch.setattr(sweep, "_many", lambda *a: (_ for _ in ()).throw(AssertionError))
    with pytest.raises(SystemExit, match=r"train_teacher\.py .*data\.validation=0\.1"):
        sweep.main([])
