"""The synthetic re-ID benchmark script on a tiny set: rendered once, each method trained and
evaluated through the core, recorded and read back, and the table; HorNet's captioner fitted once
on the training identities and read by the HorNet row only."""

from __future__ import annotations

import json

import yaml

from tests.benchmarks.scripts import load

TINY = {"n_ids": 12, "n_cams": 3, "per_cam": 2, "seed": 0, "train_ids": 6}


def _tiny(b, tmp_path, recipe: str, student: dict) -> str:
    tree = yaml.safe_load((b.ROOT / "recipes/reid" / recipe).read_text())
    tree["base"] = str(b.ROOT / "recipes/reid" / tree["base"]) if "base" in tree else None
    tree = {k: v for k, v in tree.items() if v is not None}
    tree.setdefault("train", {}).update(epochs=1, batch_size=8, images_per_identity=2)
    tree["student"] = student
    path = tmp_path / recipe
    path.write_text(yaml.safe_dump(tree))
    return str(path)


def test_render_train_evaluate_record_report(tmp_path, monkeypatch):
    b = load("reid_synthetic")
    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(b, "OUT", tmp_path / "out")
    monkeypatch.setattr(b, "SET", TINY)
    tiny = _tiny(b, tmp_path, "triplet_resnet20.yaml", {"model": "resnet8"})
    monkeypatch.setattr(b, "METHODS", {"baseline": (tiny, (), "tiny")})
    r = b.one("baseline", 1)
    assert r["queries"] == 6 * 3 and 0 <= r["rank1"] <= 100
    assert json.loads((tmp_path / "out" / "runs" / "tiny-s1.json").read_text()) == r
    assert json.loads((tmp_path / "cache" / "reid-synthetic" / "data" / "set.json").read_text())
    assert b.one("baseline", 1) == r  # read back, not trained again


def test_hornet_rows_with_and_without_the_captioner(tmp_path, monkeypatch):
    from advkt.engine.evaluation import load_student
    from advkt.reid.captioner import load_captioner

    b = load("reid_synthetic")
    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(b, "OUT", tmp_path / "out")
    monkeypatch.setattr(b, "SET", TINY)
    monkeypatch.setattr(b, "CAPTIONER", {"epochs": 2, "batch": 16, "lr": 2e-3, "seed": 0})
    hornet = {"model": "hornet", "args": {"backbone": {"name": "resnet8"}, "length": 8}}
    tiny = _tiny(b, tmp_path, "hornet_resnet20.yaml", hornet)
    cap = ("student.args.captioner={captioner}",)
    monkeypatch.setattr(b, "METHODS", {"hornet": (tiny, cap, "hn"), "plain": (tiny, (), "hp")})
    with_cap, without = b.one("hornet", 1), b.one("plain", 1)
    assert with_cap["queries"] == without["queries"] == 6 * 3
    folder = b.captioner_folder()
    _, vocab = load_captioner(folder)
    texts = json.loads(next((tmp_path / "cache").rglob("captions.json")).read_text())
    # the vocabulary is that of the training identities' captions alone
    train_words = {w for pid, t in texts.items() if int(pid) <= 6 for w in t.lower().split()}
    assert {w.strip(",") for w in vocab.words[4:]} - {""} <= {w.strip(",") for w in train_words}
    runs = tmp_path / "cache" / "reid-synthetic" / "runs"
    a, p = load_student(runs / "hn-s1"), load_student(runs / "hp-s1")
    assert a.captioner is not None and p.captioner is None  # rebuilt from spec.json alone
    assert a.spec["captioner"] == str(folder)
    q = b.caption_quality()  # the captioner on the identities it was and was not fitted on
    assert q["train"]["images"] == q["test"]["images"] == 6 * 3 * 2
    for c in q.values():  # a caption that is exact has every word in place
        assert 0 <= c["exact"] <= c["words"] <= 1


def test_the_table_pairs_every_method_with_the_baseline_seed_by_seed(tmp_path, monkeypatch):
    """Every row after the first carries its paired difference against the first (the
    baseline) on the shared seeds; the jobs go seed by seed, so that an interrupted run leaves
    whole seeds."""
    from tests.benchmarks.scripts import SerialPool

    b = load("reid_synthetic")
    monkeypatch.setattr(b, "OUT", tmp_path / "out")
    monkeypatch.setattr(b, "METHODS", {"base": ("r", (), "b"), "other": ("r", (), "o")})
    monkeypatch.setattr(b, "data_root", lambda: tmp_path)
    monkeypatch.setattr(b, "ProcessPoolExecutor", SerialPool)
    figures = {("base", 1): (50.0, 40.0), ("base", 2): (60.0, 45.0),
               ("other", 1): (55.0, 39.0), ("other", 2): (58.0, 47.0)}  # fmt: skip
    order = []

    def one(label, seed):
        order.append((label, seed))
        r1, m = figures[label, seed]
        return {"method": label, "seed": seed, "rank1": r1, "mAP": m}

    monkeypatch.setattr(b, "one", one)
    monkeypatch.setattr("sys.argv", ["reid_synthetic.py", "--seeds", "2", "--workers", "1"])
    b.main()
    assert order == [("base", 1), ("other", 1), ("base", 2), ("other", 2)]
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    other = {r["metric"]: r for r in doc["rows"] if r["method"] == "other"}
    assert other["rank1"]["paired"]["baseline"]["mean"] == 1.5  # (+5 - 2) / 2
    assert other["rank1"]["paired"]["baseline"]["ahead"] == 1
    assert other["mAP"]["paired"]["baseline"]["mean"] == 0.5  # (-1 + 2) / 2
    assert all("paired" not in r for r in doc["rows"] if r["method"] == "base")
    assert "| other | 56.5 ± 2.1 | 43.0 ± 5.7 | +1.50 ± 4.95 (1/2) | +0.50 ± 2.12 (1/2) | 2 |" in (
        (tmp_path / "out" / "table.md").read_text()
    )
