"""The robust-compression benchmark script on a tiny MNIST suite (256 training images, one or
two epochs, PGD-2): a teacher trained from its recipe and recorded, every (method, rate) run
recorded and read back, an interrupted run continued from its checkpoint, and the report."""

from __future__ import annotations

import argparse
import json

import pytest
import yaml

from tests.benchmarks.scripts import load

ATTACK = {"attack": "pgd", "eps": 0.3, "step": 0.15, "steps": 1, "random_start": True}


def _recipes(tmp_path, epochs: int) -> dict[str, str]:
    common = {
        "data": {"dataset": "mnist", "train_subset": 256, "test_subset": 64},
        "train": {
            "epochs": epochs,
            "batch_size": 64,
            "adversarial": ATTACK,
            "optimizer": {"name": "adam", "lr": 1e-3, "weight_decay": 0.0},
            "schedule": {"name": "constant"},
        },
        "student": {"model": "lenet5"},
    }
    (tmp_path / "teacher.yaml").write_text(
        yaml.safe_dump({**common, "method": {"name": "robust", "args": {"alpha": 0, "lam": 0}}})
    )
    teacher = {"model": "lenet5", "recipe": str(tmp_path / "teacher.yaml")}
    prune = {"prune_epoch": epochs - 1, "rate": 5, "init": "teacher"}
    methods = {
        "adv+magnitude": ("robust", {"alpha": 0.0, "lam": 0.0, **prune}),
        "admm": ("admm", {"rho": 0.01, "update_every": 2, "alpha": 0.0, **prune}),
        "ours (robust l1)": ("robust", {"alpha": 0.9, "T": 4.0, "lam": 0.5, "kind": "l1", **prune}),
    }
    peers = {}
    for i, (label, (name, args)) in enumerate(methods.items()):
        path = tmp_path / f"peer{i}.yaml"
        tree = {**common, "method": {"name": name, "args": args}, "teacher": teacher}
        path.write_text(yaml.safe_dump(tree))
        peers[label] = path.name
    return peers


@pytest.fixture
def bench(tmp_path, monkeypatch, shared_data):
    rc = load("robust_compression")
    monkeypatch.setenv("ADVKT_DATA", str(shared_data))
    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(rc, "RESULTS", tmp_path / "results")  # records go here, not the repo
    return rc


def _args(rc, suite, tmp_path) -> argparse.Namespace:
    out = tmp_path / "results" / suite.name
    out.mkdir(parents=True, exist_ok=True)
    return argparse.Namespace(suite=suite, seeds=1, rates=[1, 5], workers=1, set=[], out=out)


def test_every_run_is_recorded_an_interrupted_one_continues_and_the_report_reads_them(
    bench, tmp_path, monkeypatch
):
    import advkt.engine.trainer as trainer

    suite = bench.Suite(name="robust-tiny", dataset="mnist", model="LeNet-5", recipes=tmp_path,
                        peers=_recipes(tmp_path, epochs=2),
                        attack={"attack": "pgd", "eps": 0.3, "steps": 2, "step_size": 0.15},
                        rates=[1, 5])  # fmt: skip
    args = _args(bench, suite, tmp_path)
    assert bench.plan(suite, 1, [1, 5]) == [  # every method at every rate, the dense one too
        ("adv+magnitude", 1, 1), ("admm", 1, 1), ("ours (robust l1)", 1, 1),
        ("adv+magnitude", 5, 1), ("admm", 5, 1), ("ours (robust l1)", 5, 1),
    ]  # fmt: skip

    real_epoch = trainer.train_epoch
    calls = []

    def killed_in_the_third_runs_second_epoch(run, epoch):
        calls.append((run.run_dir.name, epoch))
        if len({name for name, _ in calls}) == 5 and epoch == 1:  # teacher, 3 runs, then this
            raise KeyboardInterrupt
        return real_epoch(run, epoch)

    monkeypatch.setattr(trainer, "train_epoch", killed_in_the_third_runs_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        bench.accuracy(args)
    records = sorted(p.name for p in suite.records.iterdir())
    assert records == ["peer0-r1-s1.json", "peer1-r1-s1.json", "peer2-r1-s1.json", "teacher.json"]
    killed = calls[-1][0]
    assert killed == "peer0-r5-s1"

    calls.clear()
    bench.accuracy(args)
    assert calls[0] == (killed, 1)  # continued from its first epoch's checkpoint
    assert {name for name, _ in calls} == {killed, "peer1-r5-s1", "peer2-r5-s1"}
    runs = {p.name: json.loads(p.read_text()) for p in suite.records.glob("*-s1.json")}
    assert len(runs) == 6
    teacher = json.loads((suite.records / "teacher.json").read_text())
    assert 0 <= teacher["robust_acc"] <= teacher["clean_acc"] <= 100 and teacher["epochs"] == 2
    for r in runs.values():
        assert r["compression_rate"] == pytest.approx(r["rate"], rel=0.02)
        assert 0 <= r["pgd2_acc"] <= r["clean_acc"] <= 100 and r["samples"] == 64

    calls.clear()
    bench.accuracy(args)  # everything recorded: nothing trains
    assert calls == []
    res = json.loads((args.out / "results.json").read_text())
    got = {(r["method"], r["metric"]) for r in res["rows"]}
    assert ("admm", "pgd2_acc@rate=5") in got and ("ours (robust l1)", "clean_acc@rate=1") in got
    assert "PGD-2 acc" in (args.out / "table.md").read_text() and (args.out / "plot.png").stat()
    assert "recipe_tree" not in (args.out / "runs.json").read_text()
    # ours − each peer, seed by seed, in results.json and in the table
    rows = {(r["method"], r["metric"]): r for r in res["rows"]}
    mine, admm = rows[("ours (robust l1)", "pgd2_acc@rate=5")], rows[("admm", "pgd2_acc@rate=5")]
    d = mine["paired"]["admm"]
    assert d["n"] == 1 and d["mean"] == pytest.approx(mine["values"][0] - admm["values"][0])
    assert "| 5 | PGD-2 | " in (args.out / "table.md").read_text().split("Paired")[1]

    # a weight changed in a recipe: its records no longer stand for its runs
    tree = yaml.safe_load((tmp_path / "peer2.yaml").read_text())
    tree["method"]["args"]["lam"] = 0.05
    (tmp_path / "peer2.yaml").write_text(yaml.safe_dump(tree))
    with pytest.raises(ValueError, match="made by another recipe .*lam"):
        bench.accuracy(args)


def test_the_sweep_scores_each_trial_on_the_validation_split_and_names_the_choice(
    bench, tmp_path, monkeypatch
):
    attack = {"attack": "pgd", "eps": 0.3, "steps": 2, "step_size": 0.15}
    suite = bench.Suite(name="robust-tiny", dataset="mnist", model="LeNet-5", recipes=tmp_path,
                        peers=_recipes(tmp_path, epochs=1), attack=attack)  # fmt: skip
    monkeypatch.setattr(bench, "SWEEP", {"admm": ("method.args.rho", (0.001, 0.1), 10)})
    args = _args(bench, suite, tmp_path)
    bench.sweep(args)
    doc = json.loads((args.out / "sweep.json").read_text())
    trials = doc["trials"]
    assert [t["value"] for t in trials] == [0.001, 0.1] and doc["metric"] == "val_pgd2_acc"
    # 10 % of MNIST's 60,000 training images, held out before the 256-image subset is drawn
    assert all(t["val_samples"] == 6000 for t in trials)
    best = max(trials, key=lambda t: (t["val_pgd2_acc"], t["val_clean_acc"]))
    assert doc["chosen"] == {"admm": {"key": "method.args.rho", "value": best["value"]}}
    assert "**chosen**" in (args.out / "sweep.md").read_text()
    assert len(list((tmp_path / "results" / "robust-tiny" / "sweep-runs").iterdir())) == 2
