"""HorNet's hierarchical offshoot recurrent network (issue #22; ``docs/methods/hornet.md``).

**Paper** (the abstract): a recurrent network that learns the visual and the language
representations jointly, with offshoots from the visual hierarchy. **Ours**, every detail:

- the visual side is a staged backbone (``advkt.models``: stem, stages, pooled vector p);
- offshoot k is the global average of stage k's output, mapped to the GRU's input size,
  o_k = W_k GAP(h_k); the captions' words are embedded, e_t = E[w_t];
- one GRU reads the hierarchy from low to high, then the words: [o_1, ..., o_S, e_1, ..., e_T]
  (padding skipped: the state after the last real input is kept), giving the joint code j;
- the descriptor is f = [p, j], classified by a linear layer (identities): a student model
  whose ``forward(x, features=True)`` returns (logits, Features with pooled = f), so the
  library's ``triplet`` method (softmax + batch-hard triplet on f) trains it and
  ``advkt.reid.retrieval`` ranks by f, unchanged.

The captions come from the image itself: a frozen :class:`~advkt.reid.captioner.Captioner`
(optionally after a frozen translator, SPGAN's generator into the captioner's domain) captions
every input, in training and at test, so a query needs no text. ``captions=False`` is the
without-captions ablation: the GRU reads the offshoots only.
"""

from __future__ import annotations

import torch
from torch import nn

from advkt.models.base import Features
from advkt.reid.captioner import PAD, Captioner


class HORNet(nn.Module):
    def __init__(
        self,
        backbone: nn.Module,
        num_classes: int,
        captioner: Captioner | None = None,
        translator: nn.Module | None = None,
        mean: tuple[float, ...] = (0.5, 0.5, 0.5),
        std: tuple[float, ...] = (0.5, 0.5, 0.5),
        embed: int = 64,
        hidden: int = 128,
        length: int = 24,
        example_input: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        self.backbone, self.length = backbone, length
        x = example_input if example_input is not None else torch.zeros(2, 3, 64, 32)
        with torch.no_grad():
            was = backbone.training
            _, f = backbone.eval()(x, features=True)
            backbone.train(was)
        widths = [s.shape[1] for s in f.stages]
        self.offshoots = nn.ModuleList(nn.Linear(w, embed) for w in widths)
        self.captioner, self.translator = captioner, translator
        for frozen in (captioner, translator):
            if frozen is not None:
                frozen.requires_grad_(False).eval()
        vocab = captioner.out.out_features if captioner is not None else 1
        self.words = nn.Embedding(vocab, embed, padding_idx=PAD)
        self.gru = nn.GRU(embed, hidden, batch_first=True)
        self.fc = nn.Linear(f.pooled.shape[1] + hidden, num_classes)
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def train(self, mode: bool = True):
        """The captioner and the translator stay frozen in eval mode."""
        super().train(mode)
        for frozen in (self.captioner, self.translator):
            if frozen is not None:
                frozen.eval()
        return self

    @torch.no_grad()
    def captions(self, x: torch.Tensor) -> torch.Tensor:
        """Word ids (N, length) of each normalised input image, from the frozen captioner."""
        img = (x * self.std + self.mean) * 2 - 1  # back to the captioner's [-1, 1]
        if self.translator is not None:
            img = self.translator(img)
        return self.captioner.caption(img, self.length)

    def forward(self, x: torch.Tensor, features: bool = False):
        _, f = self.backbone(x, features=True)
        seq = torch.stack([o(s.mean(dim=(2, 3))) for o, s in zip(self.offshoots, f.stages)], 1)
        lengths = torch.full((len(x),), seq.shape[1], device=x.device)  # the offshoots
        if self.captioner is not None:
            ids = self.captions(x)
            seq = torch.cat([seq, self.words(ids)], 1)
            lengths = lengths + (ids != PAD).sum(1)
        out, _ = self.gru(seq)
        j = out[torch.arange(len(x), device=x.device), lengths - 1]  # after the last real input
        desc = torch.cat([f.pooled, j], 1)
        logits = self.fc(desc)
        if not features:
            return logits
        return logits, Features(stem=f.stem, blocks=f.blocks, pooled=desc)
