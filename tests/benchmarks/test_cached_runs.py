"""The benchmark scripts' run cache: a committed record is read back before any training, only
for the recipe that made it, and a run found in the cache is recorded (so that a sweep resumes
from its records on a new machine)."""

from __future__ import annotations

import json

import pytest
import yaml

from advkt.recipe import load_recipe
from tests.benchmarks.scripts import load
from tests.engine.toy import toy_recipe


def _recipe_file(tmp_path):
    path = tmp_path / "kd.yaml"
    path.write_text(yaml.safe_dump(toy_recipe(tmp_path, "kd", epochs=1)))
    return path


def _no_training(monkeypatch):
    import advkt.engine.trainer as trainer

    # imported before the patch: a module first imported inside it (train_once imports
    # advkt.report.compare) would keep the stand-in as its train for the rest of the session
    import advkt.report.compare  # noqa: F401

    def fail(*a, **k):
        raise AssertionError("trained although a record or a cached run was there")

    monkeypatch.setattr(trainer, "train", fail)


def test_a_record_of_the_same_recipe_is_read_back_without_training(tmp_path, monkeypatch):
    cached_runs, path = load("cached_runs"), _recipe_file(tmp_path)
    where = tmp_path / "cache" / "kd-s1"
    resolved = load_recipe(path, ["seed=1", f"out={where.parent}"]).model_dump(mode="json")
    record = tmp_path / "runs" / "kd-s1.json"
    record.parent.mkdir()
    record.write_text(json.dumps({"val_acc": 97.5, "recipe": resolved}))
    _no_training(monkeypatch)
    got = cached_runs.train_once(path, ["seed=1"], where, record)
    assert got["val_acc"] == 97.5
    # a record from before records kept their recipe is read as it is
    record.write_text(json.dumps({"val_acc": 96.0}))
    assert cached_runs.train_once(path, ["seed=1"], where, record) == {"val_acc": 96.0}


def test_a_record_of_another_recipe_stops_with_the_difference(tmp_path, monkeypatch):
    cached_runs, path = load("cached_runs"), _recipe_file(tmp_path)
    where = tmp_path / "cache" / "kd-s1"
    resolved = load_recipe(path, ["seed=1", f"out={where.parent}"]).model_dump(mode="json")
    record = tmp_path / "runs" / "kd-s1.json"
    record.parent.mkdir()
    record.write_text(json.dumps({"val_acc": 97.5, "recipe": resolved}))
    _no_training(monkeypatch)
    with pytest.raises(ValueError, match=r"another recipe \(method.args.T: .* there, 8.0 here"):
        cached_runs.train_once(path, ["seed=1", "method.args.T=8.0"], where, record)


def test_a_cached_run_is_recorded_with_its_recipe_and_a_stale_one_retrained(tmp_path, monkeypatch):
    cached_runs, path = load("cached_runs"), _recipe_file(tmp_path)
    where = tmp_path / "cache" / "kd-s1"
    r = load_recipe(path, ["seed=1", f"out={where.parent}"])
    where.mkdir(parents=True)
    (where / "recipe.json").write_text(json.dumps(r.model_dump(mode="json")))
    (where / "summary.json").write_text(json.dumps({"val_acc": 91.25, "seed": 1}))
    record = tmp_path / "results" / "runs" / "kd-s1.json"
    _no_training(monkeypatch)
    got = cached_runs.train_once(path, ["seed=1"], where, record)
    assert got == {"val_acc": 91.25, "seed": 1}
    kept = json.loads(record.read_text())
    assert kept["val_acc"] == 91.25 and kept["recipe"]["method"]["name"] == "kd"
    assert not list(record.parent.glob("*.tmp"))
    # the cached run was made with T = 4: asked for T = 8 it is trained again, not reused
    import advkt.engine.trainer as trainer

    monkeypatch.setattr(
        trainer, "train", lambda r, run_dir, quiet: {"val_acc": 1.0, "T": r.method.args["T"]}
    )
    got = cached_runs.train_once(path, ["seed=1", "method.args.T=8.0"], where, tmp_path / "b.json")
    assert got == {"val_acc": 1.0, "T": 8.0}
