"""Batch augmentation on the training device: whole batches, no Python loop over samples.

Loaders hand out uint8 images (N, C, H, W); the engine moves a batch to the device, augments it
there and only then converts it to normalised floats. Cropping pads with 0 (black) before the
crop, as ``RandomCrop(32, padding=4)`` does on the PIL image in the usual CIFAR recipe
(He et al., 2016, "Deep Residual Learning", Sec. 4.2: 4-pixel padding, random 32x32 crop,
horizontal flip).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

AUGMENTATIONS = ("crop", "flip", "erase")


def _per_channel(values: Sequence[float], x: torch.Tensor, what: str) -> torch.Tensor:
    c = x.shape[1]
    v = torch.as_tensor(list(values), dtype=torch.float32, device=x.device)
    if v.numel() == 1:
        v = v.expand(c)
    if v.numel() != c:
        raise ValueError(f"{what} has {v.numel()} values but the input has {c} channels")
    return v.view(1, c, *([1] * (x.dim() - 2)))


def to_float(
    x: torch.Tensor, mean: Sequence[float] = (), std: Sequence[float] = ()
) -> torch.Tensor:
    """Scale uint8 inputs to [0, 1] and normalise per channel.

    ``out[:, c] = (x[:, c] / 255 - mean[c]) / std[c]`` for x of shape (N, C, ...). A one-value
    mean/std applies to every channel; empty mean/std skip the normalisation. Float inputs are
    returned as float32 unchanged (they are already in their model's scale).
    """
    if x.dtype != torch.uint8:
        return x.float()
    out = x.float().div_(255.0)
    if len(mean) or len(std):
        if not (len(mean) and len(std)):
            raise ValueError("to_float needs both mean and std, or neither")
        out = (out - _per_channel(mean, out, "mean")) / _per_channel(std, out, "std")
    return out


def _uniform_ints(
    n: int, high: int, generator: torch.Generator | None, device: torch.device
) -> torch.Tensor:
    gdev = generator.device if generator is not None else device
    return torch.randint(0, high, (n,), generator=generator, device=gdev).to(device)


def random_crop(
    x: torch.Tensor, pad: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Zero-pad by ``pad`` on every side, then crop each sample back to (H, W) at its own offset.

    For sample n with offsets (a_n, b_n) drawn uniformly from {0, ..., 2 pad}:
    ``out[n, :, i, j] = P[n, :, a_n + i, b_n + j]`` where P is x zero-padded to
    (H + 2 pad, W + 2 pad). Vertical offsets are drawn first, then horizontal ones. x: (N, C, H, W)
    of any dtype; the output has x's shape, dtype and device.
    """
    if x.dim() != 4:
        raise ValueError(f"random_crop expects (N, C, H, W) images, got shape {tuple(x.shape)}")
    if pad < 0:
        raise ValueError(f"crop padding must be >= 0, got {pad}")
    if pad == 0 or x.shape[0] == 0:
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    top = _uniform_ints(n, 2 * pad + 1, generator, x.device)
    left = _uniform_ints(n, 2 * pad + 1, generator, x.device)
    rows = top[:, None] + torch.arange(h, device=x.device)  # (N, H)
    cols = left[:, None] + torch.arange(w, device=x.device)  # (N, W)
    idx = torch.arange(n, device=x.device)[:, None, None]
    # Advanced indices split by a slice put their broadcast dims (N, H, W) first, channels last.
    out = padded[idx, :, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2).contiguous()


def random_flip(
    x: torch.Tensor, generator: torch.Generator | None = None, p: float = 0.5
) -> torch.Tensor:
    """Mirror the last axis (width) of the samples with ``u_n < p``, u = rand(N) from ``generator``.

    x: (N, C, ..., W); returns a tensor of the same shape, dtype and device.
    """
    if x.dim() < 2:
        raise ValueError(f"random_flip expects (N, C, ...) inputs, got shape {tuple(x.shape)}")
    n = x.shape[0]
    gdev = generator.device if generator is not None else x.device
    chosen = (torch.rand(n, generator=generator, device=gdev) < p).to(x.device)
    return torch.where(chosen.view(n, *([1] * (x.dim() - 1))), x.flip(-1), x)


def random_erase(
    x: torch.Tensor, p: float = 0.5, generator: torch.Generator | None = None,
    area: tuple[float, float] = (0.02, 0.4), aspect: float = 0.3,
) -> torch.Tensor:  # fmt: skip
    """Random erasing (Zhong, Zheng, Kang, Li, Yang, AAAI 2020): each sample with probability
    ``p`` gets one rectangle of a uniform share ``area`` of the image and an aspect ratio
    log-uniform in [``aspect``, 1 / ``aspect``], at a uniform position, filled with uniform
    random values (uint8 images: 0-255). The paper's defaults; whole batches, no loop over
    samples. x: (N, C, H, W); returns a new tensor of the same shape, dtype and device."""
    if x.dim() != 4:
        raise ValueError(f"random_erase expects (N, C, H, W) images, got shape {tuple(x.shape)}")
    n, c, h, w = x.shape
    gdev = generator.device if generator is not None else x.device

    def rand(*shape):
        return torch.rand(*shape, generator=generator, device=gdev).to(x.device)

    chosen = rand(n) < p
    s = (area[0] + (area[1] - area[0]) * rand(n)) * h * w
    r = torch.exp(math.log(aspect) + (-2 * math.log(aspect)) * rand(n))
    eh = (s * r).sqrt().round().clamp(1, h)
    ew = (s / r).sqrt().round().clamp(1, w)
    top = ((h - eh + 1) * rand(n)).floor()
    left = ((w - ew + 1) * rand(n)).floor()
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = ((rows >= top.view(n, 1, 1)) & (rows < (top + eh).view(n, 1, 1))
              & (cols >= left.view(n, 1, 1)) & (cols < (left + ew).view(n, 1, 1)))  # fmt: skip
    mask = (inside & chosen.view(n, 1, 1)).unsqueeze(1)  # (N, 1, H, W)
    noise = rand(n, c, h, w)
    fill = (noise * 255).round().to(x.dtype) if x.dtype == torch.uint8 else noise.to(x.dtype)
    return torch.where(mask, fill, x)


def augment_batch(
    x: torch.Tensor, spec: dict, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Apply ``spec`` to a batch: ``{"crop": pad}``, then ``{"flip": True}``, then ``{"erase": p}``
    (random erasing with probability p); ``{}`` is identity.

    Unknown keys raise, so a typo in a recipe never silently turns augmentation off.
    """
    unknown = sorted(set(spec) - set(AUGMENTATIONS))
    if unknown:
        raise ValueError(
            f"unknown augmentation {', '.join(map(repr, unknown))}; "
            f"valid: {', '.join(AUGMENTATIONS)}"
        )
    crop = spec.get("crop") or 0
    if crop:
        x = random_crop(x, int(crop), generator)
    if spec.get("flip"):
        x = random_flip(x, generator)
    if spec.get("erase"):
        x = random_erase(x, float(spec["erase"]), generator)
    return x
