"""The synthetic re-ID benchmark script on a tiny set: rendered once, each method trained and
evaluated through the core, recorded and read back, and the table."""

from __future__ import annotations

import json

import yaml

from tests.benchmarks.scripts import load


def test_render_train_evaluate_record_report(tmp_path, monkeypatch):
    b = load("reid_synthetic")
    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(b, "OUT", tmp_path / "out")
    monkeypatch.setattr(b, "SET", {"n_ids": 12, "n_cams": 3, "per_cam": 2, "seed": 0,
                                   "train_ids": 6})  # fmt: skip
    tree = yaml.safe_load((b.ROOT / "recipes/reid/triplet_resnet20.yaml").read_text())
    tree["train"].update(epochs=1, batch_size=8, images_per_identity=2)
    tree["student"] = {"model": "resnet8"}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(tree))
    monkeypatch.setattr(b, "METHODS", {"baseline": str(tmp_path / "tiny.yaml")})
    r = b.one("baseline", 1)
    assert r["queries"] == 6 * 3 and 0 <= r["rank1"] <= 100
    assert json.loads((tmp_path / "out" / "runs" / "tiny-s1.json").read_text()) == r
    assert json.loads((tmp_path / "cache" / "reid-synthetic" / "data" / "set.json").read_text())
    assert b.one("baseline", 1) == r  # read back, not trained again
