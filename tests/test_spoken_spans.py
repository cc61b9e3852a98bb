"""Answer spans on ASR text and the article split (advkt.spoken_qa.spans): by hand, and on the
three Spoken-SQuAD test files (how many answers survive recognition at each WER)."""

from __future__ import annotations

import pytest

from advkt.spoken_qa.spans import asr_span, map_answers, split_by_article
from advkt.spoken_qa.squad import Question, read_squad


def _q(context: str, answer: str, start: int, title: str = "t", qid: str = "q") -> Question:
    return Question(qid, "what?", context, (answer,), (start,), title)


def test_an_answer_is_found_word_by_word_after_normalisation():
    ctx = "the Denver broncos, won! super bowl fifty in the end"
    start, text = asr_span(ctx, "Denver Broncos")
    assert (start, text) == (4, "Denver broncos,") and ctx[start:].startswith("Denver")
    assert asr_span(ctx, "the Super Bowl 50") is None  # "50" was recognised as "fifty"
    assert asr_span(ctx, "Super Bowl fifty") == (25, "super bowl fifty")
    assert asr_span("a b a b", "an the") is None  # only articles: normalises to nothing
    assert asr_span("x y x y", "x y") == (0, "x y")  # the first occurrence


def test_map_answers_keeps_valid_offsets_remaps_moved_ones_and_names_the_lost():
    kept = _q("denver broncos won", "denver broncos", 0, qid="kept")
    moved = _q("they said denver broncos won", "Denver Broncos", 0, qid="moved")
    lost = _q("then for bronze cos one", "Denver Broncos", 0, qid="lost")
    out, gone = map_answers([kept, moved, lost])
    assert gone == ["lost"]
    assert out[0].starts == (0,) and out[0].answers == ("denver broncos",)
    assert out[1].starts == (10,) and out[1].answers == ("denver broncos",)
    assert out[2].starts == () and out[2].answers == ("Denver Broncos",)  # reference kept


def test_split_by_article_keeps_articles_whole_and_is_seeded():
    qs = [_q("c", "c", 0, title=f"a{i % 6}", qid=str(i)) for i in range(30)]
    tr, te = split_by_article(qs, 4, seed=1)
    assert len({q.title for q in tr}) == 4 and len({q.title for q in te}) == 2
    assert not {q.title for q in tr} & {q.title for q in te} and len(tr) + len(te) == 30
    assert [q.id for q in split_by_article(qs, 4, seed=1)[0]] == [q.id for q in tr]
    with pytest.raises(ValueError, match="cannot train"):
        split_by_article(qs, 6)


@pytest.mark.parametrize("name, lost", [("spoken_test-v1.1.json", 0),
                                        ("spoken_test-v1.1_WER44.json", 1684),
                                        ("spoken_test-v1.1_WER54.json", 2601)])  # fmt: skip
def test_spoken_squad_answers_that_survive_recognition(shared_data, name, lost):
    qs = read_squad(shared_data / "spoken-squad" / name)
    out, gone = map_answers(qs)
    assert len(qs) == 5351 and len(gone) == lost
    for q in out:
        for a, s in zip(q.answers, q.starts):
            assert q.context[s : s + len(a)] == a
