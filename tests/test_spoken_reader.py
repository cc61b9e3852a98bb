"""Spoken QA's text side (advkt.spoken_qa.encoder, .model, .reader): the packaged encoder's token
features and offsets, the cache, answer spans as tokens, the span decoder by hand, and a span
reader that learns to answer short questions about colours."""

from __future__ import annotations

import random

import torch

from advkt.spoken_qa.encoder import MAX_POSITIONS, cached_encoding, encode_texts, token_span
from advkt.spoken_qa.model import SpanReader, best_spans
from advkt.spoken_qa.reader import batch, build_set, fit_reader, score
from advkt.spoken_qa.squad import Question


def test_token_features_offsets_and_spans():
    texts = ["The Denver Broncos won Super Bowl 50.", "Who won?"]
    e = encode_texts(texts)
    assert len(e) == 2 and e.truncated == 0 and e.feats.dtype == torch.float16
    feats, offsets = e.tokens(0)
    assert feats.shape == (len(offsets), 384) and int(e.index[-1]) == len(e.feats)
    words = [texts[0][a:b] for a, b in offsets.tolist()]
    assert words[:3] == ["The", "Denver", "Broncos"]  # no [CLS] / [SEP]
    first, last = token_span(offsets, 4, 18)  # "Denver Broncos"
    assert texts[0][int(offsets[first, 0]) : int(offsets[last, 1])] == "Denver Broncos"
    assert token_span(offsets, 500, 510) is None  # past the text


def test_a_long_text_is_cut_at_the_encoder_positions_and_counted():
    long = " ".join(["word"] * (MAX_POSITIONS + 40))
    e = encode_texts([long, "short text"])
    assert e.truncated == 1 and len(e.tokens(0)[1]) == MAX_POSITIONS - 2


def test_the_encoding_is_cached_by_its_texts(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path))
    a = cached_encoding(["one text", "two texts"])
    assert len(list(tmp_path.glob("spoken-qa-tokens-*.safetensors"))) == 1
    import advkt.spoken_qa.encoder as enc

    monkeypatch.setattr(enc, "encode_texts", lambda *a, **k: (_ for _ in ()).throw(AssertionError))
    b = cached_encoding(["one text", "two texts"])  # read back, not encoded again
    assert torch.equal(a.feats, b.feats) and torch.equal(a.index, b.index)


def test_best_spans_by_hand():
    start = torch.tensor([[0.0, 5.0, 1.0, 0.0], [3.0, 0.0, 0.0, 0.0]])
    end = torch.tensor([[4.0, 0.0, 1.0, 2.0], [0.0, 0.0, 0.0, 9.0]])
    # row 0: the end may not precede the start (5 + 4 at (1, 0) is refused): (1, 3) = 7
    # row 1: (0, 3) = 12; limited to 2 tokens, (0, 3) is too long and (2, 3) = 9 beats (0, 0) = 3
    assert best_spans(start, end).tolist() == [[1, 3], [0, 3]]
    assert best_spans(start, end, max_len=2).tolist() == [[1, 2], [2, 3]]


def _colours(n: int, seed: int) -> list[Question]:
    rng = random.Random(seed)
    things = ["car", "house", "door", "boat", "kite", "hat", "cup", "bike"]
    colours = ["red", "blue", "green", "yellow", "black", "white", "purple", "orange"]
    out = []
    for k in range(n):
        a, b = rng.sample(things, 2)
        ca, cb = rng.sample(colours, 2)
        ctx = f"The {a} is {ca} and the {b} is {cb}."
        ask, ans = (a, ca) if rng.random() < 0.5 else (b, cb)
        out.append(Question(f"q{seed}-{k}", f"What colour is the {ask}?", ctx, (ans,),
                            (ctx.index(f"{ask} is {ans}") + len(ask) + 4,), "t"))  # fmt: skip
    return out


def test_a_span_reader_learns_to_answer_questions_it_has_not_seen(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path))
    train, test = build_set(_colours(160, 0)), build_set(_colours(40, 1))
    assert bool(train.answerable.all())
    b = batch(train, torch.arange(4))
    assert b["c"].shape[:2] == b["c_mask"].shape and b["target"].shape == (4, 2)
    before = score(SpanReader(), test)["f1"]
    model, losses = fit_reader(train, epochs=30, batch_size=16, lr=3e-3)
    assert losses[-1] < losses[0] / 3
    after = score(model, test)
    assert after["exact_match"] >= 80 and after["f1"] > before + 30
