from __future__ import annotations

import json

import numpy as np
import pytest

from tests.benchmarks.scripts import load

bench = load("ewgan_keel")
BenchConfig, run, score, main = bench.BenchConfig, bench.run, bench.score, bench.main
make_sampler = bench.make_sampler
average_ranks = load("ewgan_keel_report").average_ranks
median_fit = load("ewgan_keel_report").median_fit


def _write_keel(path, n_neg=48, n_pos=12, seed=0):
    rng = np.random.default_rng(seed)
    lines = [
        "@relation toy",
        "@attribute Colour {red, green}",
        "@attribute A real [-10, 10]",
        "@attribute B real [-10, 10]",
        "@attribute Class {positive, negative}",
        "@data",
    ]
    for label, n, mu in (("negative", n_neg, 0.0), ("positive", n_pos, 2.0)):
        for _ in range(n):
            a, b = rng.normal(mu, 1.0, 2)
            colour = "red" if rng.random() < (0.8 if mu else 0.2) else "green"
            lines.append(f"{colour}, {a:.3f}, {b:.3f}, {label}")
    path.write_text("\n".join(lines) + "\n")


def test_bench_writes_every_output(tmp_path):
    data = tmp_path / "keel"
    data.mkdir()
    _write_keel(data / "toy.dat")
    _write_keel(data / "toy2.dat", seed=1)
    out = tmp_path / "out"
    cfg = BenchConfig(
        data_dir=data,
        out=out,
        folds=2,
        seeds=(0, 1),
        methods=("none", "smote", "ctgan", "ewgan-share"),
        ewgan_n_iter=3,
        command="test",
    )
    run(cfg, log=lambda s: None)
    for name in ("results.json", "table.md", "timing.md", "pca.png", "pca-ctgan.png", "README.md"):
        assert (out / name).is_file(), name
    doc = json.loads((out / "results.json").read_text())
    assert doc["benchmark"] == "ewgan-keel" and doc["partial"] is False
    scores = [r for r in doc["rows"] if "/" in r["metric"]]
    assert len(scores) == 2 * 4 * 4 * 3  # data sets x methods x classifiers x metrics
    r = next(r for r in scores if r["method"] == "smote" and r["metric"] == "svm/gmean")
    assert len(r["values"]) == 2 and len(r["folds"]) == 2 and len(r["folds"][0]) == 2
    assert r["values"][0] == pytest.approx(np.mean(r["folds"][0]))
    # average ranks of 4 methods always sum to 1 + 2 + 3 + 4
    ranks = doc["average_ranks"]
    for col in ("tree/f1", "logreg/auc", "mean"):
        assert sum(ranks[m][col] for m in cfg.methods) == pytest.approx(10.0)
    t = doc["timing"][0]
    for gan in ("ewgan-share", "ctgan"):
        assert t["ratio_to_smote"][gan] == pytest.approx(t["seconds"][gan] / t["seconds"]["smote"])
    assert not doc["failures"]
    assert "## toy (n = 60, minority 12, IR 4.0)" in (out / "table.md").read_text()
    assert "| smote | " in (out / "timing.md").read_text().split("Median seconds")[1]


def test_median_fit_pools_every_fold_of_every_set():
    results = [{"times": {"smote": [0.1, 0.3], "ewgan": [5.0, 1.0]}},
               {"times": {"smote": [0.2], "ewgan": [2.0]}}]  # fmt: skip
    assert median_fit(results, ["smote", "ewgan"]) == {"smote": 0.2, "ewgan": 2.0}


class _Stub:
    """A 'classifier' with fixed predictions and scores."""

    def __init__(self, pred, s):
        self.pred, self.s = np.asarray(pred), np.asarray(s)

    def predict(self, X):
        return self.pred

    def predict_proba(self, X):
        return np.stack([1 - self.s, self.s], axis=1)


def test_score_by_hand():
    y = np.array([1, 1, 0, 0, 0, 0])
    m = _Stub(pred=[1, 0, 1, 0, 0, 0], s=[0.9, 0.4, 0.6, 0.1, 0.2, 0.3])
    out = score(m, None, y)
    # TP 1, FN 1, FP 1, TN 3: F1 = 2/(2+1+1); G = sqrt(1/2 * 3/4); AUC: 7 of 8 pairs ordered
    assert out["f1"] == pytest.approx(0.5)
    assert out["gmean"] == pytest.approx(np.sqrt(0.375))
    assert out["auc"] == pytest.approx(7 / 8)


def test_average_ranks_by_hand():
    def res(a, b):  # one data set where method x scores a and y scores b on every column
        cols = {k: [[a]] for k in ("f1", "gmean", "auc")}
        cols_b = {k: [[b]] for k in ("f1", "gmean", "auc")}
        clfs = ("tree", "knn", "svm", "logreg")
        return {"scores": {"x": {c: cols for c in clfs}, "y": {c: cols_b for c in clfs}}}

    ranks = average_ranks([res(0.9, 0.5), res(0.5, 0.9), res(0.7, 0.7)], ["x", "y"])
    # x: ranks 1, 2, 1.5 -> 1.5; same for y
    assert ranks["x"]["svm/f1"] == pytest.approx(1.5)
    ranks = average_ranks([res(0.9, 0.5), res(0.8, 0.7)], ["x", "y"])
    assert ranks["x"]["mean"] == pytest.approx(1.0) and ranks["y"]["all/auc"] == pytest.approx(2)


def test_cli_reports_a_missing_folder(tmp_path, capsys):
    assert main([str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 1
    assert "no such folder" in capsys.readouterr().err


def test_per_variant_steps_reach_only_that_variant(tmp_path):
    cfg = BenchConfig(data_dir=tmp_path, out=tmp_path, ewgan_n_iter=7,
                      ewgan_steps={"ewgan-share-support": 100})  # fmt: skip
    assert make_sampler("ewgan-share-support", 0, [], cfg).n_iter == 100
    assert make_sampler("ewgan-share", 0, [], cfg).n_iter == 7
    assert make_sampler("ctgan", 0, [], cfg).n_iter == 7


@pytest.mark.parametrize("bad", ["smote=100", "ewgan-share-support=0", "ewgan-share-support"])
def test_bad_per_variant_steps_are_refused(bad, capsys):
    assert main(["--ewgan-steps", bad]) == 2
    assert "--ewgan-steps" in capsys.readouterr().err


def test_a_recorded_set_is_read_back_and_a_changed_protocol_reruns(tmp_path, monkeypatch):
    data = tmp_path / "keel"
    data.mkdir()
    _write_keel(data / "toy.dat")
    cfg = BenchConfig(data_dir=data, out=tmp_path / "out", folds=2, seeds=(0,),
                      methods=("none", "smote"), command="test")  # fmt: skip
    first = bench.recorded_dataset(data / "toy.dat", cfg)
    assert (tmp_path / "out" / "sets" / "toy.json").is_file()
    calls = []
    monkeypatch.setattr(bench, "run_dataset", lambda p, c: calls.append(p) or first)
    assert bench.recorded_dataset(data / "toy.dat", cfg) == json.loads(json.dumps(first))
    assert calls == []
    cfg.seeds = (0, 1)
    bench.recorded_dataset(data / "toy.dat", cfg)
    assert len(calls) == 1


def test_a_record_lacking_a_method_is_completed_by_running_only_that_method(tmp_path, monkeypatch):
    data = tmp_path / "keel"
    data.mkdir()
    _write_keel(data / "toy.dat")
    both = ("none", "smote")
    full = bench.run_dataset(data / "toy.dat", BenchConfig(
        data_dir=data, out=tmp_path / "full", folds=2, seeds=(0,), methods=both))  # fmt: skip
    cfg = BenchConfig(data_dir=data, out=tmp_path / "out", folds=2, seeds=(0,),
                      methods=("none",), command="test")  # fmt: skip
    bench.recorded_dataset(data / "toy.dat", cfg)
    ran = []
    real = bench.run_dataset
    monkeypatch.setattr(bench, "run_dataset", lambda p, c: ran.append(c.methods) or real(p, c))
    cfg.methods = both
    cfg.ewgan_steps = {"ewgan-share": 3}  # a setting of a method the record lacks: no matter
    merged = bench.recorded_dataset(data / "toy.dat", cfg)
    assert ran == [("smote",)]
    assert list(merged["scores"]) == list(both) and merged["scores"] == full["scores"]
    kept = json.loads((tmp_path / "out" / "sets" / "toy.json").read_text())
    assert kept["protocol"]["methods"] == list(both)
    assert bench.recorded_dataset(data / "toy.dat", cfg) == json.loads(json.dumps(merged))
    assert ran == [("smote",)]  # the completed record is read back as it is


def test_a_method_whose_own_steps_changed_is_rerun_alone(tmp_path, monkeypatch):
    """Changing one EWGAN variant's generator steps reruns that variant only; the other
    methods' figures are read back from the record. Changing what every method shares (the
    seeds) reruns them all, and dropping a method keeps the rest without running anything."""
    data = tmp_path / "keel"
    data.mkdir()
    _write_keel(data / "toy.dat")
    methods = ("none", "ewgan-share-safe-mmd")
    cfg = BenchConfig(data_dir=data, out=tmp_path / "out", folds=2, seeds=(0,), methods=methods,
                      ewgan_steps={"ewgan-share-safe-mmd": 2}, command="test")  # fmt: skip
    first = bench.recorded_dataset(data / "toy.dat", cfg)
    ran = []
    real = bench.run_dataset
    monkeypatch.setattr(bench, "run_dataset", lambda p, c: ran.append(c.methods) or real(p, c))
    cfg.ewgan_steps = {"ewgan-share-safe-mmd": 3}
    second = bench.recorded_dataset(data / "toy.dat", cfg)
    assert ran == [("ewgan-share-safe-mmd",)]
    assert second["scores"]["none"] == json.loads(json.dumps(first["scores"]["none"]))
    kept = json.loads((tmp_path / "out" / "sets" / "toy.json").read_text())
    assert kept["protocol"]["ewgan_steps"] == {"ewgan-share-safe-mmd": 3}
    cfg.methods = ("none",)  # a method dropped: the rest is read back, nothing runs
    assert list(bench.recorded_dataset(data / "toy.dat", cfg)["scores"]) == ["none"]
    assert ran == [("ewgan-share-safe-mmd",)]
    cfg.seeds = (0, 1)  # shared by every method: all rerun
    bench.recorded_dataset(data / "toy.dat", cfg)
    assert ran[-1] == ("none",)
