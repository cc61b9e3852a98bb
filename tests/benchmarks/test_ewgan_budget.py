"""The EWGAN budget script: every budget fitted and scored once per outer fold (on the inner split
of its training fold), and the rule choosing the fewest steps near the best."""

from __future__ import annotations

import json

from tests.benchmarks.scripts import load
from tests.benchmarks.test_ewgan_keel_bench import _write_keel


def test_budgets_are_scored_on_inner_splits_and_the_fewest_near_best_is_chosen(
    tmp_path, monkeypatch
):
    b = load("ewgan_budget")
    monkeypatch.setattr(b, "STEPS", (2, 4))
    monkeypatch.setattr(b, "OUT", tmp_path / "out")
    data = tmp_path / "keel"
    data.mkdir()
    _write_keel(data / "toy.dat")
    r = b.run_set(data / "toy.dat", folds=3)
    assert set(r["budgets"]) == {"2", "4"}
    assert b.run_set(data / "toy.dat", folds=3) == r  # recorded under out/sets/, read back
    assert (tmp_path / "out" / "sets" / "toy.json").is_file()
    for v in r["budgets"].values():
        assert len(v["gmean"]) == len(v["f1"]) == len(v["seconds"]) == 3
        assert all(0 <= g <= 1 for g in v["gmean"])
    monkeypatch.setattr("sys.argv", ["ewgan_budget.py", str(data), "--jobs", "1"])
    monkeypatch.setattr(b, "ProcessPoolExecutor", _Serial)
    b.main()
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    g = {n: next(r["mean"] for r in doc["rows"] if r["method"].endswith(f"@{n}") and
                 r["metric"] == "gmean") for n in (2, 4)}  # fmt: skip
    best = max(g.values())
    assert doc["chosen_n_iter"] == min(n for n, v in g.items() if v >= best - b.CHOICE_RULE)
    assert "**chosen**" in (tmp_path / "out" / "table.md").read_text()


class _Serial:
    """A stand-in for the process pool: the same calls, in this process."""

    def __init__(self, *a):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def map(self, fn, items):
        return [fn(x) for x in items]
