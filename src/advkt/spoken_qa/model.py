r"""The span reader: start / end logits over a context's tokens for a question (issue #20).

**Ours** (MRD-Net's QA module is "a text QA module" in its abstract; ``papers/mrdnet.md``): heads
trained on the frozen encoder's token features (:mod:`advkt.spoken_qa.encoder`), with the
context and the question encoded apart. With C (N, L, D) the context's token features and Q
(N, M, D) the question's, both projected to h dimensions,

.. math::
    \tilde q_i = \sum_j \mathrm{softmax}_j\Big(\frac{c_i \cdot q_j}{\sqrt h}\Big)\, q_j,\qquad
    x_i = [c_i;\ \tilde q_i;\ c_i \odot \tilde q_i;\ c_i - \tilde q_i],

two 1-D convolutions over the tokens (width 3, the second dilated by 2; ReLU; padding zeroed)
give the token states H (N, L, h), and a linear map of H the start and end logits (padding at
-1e4). Convolutions rather than a recurrent layer: on a CPU a bidirectional GRU of the same width
trained about five times slower here. Teacher and student share this architecture (MRD-Net's T
and S); :meth:`SpanReader.forward` returns H beside the logits for the audio assistant.

:func:`best_spans` decodes the highest-scoring span (start ≤ end < start + ``max_len``).
"""

from __future__ import annotations

import math

import torch
from torch import nn

NEG = -1e4  # the logit of a padding position


class SpanReader(nn.Module):
    def __init__(self, dim: int = 384, hidden: int = 96, dropout: float = 0.1) -> None:
        super().__init__()
        self.hidden = hidden
        self.c_proj = nn.Linear(dim, hidden)
        self.q_proj = nn.Linear(dim, hidden)
        self.drop = nn.Dropout(dropout)
        self.conv1 = nn.Conv1d(4 * hidden, hidden, 3, padding=1)
        self.conv2 = nn.Conv1d(hidden, hidden, 3, padding=2, dilation=2)
        self.out = nn.Linear(hidden, 2)

    def states(self, c, c_mask, q, q_mask) -> torch.Tensor:
        """The token states H (N, L, h) of the context given the question (0 at padding)."""
        pc, pq = self.drop(self.c_proj(c.float())), self.drop(self.q_proj(q.float()))
        scores = pc @ pq.transpose(1, 2) / math.sqrt(self.hidden)  # (N, L, M)
        scores = scores.masked_fill(~q_mask[:, None, :], NEG)
        att = torch.softmax(scores, dim=2) @ pq
        keep = c_mask[:, None, :].float()
        x = torch.cat([pc, att, pc * att, pc - att], 2).transpose(1, 2) * keep
        h = torch.relu(self.conv1(x)) * keep
        h = torch.relu(self.conv2(h)) * keep
        return h.transpose(1, 2)

    def logits(self, h: torch.Tensor, c_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        se = self.out(self.drop(h)).masked_fill(~c_mask[..., None], NEG)
        return se[..., 0], se[..., 1]

    def forward(self, c, c_mask, q, q_mask):
        """(start (N, L), end (N, L), H (N, L, h))."""
        h = self.states(c, c_mask, q, q_mask)
        start, end = self.logits(h, c_mask)
        return start, end, h


def best_spans(start: torch.Tensor, end: torch.Tensor, max_len: int = 30) -> torch.Tensor:
    """(N, 2) token [start, end] maximising start_i + end_j with i <= j < i + max_len."""
    n, length = start.shape
    pair = start.float()[:, :, None] + end.float()[:, None, :]  # (N, L, L)
    i = torch.arange(length, device=start.device)
    ok = (i[None, :] >= i[:, None]) & (i[None, :] < i[:, None] + max_len)
    flat = pair.masked_fill(~ok, -math.inf).view(n, -1).argmax(1)
    return torch.stack([flat // length, flat % length], 1)
