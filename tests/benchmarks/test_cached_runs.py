"""The benchmark scripts' run cache: a committed record is read back before any training, and a
run found in the cache is recorded (so that a sweep resumes from its records on a new machine)."""

from __future__ import annotations

import json

from tests.benchmarks.scripts import load


def test_a_record_is_read_back_without_training(tmp_path):
    cached_runs = load("cached_runs")
    record = tmp_path / "runs" / "kd-s1.json"
    record.parent.mkdir()
    record.write_text(json.dumps({"val_acc": 97.5}))
    # the recipe does not exist: reading it (or training) would raise
    got = cached_runs.train_once(tmp_path / "missing.yaml", [], tmp_path / "cache" / "kd", record)
    assert got == {"val_acc": 97.5}


def test_a_cached_run_is_recorded(tmp_path):
    cached_runs = load("cached_runs")
    where = tmp_path / "cache" / "kd-s1"
    where.mkdir(parents=True)
    (where / "summary.json").write_text(json.dumps({"val_acc": 91.25, "seed": 1}))
    record = tmp_path / "results" / "runs" / "kd-s1.json"
    got = cached_runs.train_once(tmp_path / "missing.yaml", [], where, record)
    assert got == {"val_acc": 91.25, "seed": 1}
    assert json.loads(record.read_text()) == got
    assert not list(record.parent.glob("*.tmp"))
