"""Questions as tensors for the span reader, its training and its predictions (issue #20).

:func:`build_set` encodes a list of :class:`~advkt.spoken_qa.squad.Question` (each distinct
context once, each distinct question once; :func:`~advkt.spoken_qa.encoder.cached_encoding`) and
maps each question's first answer that is a span of its context onto token positions. A question
whose answers are not spans of its context (lost by recognition, or cut by the encoder's 512
positions) has target -1: it is skipped by the training loss and still scored at evaluation
against its reference answers.

:func:`fit_reader` trains a :class:`~advkt.spoken_qa.model.SpanReader` by the span
cross-entropy (the mean of the start and end terms; **ours**: Adam, a fixed number of epochs,
the last epoch kept); :func:`predict` decodes each question's best span back to the context's
characters, and :func:`score` gives the official SQuAD v1.1 exact match and F1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from advkt.spoken_qa.encoder import Encoded, cached_encoding, token_span
from advkt.spoken_qa.model import SpanReader, best_spans
from advkt.spoken_qa.squad import Question, evaluate


@dataclass
class QASet:
    questions: list[Question]
    contexts: Encoded  # each distinct context once
    queries: Encoded  # each distinct question text once
    ctx_of: torch.Tensor  # (Q,) the context of each question
    q_of: torch.Tensor  # (Q,) its question text
    target: torch.Tensor  # (Q, 2) token [start, end] of its answer, -1 where it has none

    def __len__(self) -> int:
        return len(self.questions)

    @property
    def answerable(self) -> torch.Tensor:
        """Bool (Q,): the questions with a target span."""
        return self.target[:, 0] >= 0


def build_set(questions: list[Question], progress: bool = False) -> QASet:
    contexts = sorted({q.context for q in questions})
    texts = sorted({q.question for q in questions})
    c_at = {c: i for i, c in enumerate(contexts)}
    q_at = {t: i for i, t in enumerate(texts)}
    ctx = cached_encoding(contexts, progress)
    qry = cached_encoding(texts, progress)
    target = torch.full((len(questions), 2), -1, dtype=torch.long)
    for k, q in enumerate(questions):
        _, offsets = ctx.tokens(c_at[q.context])
        for a, s in zip(q.answers, q.starts):
            if q.context[s : s + len(a)] == a and (span := token_span(offsets, s, s + len(a))):
                target[k] = torch.tensor(span)
                break
    return QASet(
        questions,
        ctx,
        qry,
        torch.tensor([c_at[q.context] for q in questions]),
        torch.tensor([q_at[q.question] for q in questions]),
        target,
    )


def _pad(enc: Encoded, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    rows = [enc.tokens(int(i))[0] for i in ids]
    n = max(len(r) for r in rows)
    x = torch.zeros(len(rows), n, enc.feats.shape[1], dtype=enc.feats.dtype)
    mask = torch.zeros(len(rows), n, dtype=torch.bool)
    for k, r in enumerate(rows):
        x[k, : len(r)] = r
        mask[k, : len(r)] = True
    return x, mask


def batch(s: QASet, idx: torch.Tensor) -> dict[str, torch.Tensor]:
    """The padded tensors of questions ``idx``: context c, c_mask, question q, q_mask, target."""
    c, c_mask = _pad(s.contexts, s.ctx_of[idx])
    q, q_mask = _pad(s.queries, s.q_of[idx])
    return {"c": c, "c_mask": c_mask, "q": q, "q_mask": q_mask, "target": s.target[idx]}


def span_ce(start: torch.Tensor, end: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean of the start and end cross-entropies over the rows with a target."""
    ok = target[:, 0] >= 0
    if not bool(ok.any()):
        return start.sum() * 0.0
    t = target[ok]
    return (F.cross_entropy(start[ok], t[:, 0]) + F.cross_entropy(end[ok], t[:, 1])) / 2


def _buckets(rows: torch.Tensor, lengths: torch.Tensor, size: int, gen: torch.Generator):
    """``rows`` in batches of ``size`` in a random order, each batch drawn from 20 batches' worth
    of shuffled rows sorted by context length (little padding, still random)."""
    rows = rows[torch.randperm(len(rows), generator=gen)]
    out = []
    for chunk in rows.split(size * 20):
        out += list(chunk[lengths[chunk].argsort(stable=True)].split(size))
    return [out[i] for i in torch.randperm(len(out), generator=gen).tolist()]


def train_loop(
    parts: nn.Module,
    loss_fn: Callable[[torch.Tensor, dict[str, torch.Tensor]], torch.Tensor],
    train: QASet,
    epochs: int,
    batch_size: int = 32,
    lr: float = 1e-3,
    seed: int = 0,
) -> list[float]:
    """Adam on ``parts`` for ``epochs`` over ``train``'s answerable questions: each batch's
    ``loss_fn(idx, batch(train, idx))`` minimised. Returns each epoch's mean loss; ``parts`` is
    left in eval mode."""
    opt = torch.optim.Adam([p for p in parts.parameters() if p.requires_grad], lr=lr)
    rows = train.answerable.nonzero().flatten()
    gen = torch.Generator().manual_seed(seed)
    lengths = train.contexts.index.diff()[train.ctx_of]  # each question's context length
    losses = []
    for _ in range(epochs):
        parts.train()
        total = 0.0
        for idx in _buckets(rows, lengths, batch_size, gen):
            loss = loss_fn(idx, batch(train, idx))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / max(1, len(rows)))
    parts.eval()
    return losses


def fit_reader(
    train: QASet,
    epochs: int = 10,
    batch_size: int = 32,
    lr: float = 1e-3,
    seed: int = 0,
    hidden: int = 96,
) -> tuple[SpanReader, list[float]]:
    """A span reader trained by the span cross-entropy on ``train``'s answerable questions (the
    teacher on manual contexts, the student alone on ASR ones); returns it (eval mode) and the
    mean loss of each epoch."""
    torch.manual_seed(seed)
    model = SpanReader(train.contexts.feats.shape[1], hidden)

    def loss(idx, b):
        start, end, _ = model(b["c"], b["c_mask"], b["q"], b["q_mask"])
        return span_ce(start, end, b["target"])

    return model, train_loop(model, loss, train, epochs, batch_size, lr, seed)


@torch.no_grad()
def predict_with(
    logits: Callable[[torch.Tensor, dict[str, torch.Tensor]], tuple[torch.Tensor, torch.Tensor]],
    s: QASet,
    batch_size: int = 64,
) -> dict[str, str]:
    """Each question's answer text: the best span of ``logits(idx, batch)`` (start, end),
    mapped back to the context's characters."""
    out = {}
    by_length = s.contexts.index.diff()[s.ctx_of].argsort(stable=True)  # little padding
    for idx in by_length.split(batch_size):
        start, end = logits(idx, batch(s, idx))
        for k, (i, j) in zip(idx.tolist(), best_spans(start, end).tolist()):
            q = s.questions[k]
            _, offsets = s.contexts.tokens(int(s.ctx_of[k]))
            out[q.id] = q.context[int(offsets[i, 0]) : int(offsets[j, 1])]
    return out


def predict(model: SpanReader, s: QASet) -> dict[str, str]:
    """Each question's predicted answer by a span reader (eval mode)."""
    model.eval()
    return predict_with(lambda idx, b: model(b["c"], b["c_mask"], b["q"], b["q_mask"])[:2], s)


def score(model: SpanReader, s: QASet) -> dict[str, float]:
    """Official SQuAD v1.1 exact match and F1 (%) of ``model`` on every question of ``s``."""
    return evaluate(s.questions, predict(model, s))
