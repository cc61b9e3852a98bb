"""The Spoken-SQuAD benchmark script on tiny SQuAD-format files: the teacher trained once on the
manual contexts of the training articles, every student at every WER level trained on the ASR
contexts, scored on the test articles, recorded and read back; the caches timed; the table."""

from __future__ import annotations

import json
import random

import torch

from tests.benchmarks.scripts import SerialPool, load

THINGS = ["car", "house", "door", "boat", "kite", "hat", "cup", "bike"]
COLOURS = ["red", "blue", "green", "yellow", "black", "white", "purple", "orange"]


def _files(root, articles=4, per=6):
    rng = random.Random(0)
    manual, asr = {"version": "1.1", "data": []}, {"version": "1.1", "data": []}
    for a in range(articles):
        paras, noisy = [], []
        for p in range(per):
            x, y = rng.sample(THINGS, 2)
            cx, cy = rng.sample(COLOURS, 2)
            ctx = f"The {x} is {cx} and the {y} is {cy}."
            qid = f"a{a}p{p}"
            q = {"id": qid, "question": f"What colour is the {x}?",
                 "answers": [{"text": cx, "answer_start": ctx.index(f"is {cx}") + 3}]}  # fmt: skip
            paras.append({"context": ctx, "qas": [q]})
            heard = ctx.replace("The", "uh", 1) if p % 3 else ctx.replace(cx, "read")  # lost
            noisy.append({"context": heard, "qas": [q]})
        manual["data"].append({"title": f"art{a}", "paragraphs": paras})
        asr["data"].append({"title": f"art{a}", "paragraphs": noisy})
    (root / "squad").mkdir(parents=True)
    (root / "spoken-squad").mkdir()
    (root / "squad" / "dev-v1.1.json").write_text(json.dumps(manual))
    for name in ("spoken_test-v1.1.json", "spoken_test-v1.1_WER44.json",
                 "spoken_test-v1.1_WER54.json"):  # fmt: skip
        (root / "spoken-squad" / name).write_text(json.dumps(asr))


def _fake_speech(texts, n_mels=40, progress=False):
    frames = [torch.full((10 + len(t), n_mels), float(len(t))) for t in texts]
    index = torch.zeros(len(texts) + 1, dtype=torch.long)
    index[1:] = torch.tensor([len(f) for f in frames]).cumsum(0)
    return torch.cat(frames).half(), index


def test_teacher_students_records_and_table(tmp_path, monkeypatch):
    b = load("mrdnet_spoken_squad")
    data = tmp_path / "data"
    _files(data)
    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(b, "OUT", tmp_path / "out")
    monkeypatch.setattr(b, "SPLIT", {"train_articles": 3, "seed": 0})
    monkeypatch.setattr(b, "TRAIN", {"epochs": 2, "batch_size": 8, "lr": 3e-3})
    monkeypatch.setattr(b, "ProcessPoolExecutor", SerialPool)
    monkeypatch.setattr("advkt.spoken_qa.speech.cached_speech", _fake_speech)
    assert b.main(["--data", str(data), "--seeds", "1", "--workers", "1"]) == 0
    out = tmp_path / "out"
    t = json.loads((out / "runs" / "teacher.json").read_text())
    assert t["train_questions"] == 18 and t["test_questions"] == 6
    rec = json.loads((out / "runs" / "wer44-mrdnet-s1.json").read_text())
    # a third of the ASR contexts lost their answer: scored, but without a training target
    assert rec["lost_answers"] == 8 and rec["trained_on"] == 12 and rec["test_questions"] == 6
    doc = json.loads((out / "results.json").read_text())
    got = {(r["method"], r.get("wer"), r["metric"]) for r in doc["rows"]}
    for wer in (22.7, 44.0, 54.0):
        for m in b.METHODS:
            assert (m, wer, "em") in got and (m, wer, "f1") in got
    caches = json.loads((out / "caches.json").read_text())
    assert caches["encoder"]["bytes"] > 0 and caches["encoder"]["seconds"] > 0
    assert "| 54 | mrdnet-noaudio |" in (out / "table.md").read_text()
    calls = []
    monkeypatch.setattr(b, "teacher", lambda data: calls.append(1))
    assert b.one(data, "44", "mrdnet", 1) == rec  # read back: nothing trains
    assert calls == []
