"""SQuAD v1.1 files (Rajpurkar et al. 2016) and Spoken-SQuAD's (Li et al. 2018: the same
questions over ASR transcripts of the contexts), read as JSON (no code runs), paired by question
id, and scored with the official v1.1 exact match and F1.

The official normalisation (``evaluate-v1.1.py``): lower case, punctuation removed, the articles
a / an / the removed, whitespace collapsed. Exact match: the normalised prediction equals a
normalised gold answer; F1: the harmonic mean of token precision and recall (multiset overlap);
each the maximum over the gold answers, then the mean over questions, in %.
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from advkt.data.base import DataError


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    context: str
    answers: tuple[str, ...]
    starts: tuple[int, ...]  # character offsets of the answers in ``context``
    title: str


def read_squad(path: str | Path) -> list[Question]:
    """Every question of a SQuAD v1.1-format file, in file order."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"{path}: not a SQuAD JSON file ({e})") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise DataError(f"{path}: no 'data' list (SQuAD v1.1 format)")
    out = []
    try:
        for article in doc["data"]:
            for para in article["paragraphs"]:
                for qa in para["qas"]:
                    out.append(
                        Question(
                            qa["id"],
                            qa["question"],
                            para["context"],
                            tuple(a["text"] for a in qa["answers"]),
                            tuple(int(a["answer_start"]) for a in qa["answers"]),
                            article.get("title", ""),
                        )
                    )
    except (KeyError, TypeError, ValueError) as e:
        raise DataError(f"{path}: a question lacks a SQuAD field ({e!r})") from e
    return out


def pair(manual: list[Question], asr: list[Question]) -> list[tuple[Question, Question]]:
    """(manual, ASR) questions with the same id, in the ASR file's order; an ASR question whose
    id the manual file lacks, or whose text differs, is an error."""
    by_id = {q.id: q for q in manual}
    out = []
    for q in asr:
        m = by_id.get(q.id)
        if m is None:
            raise DataError(f"question {q.id} of the ASR file is not in the manual file")
        if m.question != q.question:
            raise DataError(f"question {q.id}: the two files' question texts differ")
        out.append((m, q))
    return out


def normalize_answer(s: str) -> str:
    """The official SQuAD v1.1 answer normalisation."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def f1_score(prediction: str, truth: str) -> float:
    p, t = normalize_answer(prediction).split(), normalize_answer(truth).split()
    common = Counter(p) & Counter(t)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(t)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, truth: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(truth))


def evaluate(questions: list[Question], predictions: dict[str, str]) -> dict[str, float]:
    """``{"exact_match", "f1"}`` in % over ``questions`` (a missing prediction scores 0)."""
    if not questions:
        raise ValueError("evaluate needs at least one question")
    em = f1 = 0.0
    for q in questions:
        pred = predictions.get(q.id, "")
        em += max(exact_match(pred, a) for a in q.answers)
        f1 += max(f1_score(pred, a) for a in q.answers)
    return {"exact_match": 100 * em / len(questions), "f1": 100 * f1 / len(questions)}
