"""Mixed precision (``train.amp``): the autocast the loop runs its forward passes under, and the
grad scaler fp16 needs (the loop scales each loss, unscales before clipping, steps through the
scaler and updates it once per batch)."""

from __future__ import annotations

import warnings
from contextlib import nullcontext

import torch

from advkt.recipe import RecipeError


def cpu_has_native_bf16() -> bool:
    """Whether this CPU has bf16 matrix instructions (AMX or AVX-512 BF16)."""
    cpu = torch.cpu
    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(getattr(cpu, c, lambda: False)() for c in checks)


def autocast_for(device: torch.device, amp: str):
    """``(autocast context factory, grad scaler or None)`` for ``train.amp`` on ``device``.

    bf16 runs on CUDA and on CPUs (oneDNN uses AMX / AVX-512 BF16 where the CPU has them);
    fp16 needs CUDA and a grad scaler. Master weights, optimiser state and the logged losses
    stay fp32 either way.
    """
    if amp == "none":
        return nullcontext, None
    if amp == "fp16" and device.type != "cuda":
        raise RecipeError("train.amp=fp16 needs a CUDA device; on a CPU use train.amp=bf16")
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    if device.type == "cpu" and not cpu_has_native_bf16():
        warnings.warn(
            "train.amp=bf16 on a CPU without AMX or AVX-512 BF16: bf16 is emulated there and "
            "runs several times slower than fp32 (train.amp=none)",
            stacklevel=2,
        )

    def autocast():
        return torch.autocast(device.type, dtype=dtype)

    return autocast, (torch.amp.GradScaler("cuda") if amp == "fp16" else None)
