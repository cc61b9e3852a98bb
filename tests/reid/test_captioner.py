"""HorNet's captioner (advkt.reid.captioner) on people the library renders: the vocabulary's
round trip, teacher-forced shapes, and captions that name what the image shows."""

from __future__ import annotations

import re

import pytest
import torch

from advkt.reid.captioner import BOS, EOS, PAD, Captioner, Vocabulary, fit_captioner
from advkt.reid.synthetic import render


def test_the_vocabulary_round_trip_and_unknown_words():
    v = Vocabulary(["a red top, carrying a bag", "a blue top"])
    ids = v.encode(["a red top, carrying a bag", "a green top"], 10)
    assert ids[0, 0] == BOS and ids.shape == (2, 10)
    assert v.decode(ids) == ["a red top, carrying a bag", "a top"]  # green: unknown, dropped
    assert (ids[1] == EOS).nonzero()[0].item() == 4 and ids[1, 5:].eq(PAD).all()


def test_teacher_forcing_and_greedy_decoding_shapes():
    m = Captioner(vocab_size=12).eval()
    x, ids = torch.randn(3, 3, 64, 32), torch.randint(4, 12, (3, 7))
    assert m(x, ids).shape == (3, 6, 12)
    out = m.caption(x, length=5)
    assert out.shape == (3, 5) and out.dtype == torch.long
    with pytest.raises(ValueError, match="3 images but 2 captions"):
        fit_captioner(x, ["a", "b"], epochs=1)


def test_the_captioner_learns_the_colours_it_sees():
    r = render(n_ids=40, n_cams=2, per_cam=2, seed=0)
    x = torch.from_numpy(r.images).float() / 127.5 - 1
    caps = [r.captions[int(p)] for p in r.pids]
    model, vocab, losses = fit_captioner(x, caps, epochs=40, batch=32)
    assert losses[-1] < 0.5 * losses[0]
    out = vocab.decode(model.caption(x))

    def hair(text: str) -> str | None:
        m = re.search(r"with (\w+) hair", text)
        return m.group(1) if m else None

    right = sum(hair(o) == hair(c) for o, c in zip(out, caps)) / len(caps)
    assert right > 0.6  # four hair colours: chance is about 0.25


def test_a_saved_captioner_reads_back_the_same_and_a_bad_folder_is_named(tmp_path):
    import pytest

    from advkt.reid.captioner import Captioner, Vocabulary, load_captioner, save_captioner

    torch.manual_seed(0)
    vocab = Vocabulary(["red hair, blue top", "black hair, green top"])
    model = Captioner(len(vocab), embed=16, hidden=32).eval()
    save_captioner(tmp_path / "cap", model, vocab)
    back, words = load_captioner(tmp_path / "cap")
    assert words.words == vocab.words and not back.training
    x = torch.rand(3, 3, 64, 32) * 2 - 1
    assert torch.equal(back.caption(x, 6), model.caption(x, 6))
    with pytest.raises(ValueError, match="vocabulary"):
        save_captioner(tmp_path / "bad", Captioner(len(vocab) + 1), vocab)
    with pytest.raises(FileNotFoundError, match="not a captioner folder"):
        load_captioner(tmp_path / "absent")
