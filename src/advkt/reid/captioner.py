"""A small image captioner the library trains (HorNet's first part, issue #22; ``reid.md``).

HorNet (Yan et al., IJCAI 2019) describes each person image with a captioner trained where
captions exist and reads those captions beside the image. **Paper**: an image captioner; **ours**
(the paper's captioner was not at hand): a show-and-tell model (Vinyals et al. 2015) sized for
64 x 32 person images:

- :class:`Vocabulary`: the words of the training captions (lower case, split on spaces, the
  commas kept as a word), with ``<pad>`` 0, ``<bos>`` 1, ``<eos>`` 2, ``<unk>`` 3;
- :class:`Captioner`: a CNN encoder (three stride-2 conv blocks, 32-64-128 channels, pooled to
  an 8 x 4 grid, a linear map to the GRU's hidden size) gives the image's code v, the initial
  state of a one-layer GRU whose input at every step is the word's embedding beside v (fed at
  every step, not only the first: fed once, the GRU learnt the captions' grammar and ignored
  the colours); trained by teacher forcing, the cross-entropy of each next word
  (:func:`fit_captioner`); :meth:`Captioner.caption` decodes greedily.

Images are float (N, 3, H, W) in [-1, 1]. :func:`save_captioner` writes a trained captioner as a
code-free folder (``model.safetensors`` + ``captioner.json``: its sizes and vocabulary) and
:func:`load_captioner` reads it back; HorNet's model (``hornet``) names such a folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from advkt.atomic import write_text_atomic

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIAL = ("<pad>", "<bos>", "<eos>", "<unk>")


def tokenize(text: str) -> list[str]:
    return text.lower().replace(",", " ,").split()


class Vocabulary:
    def __init__(self, captions: list[str]) -> None:
        words = sorted({w for c in captions for w in tokenize(c)})
        self.words = [*SPECIAL, *words]
        self.index = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def from_words(cls, words: list[str]) -> Vocabulary:
        """The vocabulary whose word list (special words first) is ``words``, as saved."""
        if list(words[: len(SPECIAL)]) != list(SPECIAL):
            raise ValueError(f"a vocabulary starts with {', '.join(SPECIAL)}; got {words[:4]}")
        vocab = cls([])
        vocab.words = list(words)
        vocab.index = {w: i for i, w in enumerate(vocab.words)}
        return vocab

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, captions: list[str], length: int) -> torch.Tensor:
        """(N, length) ids: <bos>, the words (unknown ones as <unk>), <eos>, then <pad>."""
        out = torch.full((len(captions), length), PAD, dtype=torch.long)
        for i, c in enumerate(captions):
            ids = [BOS, *(self.index.get(w, UNK) for w in tokenize(c)), EOS][:length]
            out[i, : len(ids)] = torch.tensor(ids)
        return out

    def decode(self, ids: torch.Tensor) -> list[str]:
        """Ids (N, T) -> text, up to the first <eos>, without the special words."""
        texts = []
        for row in ids.tolist():
            words = []
            for i in row:
                if i == EOS:
                    break
                if i >= len(SPECIAL):
                    words.append(self.words[i])
            texts.append(" ".join(words).replace(" ,", ","))
        return texts


class Captioner(nn.Module):
    def __init__(self, vocab_size: int, embed: int = 64, hidden: int = 128) -> None:
        super().__init__()
        self.embed_size, self.hidden_size = embed, hidden
        blocks, c = [], 3
        for n in (32, 64, 128):
            blocks += [nn.Conv2d(c, n, 3, 2, 1), nn.BatchNorm2d(n), nn.ReLU(True)]
            c = n
        # pooled to a fixed 8 x 4 grid, not to one vector: where a colour is (hair, top,
        # trousers) is what the caption says, and a global pool would lose it
        self.encoder = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d((8, 4)), nn.Flatten(),
                                     nn.Linear(c * 32, hidden), nn.Tanh())  # fmt: skip
        self.embed = nn.Embedding(vocab_size, embed, padding_idx=PAD)
        self.gru = nn.GRU(embed + hidden, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab_size)

    def _inputs(self, v: torch.Tensor, words: torch.Tensor) -> torch.Tensor:
        """Each step's input: the word's embedding beside the image's code v."""
        e = self.embed(words)
        return torch.cat([e, v.unsqueeze(1).expand(-1, e.shape[1], -1)], 2)

    def forward(self, images: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: the logits (N, T - 1, V) of words 1..T-1 given words 0..T-2."""
        v = self.encoder(images)
        seq, _ = self.gru(self._inputs(v, ids[:, :-1]), v.unsqueeze(0).contiguous())
        return self.out(seq)

    @torch.no_grad()
    def caption(self, images: torch.Tensor, length: int = 24) -> torch.Tensor:
        """Greedy decoding: (N, length) word ids, <eos> then <pad> after the caption ends."""
        v = self.encoder(images)
        h = v.unsqueeze(0).contiguous()
        word = torch.full((len(images),), BOS, dtype=torch.long, device=images.device)
        out = torch.full((len(images), length), PAD, dtype=torch.long, device=images.device)
        done = torch.zeros(len(images), dtype=torch.bool, device=images.device)
        for t in range(length):
            seq, h = self.gru(self._inputs(v, word.unsqueeze(1)), h)
            word = self.out(seq[:, 0]).argmax(1)
            out[:, t] = torch.where(done, torch.full_like(word, PAD), word)
            done |= word == EOS
            if bool(done.all()):
                break
        return out


def fit_captioner(
    images: torch.Tensor,
    captions: list[str],
    epochs: int = 20,
    batch: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
    length: int = 24,
) -> tuple[Captioner, Vocabulary, list[float]]:
    """Train a captioner on (image, caption) pairs; returns it (in eval mode), its vocabulary and
    the per-epoch mean loss."""
    if len(images) != len(captions):
        raise ValueError(f"fit_captioner: {len(images)} images but {len(captions)} captions")
    torch.manual_seed(seed)
    vocab = Vocabulary(captions)
    ids = vocab.encode(captions, length)
    model = Captioner(len(vocab))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    for _ in range(epochs):
        total, n = 0.0, 0
        for idx in torch.randperm(len(images)).split(batch):
            logits = model(images[idx], ids[idx])
            loss = nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), ids[idx, 1:].reshape(-1), ignore_index=PAD
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total, n = total + loss.item() * len(idx), n + len(idx)
        losses.append(total / n)
    return model.eval(), vocab, losses


def save_captioner(folder: str | Path, model: Captioner, vocab: Vocabulary) -> Path:
    """Write ``model`` and ``vocab`` to ``folder`` (weights first, the JSON last: a folder with
    its ``captioner.json`` is complete)."""
    if model.out.out_features != len(vocab):
        raise ValueError(
            f"save_captioner: the captioner has {model.out.out_features} words, the vocabulary "
            f"{len(vocab)}"
        )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / ".model.safetensors.tmp"
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(tmp))
    tmp.replace(folder / "model.safetensors")
    info = {"embed": model.embed_size, "hidden": model.hidden_size, "words": vocab.words}
    write_text_atomic(folder / "captioner.json", json.dumps(info, indent=1) + "\n")
    return folder


def load_captioner(folder: str | Path) -> tuple[Captioner, Vocabulary]:
    """The captioner (in eval mode) and vocabulary :func:`save_captioner` wrote to ``folder``;
    reading it runs no code (JSON and safetensors)."""
    folder = Path(folder)
    if not (folder / "captioner.json").is_file() or not (folder / "model.safetensors").is_file():
        raise FileNotFoundError(
            f"{folder}: not a captioner folder (model.safetensors and captioner.json expected; "
            "advkt.reid.captioner.save_captioner writes one)"
        )
    info = json.loads((folder / "captioner.json").read_text())
    vocab = Vocabulary.from_words(info["words"])
    model = Captioner(len(vocab), info["embed"], info["hidden"])
    model.load_state_dict(load_file(str(folder / "model.safetensors")))
    return model.eval(), vocab
