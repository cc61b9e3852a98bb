"""The BiAT benchmark script: each run's recipe, overrides and record, for the peers, the
ablation rows and the validation sweep (no training: train_once is replaced)."""

from __future__ import annotations

from tests.benchmarks.scripts import load


def _calls(monkeypatch):
    biat_ssda = load("biat_ssda")
    seen = []
    monkeypatch.setattr(
        biat_ssda, "train_once", lambda *a: seen.append(a) or {"test_acc": 1.0, "val_acc": 2.0}
    )
    return biat_ssda, seen


def test_a_peer_run_reads_its_recipe_with_the_task_and_is_recorded_by_name(monkeypatch):
    biat_ssda, seen = _calls(monkeypatch)
    biat_ssda.run("office_caltech", "mme", "amazon", "dslr", 3, 2)
    recipe, over, where, record = seen[0]
    assert recipe.name == "mme.yaml" and recipe.parent.name == "office_caltech"
    assert over == [
        "data.args.source=amazon",
        "data.args.target=dslr",
        "data.target_shots=3",
        "data.target_val_shots=1",  # dslr's smallest class has 4 training images
        "seed=2",
    ]
    assert record.parent.name == "runs" and record.name == "amazon-dslr-3shot-mme-s2.json"
    assert where.name == "amazon-dslr-3shot-mme-s2"


def test_ablation_rows_remove_one_term_of_biat(monkeypatch):
    biat_ssda, seen = _calls(monkeypatch)
    for name, override in biat_ssda.ABLATIONS.items():
        biat_ssda.run("digits", name, "usps", "mnist", 1, 1)
        recipe, over, _, record = seen[-1]
        assert recipe.name == "biat.yaml" and over[-1] == override
        assert "data.args.source_limit=null" in over  # every USPS image
        assert record.name == f"usps-mnist-1shot-{name}-s1.json"


def test_sweep_trials_are_recorded_apart_with_their_values_in_the_name(monkeypatch):
    biat_ssda, seen = _calls(monkeypatch)
    trial = biat_ssda.SWEEP["biat"][0]
    biat_ssda.run("office_caltech", "biat", "amazon", "webcam", 3, 1, trial)
    _, over, _, record = seen[0]
    assert over[-3:] == trial.split(",") and over[-1] == "method.args.evat_weight=0.1"
    assert record.parent.name == "sweep-runs"
    assert record.name == (
        "amazon-webcam-3shot-biat-s1-at_weight0.1-aat_weight0.1-evat_weight0.1.json"
    )
    assert set(biat_ssda.SWEEP) == set(biat_ssda.METHODS) - {"st"}  # S+T has no weight
    assert all(len(v) == 3 for v in biat_ssda.SWEEP.values())  # the same budget for each
