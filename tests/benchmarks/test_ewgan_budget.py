"""The EWGAN budget script: every budget fitted and scored once per outer fold (on the inner split
of its training fold), and the rule choosing the fewest steps near the best."""

from __future__ import annotations

import json

from tests.benchmarks.scripts import SerialPool, load
from tests.benchmarks.test_ewgan_keel_bench import _write_keel


def test_budgets_are_scored_on_inner_splits_and_the_fewest_near_best_is_chosen(
    tmp_path, monkeypatch
):
    b = load("ewgan_budget")
    monkeypatch.setitem(b.STUDIES, "steps", {"2": {"filter": "support", "n_iter": 2},
                                             "4": {"filter": "support", "n_iter": 4}})  # fmt: skip
    out = tmp_path / "out"
    data = tmp_path / "keel"
    data.mkdir()
    _write_keel(data / "toy.dat")
    r = b.run_set(data / "toy.dat", folds=3, study="steps", out=out)
    assert set(r["results"]) == {"2", "4"}
    assert b.run_set(data / "toy.dat", folds=3, study="steps", out=out) == r  # read back
    assert (out / "sets" / "toy.json").is_file()
    for v in r["results"].values():
        assert len(v["gmean"]) == len(v["f1"]) == len(v["auc"]) == len(v["seconds"]) == 3
        assert all(0 <= g <= 1 for g in v["gmean"])
    monkeypatch.setattr(
        "sys.argv", ["ewgan_budget.py", str(data), "--jobs", "1", "--out", str(out)]
    )
    monkeypatch.setattr(b, "ProcessPoolExecutor", SerialPool)
    b.main()
    doc = json.loads((out / "results.json").read_text())
    g = {n: next(r["mean"] for r in doc["rows"] if r["method"].endswith(f"@{n}") and
                 r["metric"] == "gmean") for n in (2, 4)}  # fmt: skip
    best = max(g.values())
    assert doc["chosen"] == str(min(n for n, v in g.items() if v >= best - b.CHOICE_RULE))
    assert "**chosen**" in (out / "table.md").read_text()


def test_the_filter_study_chooses_among_ewgan_variants_only(tmp_path, monkeypatch):
    """The peers are scored on the same inner splits as references, but never chosen, even
    where they score best."""
    b = load("ewgan_budget")
    monkeypatch.setitem(b.STUDIES, "filter", {"safe": {"filter": "safe", "n_iter": 2},
                                              "peer:ros": "ros"})  # fmt: skip
    data = tmp_path / "keel"
    data.mkdir()
    _write_keel(data / "toy.dat")
    r = b.run_set(data / "toy.dat", folds=3, study="filter", out=tmp_path / "out")
    assert set(r["results"]) == {"safe", "peer:ros"}
    summary = {"safe": {"gmean": 0.1, "f1": 0.1, "auc": 0.1},
               "peer:ros": {"gmean": 0.9, "f1": 0.9, "auc": 0.9}}  # fmt: skip
    assert b.choose("filter", summary) == "safe"
    summary["other"] = {"gmean": 0.2, "f1": 0.0, "auc": 0.4}  # mean 0.2 > 0.1
    assert b.choose("filter", summary) == "other"


def test_a_new_variant_is_run_alone_and_the_recorded_ones_are_read_back(tmp_path, monkeypatch):
    """Adding a variant to a study runs that variant only: the recorded ones come back as they
    were (same settings, same folds), a variant whose settings changed is run again."""
    b = load("ewgan_budget")
    data, out = tmp_path / "keel", tmp_path / "out"
    data.mkdir()
    _write_keel(data / "toy.dat")
    monkeypatch.setitem(b.STUDIES, "stop", {"a": {"filter": "safe", "n_iter": 2}})
    first = b.run_set(data / "toy.dat", folds=3, study="stop", out=out)
    ran = []
    real = b._run_set
    monkeypatch.setattr(b, "_run_set", lambda p, f, v: ran.append(set(v)) or real(p, f, v))
    monkeypatch.setitem(b.STUDIES, "stop", {"a": {"filter": "safe", "n_iter": 2},
                                            "b": {"filter": "safe", "n_iter": 3}})  # fmt: skip
    both = b.run_set(data / "toy.dat", folds=3, study="stop", out=out)
    assert ran == [{"b"}]
    assert both["results"]["a"] == first["results"]["a"]
    assert list(both["results"]) == ["a", "b"] and len(both["results"]["b"]["f1"]) == 3
    assert b.run_set(data / "toy.dat", folds=3, study="stop", out=out) == both  # all read back
    assert ran == [{"b"}]
    monkeypatch.setitem(b.STUDIES, "stop", {"a": {"filter": "safe", "n_iter": 4},
                                            "b": {"filter": "safe", "n_iter": 3}})  # fmt: skip
    b.run_set(data / "toy.dat", folds=3, study="stop", out=out)
    assert ran == [{"b"}, {"a"}]  # a's settings changed: run again


def test_the_speed_study_chooses_the_best_variant_within_the_time_limit(tmp_path):
    """A variant slower than ``SPEED_LIMIT`` is never chosen, however well it scores; when none
    is fast enough, the choice says so."""
    b = load("ewgan_budget")
    fast = b.SPEED_LIMIT / 2
    summary = {"slow": {"gmean": 0.9, "f1": 0.9, "auc": 0.9, "median_s": b.SPEED_LIMIT + 1},
               "ok": {"gmean": 0.5, "f1": 0.5, "auc": 0.5, "median_s": fast},
               "worse": {"gmean": 0.4, "f1": 0.5, "auc": 0.5, "median_s": fast},
               "peer:ros": {"gmean": 1.0, "f1": 1.0, "auc": 1.0, "median_s": 0.0}}  # fmt: skip
    assert b.choose("speed", summary) == "ok"
    assert b.choose("stop", summary) == "slow"  # the stop study has no time limit
    summary["ok"]["median_s"] = summary["worse"]["median_s"] = b.SPEED_LIMIT + 0.1
    assert b.choose("speed", summary).startswith("none")
