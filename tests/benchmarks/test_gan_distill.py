"""The GAN-distillation benchmark script end to end on tiny random domains (no real digits): the
teacher and the sweep recorded, the choices, the best peer's extra seeds, everything read back on
a rerun, and the report's rows."""

from __future__ import annotations

import json

import pytest
import torch

from advkt.translation.tasks import grey, train_judge
from tests.benchmarks.scripts import load


def _tiny(task: str) -> dict:
    g = torch.Generator().manual_seed(0)
    y = torch.arange(30) % 10
    if task == "usps-mnist":
        a = torch.rand(30, 1, 28, 28, generator=g) * 2 - 1
        b = (torch.rand(30, 1, 28, 28, generator=g) * 2 - 1).clamp(-1, 0.3)
        judge = train_judge(b, y, epochs=1, use_cache=False)
        return {"a": a[:16], "b": b, "a_val": a[16:24], "y_val": y[16:24], "c_val": None,
                "a_test": a[24:], "y_test": y[24:], "b_test": b, "judge": judge}  # fmt: skip
    c = torch.rand(30, 3, 32, 32, generator=g) * 2 - 1  # colour images; the inputs their luma
    lenet = {"name": "lenet5", "num_classes": 10, "in_channels": 3, "in_size": 32}
    judge = train_judge(c, y, model=lenet, epochs=1, use_cache=False)
    return {"a": grey(c[:16]), "b": c[:16], "a_val": grey(c[16:24]), "y_val": y[16:24],
            "c_val": c[16:24], "a_test": grey(c[24:]), "y_test": y[24:], "b_test": c[24:],
            "judge": judge}  # fmt: skip


@pytest.mark.parametrize("task", ["usps-mnist", "cifar10-color"])
def test_the_benchmark_end_to_end_and_read_back(tmp_path, monkeypatch, task):
    bench = load("gan_distill")
    monkeypatch.setattr(bench, "OUT", bench.OUT)  # restored after the test: --out sets it
    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(bench, "_DATA", _tiny(task))
    monkeypatch.setattr(bench, "TASK", bench.TASK)
    monkeypatch.setattr(bench, "SWEEP", {"scratch": None, "pixel": None,
                                         "feature": ("w_feat", (0.1, 1.0)),
                                         "ours": ("w_gram", (1e3, 1e4))})  # fmt: skip

    def cost(g, ref=None):  # the real one times every generator: slow, and tested elsewhere
        return {"params": sum(p.numel() for p in g.parameters()), "macs": 1,
                "latency_b64_over_teacher": 0.5}  # fmt: skip

    monkeypatch.setattr(bench, "cost", cost)
    real_schedule = bench.schedule
    monkeypatch.setattr(bench, "schedule", lambda epochs: real_schedule(epochs).__class__(
        epochs=epochs, batch=8))  # fmt: skip
    argv = ["x", "--teacher-width", "4", "--epochs", "1", "--workers", "1",
            "--out", str(tmp_path / "out"), "--task", task]  # fmt: skip
    monkeypatch.setattr("sys.argv", argv)
    bench.main()
    out = tmp_path / "out"
    assert len(list((out / "sweep-runs").iterdir())) == 4
    sweep = json.loads((out / "sweep.json").read_text())
    for method, key in (("feature", "w_feat"), ("ours", "w_gram")):
        best = max((t for t in sweep["trials"] if t["method"] == method),
                   key=lambda t: t["val_acc"])  # fmt: skip
        assert sweep["chosen"][method] == best["args"] and key in best["args"]
    res = json.loads((out / "results.json").read_text())
    best_peer = res["best_peer"]
    assert best_peer in ("scratch", "pixel", "feature")
    acc = {(r["method"], r["width"]): r for r in res["rows"] if r["metric"] == "acc"}
    assert acc[("ours", 1)]["seeds"] == [1, 2, 3] and acc[(best_peer, 1)]["seeds"] == [1, 2, 3]
    assert acc[("ours", 2)]["seeds"] == [1, 2, 3]
    others = {"scratch", "pixel", "feature"} - {best_peer}
    assert all(acc[(m, w)]["seeds"] == [1] for m in others for w in (1, 2))
    assert all(0 <= v <= 100 for r in acc.values() for v in r["values"])
    metrics = {r["metric"] for r in res["rows"]}
    want = {"frechet"} if task == "usps-mnist" else {"psnr", "ssim"}
    assert want <= metrics and res["benchmark"] == bench.TASKS[task][0]
    assert set(want) | {"acc"} <= set(res["teacher"]["untranslated"])  # the no-translation row
    assert (out / "samples.png").stat().st_size > 0
    assert f"ours − {best_peer}" in (out / "table.md").read_text()
    records = sorted(p.name for p in (out / "runs").iterdir())
    before = {p: (out / "runs" / p).read_text() for p in records}
    bench.main()  # everything recorded: read back, nothing retrained
    assert {p: (out / "runs" / p).read_text() for p in records} == before


def test_cost_counts_a_generators_parameters_and_macs_and_times_it_against_the_teacher():
    from advkt.translation.networks import ResnetGenerator

    bench = load("gan_distill")
    small, big = ResnetGenerator(1, 1, 1, blocks=1), ResnetGenerator(1, 1, 4, blocks=1)
    c = bench.cost(small, big)
    assert c["params"] == sum(p.numel() for p in small.parameters())
    # the first 7x7 convolution alone: 1 -> 1 channel over 28 x 28 outputs
    assert c["macs"] >= 49 * 28 * 28
    assert bench.cost(big)["macs"] > 4 * c["macs"]  # 4x the width: far more than 4x the MACs
    assert c["latency_b1_ms"] > 0 and c["latency_b64_over_teacher"] > 0
