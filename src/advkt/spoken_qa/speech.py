r"""Speech for MRD-Net's audio assistant: contexts spoken by espeak-ng, log-mel features computed
here, aligned to the text's characters (issue #20; ``papers/mrdnet.md``).

Spoken-SQuAD's own recordings are not at hand, so each manual context is synthesised (**ours**):
``espeak-ng -v en-us`` reads the whole context into a 16-bit mono WAV (22,050 Hz), read back with
the standard library's :mod:`wave` (no code runs). Log-mel features (**ours**, the usual ASR
front end): 25 ms Hann windows every 10 ms, the power spectrum, ``n_mels`` triangular filters
evenly spaced on the mel scale :math:`m = 2595 \log_{10}(1 + f / 700)` from 0 to half the rate,
:math:`\log(10^{-6} + \cdot)`.

Alignment (**ours**): espeak-ng gives no word times, so the frames are spread over the context's
characters uniformly, :func:`char_frames`; a token's frames are those of its characters.
:func:`cached_speech` synthesises and featurises a list of texts once and keeps the result in the
library's cache folder.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
import torch

from advkt.data.base import DataError
from advkt.data.cache import cached_tensors

VOICE = "en-us"


def espeak() -> str:
    """The espeak-ng binary, or a one-line error naming the package that provides it."""
    found = shutil.which("espeak-ng")
    if found is None:
        raise DataError(
            "spoken QA's speech needs espeak-ng, which is not installed: apt-get install espeak-ng "
            "(make setup installs it where apt-get is at hand)"
        )
    return found


def synthesize(text: str, path: str | Path, voice: str = VOICE) -> None:
    """``text`` spoken into the WAV file ``path`` (read from standard input: no shell)."""
    subprocess.run(
        [espeak(), "-v", voice, "--stdin", "-w", str(path)],
        input=text.encode("utf-8"),
        check=True,
        capture_output=True,
    )


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """(samples float32 in [-1, 1], rate) of a 16-bit mono WAV file."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise DataError(f"{path}: expected 16-bit mono WAV")
        rate, raw = w.getframerate(), w.readframes(w.getnframes())
    return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0, rate


def mel_filterbank(n_fft: int, rate: int, n_mels: int) -> torch.Tensor:
    """(n_mels, n_fft // 2 + 1) triangular filters, evenly spaced on the mel scale."""

    def mel(f):
        return 2595.0 * math.log10(1.0 + f / 700.0)

    edges_mel = torch.linspace(0.0, mel(rate / 2), n_mels + 2, dtype=torch.float64)
    edges = 700.0 * (10 ** (edges_mel / 2595.0) - 1.0)
    freqs = torch.linspace(0.0, rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None] - lo) / (mid - lo)
    down = (hi - freqs[None]) / (hi - mid)
    return torch.clamp(torch.minimum(up, down), min=0.0).float()


def log_mel(samples: np.ndarray, rate: int, n_mels: int = 40) -> torch.Tensor:
    """(frames, n_mels) log-mel features: 25 ms Hann windows every 10 ms, each zero-padded to the
    next power of two (n_fft) for the transform; 1 + (samples - n_fft) // hop frames."""
    win, hop = round(0.025 * rate), round(0.010 * rate)
    n_fft = 1 << (win - 1).bit_length()
    x = torch.from_numpy(np.asarray(samples, dtype=np.float32))
    if len(x) < n_fft:
        x = torch.nn.functional.pad(x, (0, n_fft - len(x)))
    spec = torch.stft(x, n_fft, hop, win, torch.hann_window(win), center=False,
                      return_complex=True)  # fmt: skip
    power = spec.abs() ** 2  # (n_fft // 2 + 1, frames)
    return torch.log(1e-6 + mel_filterbank(n_fft, rate, n_mels) @ power).T.contiguous()


def char_frames(text_len: int, frames: int) -> torch.Tensor:
    """(text_len + 1,) frame boundaries: character k spans frames [b[k], b[k + 1]), every
    character the same share of the speech (at least one frame each where there are enough)."""
    return torch.round(torch.linspace(0, frames, text_len + 1)).long()


def token_frames(offsets: torch.Tensor, text_len: int, frames: int) -> torch.Tensor:
    """(L, 2) frame [start, end) of each token of character offsets ``offsets`` (L, 2); a token
    gets at least one frame."""
    b = char_frames(text_len, frames)
    start, end = b[offsets[:, 0]], b[offsets[:, 1]]
    return torch.stack([start.clamp(max=frames - 1), torch.maximum(end, start + 1).clamp(
        max=frames)], 1)  # fmt: skip


def _version() -> str:
    out = subprocess.run([espeak(), "--version"], capture_output=True, check=True)
    return out.stdout.decode(errors="replace").strip()


def speech_features(texts: list[str], n_mels: int = 40, progress: bool = False):
    """Each text spoken and featurised: (frames (total, n_mels) float16, index (texts + 1,))."""
    from tqdm import tqdm

    feats = []
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        for text in tqdm(texts, desc="speech", disable=not progress, mininterval=2.0):
            synthesize(text, wav)
            feats.append(log_mel(*read_wav(wav), n_mels=n_mels).to(torch.float16))
    index = torch.zeros(len(texts) + 1, dtype=torch.long)
    index[1:] = torch.tensor([len(f) for f in feats]).cumsum(0)
    return torch.cat(feats) if feats else torch.zeros(0, n_mels, dtype=torch.float16), index


def cached_speech(texts: list[str], n_mels: int = 40, progress: bool = False):
    """:func:`speech_features`, cached in the library's cache folder under a key over the texts,
    the voice, the features' settings and the synthesiser's version."""
    blob = json.dumps([VOICE, n_mels, _version(), texts])
    key = hashlib.sha256(blob.encode()).hexdigest()[:20]

    def build() -> dict[str, torch.Tensor]:
        frames, index = speech_features(texts, n_mels, progress)
        return {"frames": frames, "index": index}

    t = cached_tensors("spoken-qa-speech", key, build)
    return t["frames"], t["index"]
