"""Spoken QA's text side (advkt.spoken_qa.encoder, .model, .reader): the packaged encoder's token
features and offsets, the cache, answer spans as tokens, the span decoder by hand, and a span
reader that learns to answer short questions about colours."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
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


def _noisy(qs: list[Question], seed: int) -> list[Question]:
    """The same questions over 'recognised' contexts: a word of each context replaced (never the
    answer), so that the answer is still a span and its offset moves."""
    rng = random.Random(seed)
    out = []
    for q in qs:
        words = q.context.split(" ")
        k = rng.choice([0, 2])  # "The" or "is": never the answer
        words[k] = "uh"
        ctx = " ".join(words)
        out.append(replace(q, context=ctx, starts=(ctx.index(f" {q.answers[0]}") + 1,)))
    return out


def test_logit_kd_and_mrdnet_train_students_and_answer(tmp_path, monkeypatch):
    from advkt.spoken_qa.mrdnet import AudioAssistant, Speech, fit_student, predict_student
    from advkt.spoken_qa.squad import evaluate

    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path))
    manual = _colours(96, 0)
    teacher, _ = fit_reader(build_set(manual), epochs=20, batch_size=16, lr=3e-3)
    asr = build_set(_noisy(manual, 1))
    test = build_set(_noisy(_colours(32, 2), 3))
    g = torch.Generator().manual_seed(0)
    speech = {}
    for name, s in (("train", asr), ("test", test)):  # a paragraph's "speech": 50 frames
        speech[name] = Speech(torch.randn(50 * len(s), 40, generator=g).half(),
                              torch.arange(len(s) + 1) * 50, torch.arange(len(s)))  # fmt: skip
    with pytest.raises(ValueError, match="needs the paragraphs' speech"):
        fit_student(asr, teacher, "mrdnet", None)
    with pytest.raises(ValueError, match="'kd', 'mrdnet' or 'swkd'"):
        fit_student(asr, teacher, "fitnet")
    with pytest.raises(ValueError, match="manual contexts"):
        fit_student(asr, teacher, "swkd")
    scores = {}
    written = build_set(manual)  # the same questions over their manual contexts
    for method, audio in (("kd", True), ("mrdnet", True), ("mrdnet", False), ("swkd", True)):
        parts, losses = fit_student(asr, teacher, method, speech["train"], epochs=15,
                                    batch_size=16, lr=3e-3, audio=audio,
                                    manual=written)  # fmt: skip
        assert losses[-1] < losses[0] / 2
        assert ("assistant" in parts) == (method == "mrdnet")
        scores[method, audio] = evaluate(test.questions,
                                         predict_student(parts, test, speech["test"]))  # fmt: skip
    # far above an untrained reader (a few %): every student answers; the fake speech here is
    # noise, which Audio-A cannot use (it costs MRD-Net some of KD's accuracy on this toy task)
    untrained = score(SpanReader(), test)["exact_match"]
    assert all(v["exact_match"] >= max(50, untrained + 40) for v in scores.values()), scores
    assert scores["kd", True]["exact_match"] >= 90
    a = AudioAssistant(hidden=96, n_mels=40)
    h, mask = torch.randn(2, 5, 96), torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]).bool()
    r0, r1 = a(h, mask, torch.randn(2, 7, 160), torch.ones(2, 7, dtype=torch.bool),
               torch.zeros(2, 5, dtype=torch.long))  # fmt: skip
    assert bool((r0[0, 3:] == 0).all()) and bool((r1[0, 3:] == 0).all())  # nothing at padding


def test_asr_tokens_are_aligned_to_the_manual_ones_where_the_words_match(tmp_path, monkeypatch):
    from advkt.spoken_qa.mrdnet import align_tokens

    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path))
    m = Question("q", "What colour is the car?", "The car is red and the hat is blue.", ("red",),
                 (11,), "t")  # fmt: skip
    a = Question("q", m.question, "uh car is red and hat is blue.", ("red",), (11,), "t")
    (align,) = align_tokens(build_set([a]), build_set([m]))
    # asr: uh car is red and hat is blue .  -> manual: The car is red and the hat is blue .
    assert align.tolist() == [-1, 1, 2, 3, 4, 6, 7, 8, 9]
    with pytest.raises(ValueError, match="same questions"):
        align_tokens(build_set([a]), build_set([replace(m, id="other")]))
