"""The AFRNet benchmark script on the tests' synthetic zero-shot task (no CNN): the sweep's
records and choices, the ablation that inherits AFRNet's choice, the main fits read back, and
the report's rows."""

from __future__ import annotations

import json

from tests.benchmarks.scripts import load
from tests.zsl.test_methods import FAST, _task


def test_sweep_choose_fit_and_report(tmp_path, monkeypatch):
    bench = load("afrnet_cifar10_zsl")
    monkeypatch.setattr(bench, "OUT", tmp_path)
    monkeypatch.setattr(bench, "task", lambda split, validation=False: (
        _task().validation(2, seed=0) if validation else _task()))  # fmt: skip
    real_build, built = bench.build, []

    def small(method, **kw):
        built.append(method)
        return real_build(method, **(kw if method == "eszsl" else {**FAST, **kw}))

    monkeypatch.setattr(bench, "build", small)
    monkeypatch.setattr(bench, "SWEEP", {
        "eszsl": ("reg", (0.1, 10.0)), "afrnet": ("beta", (0.1, 1.0)),
        "afrnet-no-residual": None, "afrnet-no-selection": "afrnet"})  # fmt: skip
    trials = [bench.fit("s", m, 1, {key: v}, True)
              for m, (key, vals) in [("eszsl", ("reg", (0.1, 10.0))),
                                     ("afrnet", ("beta", (0.1, 1.0)))]
              for v in vals]  # fmt: skip
    assert len(list((tmp_path / "sweep-runs").iterdir())) == 4
    chosen = bench.choose(trials)
    best = max((t for t in trials if t["method"] == "afrnet"),
               key=lambda t: (t["zsl_top1"], t["gzsl_h"]))  # fmt: skip
    assert chosen[("s", "afrnet")] == best["args"] == chosen[("s", "afrnet-no-selection")]
    assert chosen[("s", "afrnet-no-residual")] == {}
    rows = [bench.fit("s", m, seed, chosen[("s", m)]) for m in bench.SWEEP for seed in (1, 2)]
    n = len(built)
    again = [bench.fit("s", m, seed, chosen[("s", m)]) for m in bench.SWEEP for seed in (1, 2)]
    assert len(built) == n and again == rows  # read back from the records
    (tmp_path / "cnn-s.json").write_text(json.dumps({"split": "s", "seen_test_acc": 90.0}))
    bench.report(rows, chosen, trials, ["s"])
    res = json.loads((tmp_path / "results.json").read_text())
    assert len(res["rows"]) == 4 * 4 and res["cnn"][0]["seen_test_acc"] == 90.0
    r = next(r for r in res["rows"] if r["method"] == "afrnet" and r["metric"] == "gzsl_h")
    assert r["split"] == "s" and r["seeds"] == [1, 2] and len(r["values"]) == 2
    table = (tmp_path / "table.md").read_text()
    assert "AFRNet − eszsl, zsl_top1" in table and "| afrnet-no-residual |" in table


def test_the_task_reads_the_cnn_from_the_folder_its_training_writes(tmp_path, monkeypatch):
    bench = load("afrnet_cifar10_zsl")
    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path))
    # the committed CNN is read where there is one (benchmarks/teachers/), else the trained run
    assert bench.cnn_run("cat-truck") == bench.committed("cat-truck")
    assert (bench.committed("cat-truck") / "recipe.json").is_file()
    monkeypatch.setattr(bench, "committed", lambda split: tmp_path / "nothing" / split)
    recipe = bench.cnn_recipe("cat-truck")
    assert recipe.data.args["exclude"] == ["cat", "truck"] and recipe.seed == 0
    # run_one trains a recipe into <runs_dir>/<name>-s<seed>; train_cnn's runs_dir is cache/cnn
    want = tmp_path / "afrnet-cifar10-zsl" / "cnn" / "resnet8_seen-cat-truck-s0"
    assert bench.cnn_run("cat-truck") == want
