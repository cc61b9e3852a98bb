"""Answer spans on ASR text, and the split by article (MRD-Net's data, issue #20).

Spoken-SQuAD's files differ (measured on the three test files here): at the default WER every
answer is already a span of the ASR context (the dataset's authors mapped it there), while the
WER 44 and 54 files keep the manual answers with their manual offsets, which point into the ASR
text at random. :func:`asr_span` finds an answer in an ASR context where it survived
recognition: the answer's normalised words (the official SQuAD normalisation, word by word) as
consecutive normalised words of the context; the span runs from the first matched word's first
character to the last one's end. :func:`map_answers` gives each question the spans of its
answers that survived, and the ids of those with none (no training span; evaluation still scores
predictions against the reference answers).

:func:`split_by_article` draws the train / test articles (seeded): Spoken-SQuAD's training file
is not at hand, so its 48 test articles are split (e.g. 32 / 16).
"""

from __future__ import annotations

import random
import re
from dataclasses import replace

from advkt.spoken_qa.squad import Question, normalize_answer

_WORD = re.compile(r"\S+")


def _words(text: str) -> list[tuple[str, int, int]]:
    """(normalised word, start, end) of every word that normalises to something."""
    out = []
    for m in _WORD.finditer(text):
        w = normalize_answer(m.group())
        if w:
            out.append((w, m.start(), m.end()))
    return out


def asr_span(context: str, answer: str) -> tuple[int, str] | None:
    """(start, text) of ``answer`` in ``context`` (its normalised words, consecutive), the first
    occurrence; None when it did not survive."""
    target = normalize_answer(answer).split()
    if not target:
        return None
    words = _words(context)
    n = len(target)
    for i in range(len(words) - n + 1):
        if all(words[i + k][0] == target[k] for k in range(n)):
            start, end = words[i][1], words[i + n - 1][2]
            return start, context[start:end]
    return None


def map_answers(questions: list[Question]) -> tuple[list[Question], list[str]]:
    """The questions with their answers replaced by their spans in their (ASR) contexts (an
    answer whose offset already points at it in this context is kept as it is), keeping those that
    survived; and the ids of the questions none of whose answers survived
    (kept in the list with their reference answers and no span: ``starts`` empty)."""
    out, lost = [], []
    for q in questions:
        found = []
        for a, start in zip(q.answers, q.starts):
            if q.context[start : start + len(a)] == a:  # already a span of this context
                found.append((start, a))
            elif (s := asr_span(q.context, a)) is not None:
                found.append(s)
        if found:
            out.append(replace(q, answers=tuple(t for _, t in found),
                               starts=tuple(s for s, _ in found)))  # fmt: skip
        else:
            out.append(replace(q, starts=()))
            lost.append(q.id)
    return out, lost


def split_by_article(
    questions: list[Question], n_train: int, seed: int = 0
) -> tuple[list[Question], list[Question]]:
    """(train, test) questions, whole articles (``title``) on each side, ``n_train`` articles
    drawn by ``seed`` for training."""
    titles = sorted({q.title for q in questions})
    if not 0 < n_train < len(titles):
        raise ValueError(f"split_by_article: {n_train} of {len(titles)} articles cannot train")
    train = set(random.Random(seed).sample(titles, n_train))
    return [q for q in questions if q.title in train], [
        q for q in questions if q.title not in train
    ]
