"""Speech for spoken QA (advkt.spoken_qa.speech): the mel filters and log-mel frames by hand, the
character / token alignment, the missing-synthesiser error, and espeak-ng's speech featurised and
cached (where espeak-ng is installed: `make setup` installs it)."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
import torch

from advkt.data.base import DataError
from advkt.spoken_qa import speech


def test_a_tone_lights_the_mel_filter_around_its_frequency():
    rate, f = 16000, 1000.0
    t = np.arange(rate) / rate
    feats = speech.log_mel(np.sin(2 * math.pi * f * t).astype(np.float32), rate, n_mels=40)
    n_fft, hop = 512, 160  # 25 ms windows (400 samples) padded to 512, every 10 ms
    assert feats.shape == (1 + (rate - n_fft) // hop, 40)
    assert speech.log_mel(np.zeros(100, np.float32), rate).shape == (1, 40)  # shorter than one
    peak = int(feats.mean(0).argmax())
    # the peak filter's centre (mel scale, evenly spaced from 0 to rate / 2) is near 1 kHz
    top = 2595 * math.log10(1 + (rate / 2) / 700)
    centre = 700 * (10 ** (top * (peak + 1) / 41 / 2595) - 1)
    assert abs(centre - f) < 120


def test_filters_are_triangles_that_cover_the_band():
    fb = speech.mel_filterbank(512, 16000, 20)
    assert fb.shape == (20, 257) and float(fb.min()) >= 0 and float(fb.max()) <= 1
    assert bool((fb.max(1).values > 0.5).all())  # every filter has a peak
    assert bool((fb[:, 5:250].sum(0) > 0).all())  # every inner frequency is covered


def test_characters_and_tokens_share_the_frames_uniformly():
    assert speech.char_frames(4, 8).tolist() == [0, 2, 4, 6, 8]
    offsets = torch.tensor([[0, 3], [4, 10], [10, 11]])  # "The Denver." in 3 tokens
    f = speech.token_frames(offsets, 11, 22)
    assert f.tolist() == [[0, 6], [8, 20], [20, 22]]
    tiny = speech.token_frames(offsets, 11, 3)  # fewer frames than characters: >= 1 each
    assert bool((tiny[:, 1] > tiny[:, 0]).all()) and int(tiny.max()) <= 3


def test_a_missing_synthesiser_is_named(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(DataError, match="apt-get install espeak-ng"):
        speech.synthesize("hello", "/tmp/never.wav")


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_espeak_speech_is_featurised_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path))
    texts = ["Super Bowl 50 was an American football game.", "Hello."]
    frames, index = speech.cached_speech(texts)
    assert frames.shape[1] == 40 and index.tolist()[0] == 0 and int(index[-1]) == len(frames)
    long, short = (index[1:] - index[:-1]).tolist()
    assert long > 3 * short > 0  # the longer text takes longer to say
    monkeypatch.setattr(speech, "speech_features", lambda *a, **k: (_ for _ in ()).throw(
        AssertionError))  # fmt: skip
    again, _ = speech.cached_speech(texts)  # read back from the cache
    assert torch.equal(again, frames)
