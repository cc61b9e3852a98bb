r"""MRD-Net: multi-modal residual knowledge distillation for spoken QA, and its logit-KD peer
(You, Chen, Zou, IJCAI 2021; ``papers/mrdnet.md``, ``docs/methods/mrdnet.md``).

**Paper** (the abstract): a teacher T trained on manual transcripts guides a student S trained on
ASR transcripts; an audio assistant (Audio-A) distils knowledge at the acoustic level and learns
the residual errors between T and S; an attention mechanism fuses audio and text features.
**Ours**, every detail below (each with a switch):

- T and S are :class:`~advkt.spoken_qa.model.SpanReader` s; T, trained on the manual contexts
  and frozen, reads the ASR context the student reads (t: its start / end logits there).
- Audio-A reads S's token states H and the speech of the paragraph (the manual context spoken by
  espeak-ng, :mod:`advkt.spoken_qa.speech`; log-mel frames stacked by ``pool`` = 4, i.e. 40 ms).
  Token i attends to the frames within ``window`` (stacked) frames of its position under the
  uniform character alignment; with P the projections (d = 64),

  .. math::
      u_i = P_h H_i,\quad \tilde a_i = \sum_{f \in W(i)} \mathrm{softmax}_f
            \Big(\frac{u_i \cdot P_a A_f}{\sqrt d}\Big) P_a A_f,\quad
      r_i = \mathrm{MLP}([u_i;\ \tilde a_i]) \in \mathbb{R}^2,

  the residual start / end logits. ``audio=False`` (the without-audio ablation) attends to the
  token states themselves (u instead of P_a A, every token) with the same parts otherwise.
- The student's answer comes from :math:`z = s + r` (its own logits plus the residual), and

  .. math::
      L = w_{ce}\,\mathrm{CE}(z, y)
          + w_{kd}\,\tau^2\,\mathrm{KL}(\sigma(t/\tau)\,\|\,\sigma(z/\tau))
          + w_{res}\,\overline{\big(r - \mathrm{sg}(t - s)\big)^2},

  each term the mean of its start and end parts; the last over the context's tokens: Audio-A
  regresses the teacher − student residual, which the abstract names.

Logit KD (a peer) is the same without Audio-A: :math:`z = s` and no residual term.

Spoken-written KD (the peer from the same authors' earlier paper, arXiv 2010.11067, followed as
far as its abstract goes: "distillation from spoken documents and written counterparts ...
reducing the misalignment between automatic and manual transcriptions"; ``method="swkd"``): the
teacher reads the *manual* context (the written counterpart); its softened start / end
distributions over the manual tokens are carried onto the ASR tokens through a word alignment of
the two texts (:func:`align_tokens`, **ours**: the longest matching blocks of their lower-cased
tokens; an ASR token without a match gets no mass) and renormalised, and the student matches
them by :math:`\tau^2\,\mathrm{KL}` beside the span CE.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from advkt.spoken_qa.model import NEG, SpanReader
from advkt.spoken_qa.reader import QASet, batch, predict_with, span_ce, train_loop
from advkt.spoken_qa.speech import token_frames


@dataclass
class Speech:
    frames: torch.Tensor  # (total, n_mels) float16: every paragraph's log-mel frames in turn
    index: torch.Tensor  # (paragraphs + 1,) paragraph p's frames are index[p]:index[p + 1]
    of: torch.Tensor  # (Q,) the paragraph (speech) of each question of the QASet it serves


class AudioAssistant(nn.Module):
    def __init__(
        self,
        hidden: int = 96,
        n_mels: int = 40,
        dim: int = 64,
        audio: bool = True,
        pool: int = 4,
        window: int = 25,
    ) -> None:
        super().__init__()
        self.audio, self.pool, self.window, self.dim = audio, pool, window, dim
        self.h_proj = nn.Linear(hidden, dim)
        self.a_proj = nn.Linear(n_mels * pool, dim) if audio else None
        self.out = nn.Sequential(nn.Linear(2 * dim, dim), nn.ReLU(), nn.Linear(dim, 2))

    def forward(self, h, c_mask, audio=None, a_mask=None, centre=None):
        """Residual (start, end) logits (N, L), 0 at padding. ``audio`` (N, F, n_mels * pool),
        ``a_mask`` (N, F) and each token's aligned frame ``centre`` (N, L) with audio."""
        u = self.h_proj(h)
        if self.audio:
            kv = self.a_proj(audio.float())
            f = torch.arange(kv.shape[1], device=h.device)
            near = (f[None, None, :] - centre[:, :, None]).abs() <= self.window
            ok = near & a_mask[:, None, :]
        else:
            kv, ok = u, c_mask[:, None, :].expand(-1, u.shape[1], -1)
        scores = (u @ kv.transpose(1, 2) / math.sqrt(self.dim)).masked_fill(~ok, NEG)
        att = torch.softmax(scores, dim=2) @ kv
        r = self.out(torch.cat([u, att], 2)) * c_mask[..., None]
        return r[..., 0], r[..., 1]


def audio_batch(s: QASet, speech: Speech, idx: torch.Tensor, pool: int) -> dict[str, torch.Tensor]:
    """The speech of questions ``idx``: frames stacked by ``pool`` (N, F, n_mels * pool), their
    mask, and each context token's centre frame (N, L) under the uniform alignment."""
    rows, centres = [], []
    for k in idx.tolist():
        p = int(speech.of[k])
        fr = speech.frames[int(speech.index[p]) : int(speech.index[p + 1])]
        n = max(1, len(fr) // pool)
        fr = fr[: n * pool] if len(fr) >= pool else F.pad(fr, (0, 0, 0, pool - len(fr)))
        rows.append(fr.reshape(n, -1))
        _, offsets = s.contexts.tokens(int(s.ctx_of[k]))
        tf = token_frames(offsets, len(s.questions[k].context), n)
        centres.append((tf[:, 0] + tf[:, 1] - 1) // 2)
    n_f, n_l = max(len(r) for r in rows), max(len(c) for c in centres)
    audio = torch.zeros(len(rows), n_f, rows[0].shape[1], dtype=rows[0].dtype)
    a_mask = torch.zeros(len(rows), n_f, dtype=torch.bool)
    centre = torch.zeros(len(rows), n_l, dtype=torch.long)
    for k, (r, c) in enumerate(zip(rows, centres)):
        audio[k, : len(r)], a_mask[k, : len(r)], centre[k, : len(c)] = r, True, c
    return {"audio": audio, "a_mask": a_mask, "centre": centre}


def _kl(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor, tau: float):
    """tau² KL(softmax(t/tau) || softmax(s/tau)) per row, padding excluded, batch mean."""
    t = (teacher / tau).masked_fill(~mask, NEG)
    s = (student / tau).masked_fill(~mask, NEG)
    kl = (t.softmax(1) * (t.log_softmax(1) - s.log_softmax(1))).sum(1)
    return tau**2 * kl.mean()


def align_tokens(asr: QASet, manual: QASet) -> list[torch.Tensor]:
    """For each question k (the same question in both sets), the manual token matched to each
    token of its ASR context ((L_asr,), -1 where none): the matching blocks of the two contexts'
    lower-cased token strings (difflib, no junk heuristic)."""
    cache: dict[tuple[int, int], torch.Tensor] = {}
    out = []
    for k in range(len(asr)):
        if asr.questions[k].id != manual.questions[k].id:
            raise ValueError("align_tokens: the two sets must hold the same questions in order")
        key = (int(asr.ctx_of[k]), int(manual.ctx_of[k]))
        if key not in cache:
            words = []
            for s, q in ((asr, asr.questions[k]), (manual, manual.questions[k])):
                _, offsets = s.contexts.tokens(key[0] if s is asr else key[1])
                words.append([q.context[a:b].lower() for a, b in offsets.tolist()])
            m = torch.full((len(words[0]),), -1, dtype=torch.long)
            sm = difflib.SequenceMatcher(None, words[0], words[1], autojunk=False)
            for blk in sm.get_matching_blocks():
                m[blk.a : blk.a + blk.size] = torch.arange(blk.b, blk.b + blk.size)
            cache[key] = m
        out.append(cache[key])
    return out


def _carried(t: torch.Tensor, t_mask: torch.Tensor, maps: list[torch.Tensor], length: int, tau):
    """The teacher's softened distribution over manual tokens (N, Lm) carried onto the ASR tokens
    by ``maps`` and renormalised: (N, length) and the rows that kept any mass."""
    p = (t / tau).masked_fill(~t_mask, NEG).softmax(1)
    out = torch.zeros(len(maps), length)
    for k, m in enumerate(maps):
        hit = m >= 0
        out[k, : len(m)][hit] = p[k, m[hit]]
    mass = out.sum(1, keepdim=True)
    return out / mass.clamp(min=1e-12), mass[:, 0] > 1e-6


def fit_student(
    train: QASet,
    teacher: SpanReader,
    method: str = "mrdnet",
    speech: Speech | None = None,
    epochs: int = 10,
    batch_size: int = 32,
    lr: float = 1e-3,
    seed: int = 0,
    hidden: int = 96,
    w_ce: float = 1.0,
    w_kd: float = 1.0,
    w_res: float = 1.0,
    tau: float = 2.0,
    audio: bool = True,
    manual: QASet | None = None,
) -> tuple[nn.ModuleDict, list[float]]:
    """The student (and Audio-A) trained on the ASR contexts of ``train`` from the frozen
    ``teacher``: ``method`` "kd" (logit KD), "mrdnet" (``audio=False``: without audio) or
    "swkd" (spoken-written KD: the teacher reads ``manual``, the same questions over their
    manual contexts). Returns ``{"reader", "assistant"?}`` in eval mode and each epoch's mean
    loss."""
    if method not in ("kd", "mrdnet", "swkd"):
        raise ValueError(f"fit_student: method must be 'kd', 'mrdnet' or 'swkd', got {method!r}")
    if method == "mrdnet" and audio and speech is None:
        raise ValueError("fit_student: MRD-Net with audio needs the paragraphs' speech")
    if method == "swkd" and manual is None:
        raise ValueError("fit_student: spoken-written KD needs the manual contexts (manual=...)")
    maps = align_tokens(train, manual) if method == "swkd" else None
    torch.manual_seed(seed)
    teacher.eval().requires_grad_(False)
    parts = nn.ModuleDict({"reader": SpanReader(train.contexts.feats.shape[1], hidden)})
    if method == "mrdnet":
        n_mels = speech.frames.shape[1] if speech is not None else 40
        parts["assistant"] = AudioAssistant(hidden, n_mels, audio=audio)

    def loss(idx, b):
        args = (b["c"], b["c_mask"], b["q"], b["q_mask"])
        s0, s1, h = parts["reader"](*args)
        if method == "swkd":
            bm = batch(manual, idx)
            with torch.no_grad():
                t0, t1, _ = teacher(bm["c"], bm["c_mask"], bm["q"], bm["q_mask"])
            rows = [maps[k] for k in idx.tolist()]
            kd = s0.new_zeros(())
            for s_, t_ in ((s0, t0), (s1, t1)):
                p, ok = _carried(t_, bm["c_mask"], rows, s_.shape[1], tau)
                logq = (s_ / tau).masked_fill(~b["c_mask"], NEG).log_softmax(1)
                kl = (p * (p.clamp(min=1e-12).log() - logq)).sum(1)
                kd = kd + tau**2 * (kl[ok].mean() if bool(ok.any()) else kl.sum() * 0)
            return w_ce * span_ce(s0, s1, b["target"]) + w_kd * kd / 2
        with torch.no_grad():
            t0, t1, _ = teacher(*args)
        z0, z1 = s0, s1
        total = s0.new_zeros(())
        if method == "mrdnet":
            r0, r1 = assistant_logits(parts["assistant"], h, b, train, speech, idx)
            z0, z1 = s0 + r0, s1 + r1
            m = b["c_mask"]
            res0 = ((r0 - (t0 - s0).detach())[m] ** 2).mean()
            res1 = ((r1 - (t1 - s1).detach())[m] ** 2).mean()
            total = total + w_res * (res0 + res1) / 2
        total = total + w_ce * span_ce(z0, z1, b["target"])
        kd = _kl(z0, t0, b["c_mask"], tau) + _kl(z1, t1, b["c_mask"], tau)
        return total + w_kd * kd / 2

    return parts, train_loop(parts, loss, train, epochs, batch_size, lr, seed)


def assistant_logits(assistant, h, b, s: QASet, speech: Speech | None, idx):
    """Audio-A's residual logits for the batch (with its speech when it reads audio)."""
    if not assistant.audio:
        return assistant(h, b["c_mask"])
    a = audio_batch(s, speech, idx, assistant.pool)
    return assistant(h, b["c_mask"], a["audio"], a["a_mask"], a["centre"][:, : h.shape[1]])


def predict_student(parts: nn.ModuleDict, s: QASet, speech: Speech | None = None):
    """Each question's answer by the trained student: its logits z = s (+ r with Audio-A)."""

    def logits(idx, b):
        s0, s1, h = parts["reader"](b["c"], b["c_mask"], b["q"], b["q_mask"])
        if "assistant" not in parts:
            return s0, s1
        r0, r1 = assistant_logits(parts["assistant"], h, b, s, speech, idx)
        return s0 + r0, s1 + r1

    parts.eval()
    return predict_with(logits, s)
