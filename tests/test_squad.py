"""SQuAD reading, manual/ASR pairing and the official v1.1 metrics."""

from __future__ import annotations

import json

import pytest

from advkt.data.base import DataError
from advkt.spoken_qa.squad import (
    evaluate,
    exact_match,
    f1_score,
    normalize_answer,
    pair,
    read_squad,
)


def _write(path, context, qas):
    doc = {
        "version": "1.1",
        "data": [{"title": "T", "paragraphs": [{"context": context, "qas": qas}]}],
    }
    path.write_text(json.dumps(doc))
    return path


def test_the_official_normalisation_and_scores():
    assert normalize_answer("The  Denver Broncos!") == "denver broncos"
    assert normalize_answer("an apple, a pear") == "apple pear"
    assert exact_match("the Denver Broncos", "Denver Broncos") == 1.0
    # tokens: "denver broncos team" vs "denver broncos": P 2/3, R 1 -> F1 0.8
    assert f1_score("Denver Broncos team", "Denver Broncos") == pytest.approx(0.8)
    assert f1_score("Carolina", "Denver Broncos") == 0.0


def test_read_pair_and_evaluate(tmp_path):
    def ans(*pairs):
        return [{"text": t, "answer_start": s} for t, s in pairs]

    qas = [
        {"id": "q1", "question": "Who?", "answers": ans(("Denver Broncos", 0))},
        {"id": "q2", "question": "When?", "answers": ans(("2016", 19), ("in 2016", 16))},
    ]
    manual = read_squad(_write(tmp_path / "m.json", "Denver Broncos won in 2016.", qas))
    asr = read_squad(_write(tmp_path / "a.json", "denver bronx one in twenty sixteen", qas))
    assert [q.id for q in manual] == ["q1", "q2"] and manual[1].answers == ("2016", "in 2016")
    pairs = pair(manual, asr)
    assert pairs[0][0].context.startswith("Denver") and pairs[0][1].context.startswith("denver")
    out = evaluate(manual, {"q1": "the Denver Broncos", "q2": "in 2016 ."})
    assert out == {"exact_match": 100.0, "f1": 100.0}
    assert evaluate(manual, {"q1": "Broncos"})["exact_match"] == 0.0  # q2 missing scores 0
    with pytest.raises(DataError, match="q9 of the ASR file is not in the manual file"):
        pair(manual, [*asr, type(asr[0])("q9", "?", "", ("x",), (0,), "T")])
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(DataError, match="not a SQuAD JSON file"):
        read_squad(tmp_path / "bad.json")


def test_every_spoken_squad_question_pairs_with_the_manual_dev_set(shared_data):
    manual = read_squad(shared_data / "squad" / "dev-v1.1.json")
    asr = read_squad(shared_data / "spoken-squad" / "spoken_test-v1.1.json")
    assert len(manual) == 10570 and len(asr) == 5351
    pairs = pair(manual, asr)
    assert len(pairs) == 5351 and len({m.title for m, _ in pairs}) == 48
    # the gold answers score 100 against themselves
    assert evaluate(manual[:50], {q.id: q.answers[0] for q in manual[:50]})["f1"] == 100.0
