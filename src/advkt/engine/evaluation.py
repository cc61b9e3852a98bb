"""Top-1 accuracy of a model on a data split, clean and, optionally, under an attack: the one
evaluation path, taken by training (each epoch's test and validation accuracy, the teacher's
accuracy) and by ``advkt eval`` alike."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext

import torch
from torch import nn

from advkt import distributed as dist
from advkt.attacks import ATTACKS, pixel_normalizer, pixels
from advkt.data.augment import to_float
from advkt.data.base import TensorData


def accuracy(
    model: nn.Module,
    data: TensorData,
    device: torch.device,
    batch_size: int,
    autocast=nullcontext,
    attack: str | Callable[..., torch.Tensor] | None = None,
    limit: int | None = None,
    **attack_kw,
) -> dict[str, float]:
    """``{"clean": %}`` on the first ``limit`` samples of ``data`` (all by default), plus
    ``"robust"`` (% still correct on the adversarial examples) with ``attack`` ("fgsm", "pgd" or
    a callable with :func:`advkt.attacks.fgsm`'s signature; ``attack_kw`` goes to it: eps, step,
    steps, ...). Attacks work on pixels in [0, 1] (uint8 data) or on the raw float inputs,
    without a clamp. Under torchrun each rank scores its shard and the counts are summed."""
    if isinstance(attack, str):
        if attack not in ATTACKS:
            raise ValueError(f"unknown attack '{attack}'; valid attacks: {', '.join(ATTACKS)}")
        attack = ATTACKS[attack]
    rank, world = dist.rank_and_world()
    n = len(data) if limit is None else min(limit, len(data))
    idx = torch.arange(rank, n, world)
    normalize = pixel_normalizer(data)
    clean = torch.zeros((), dtype=torch.long, device=device)
    robust = torch.zeros((), dtype=torch.long, device=device)
    was = model.training
    model.eval()
    try:
        for i in range(0, len(idx), batch_size):
            j = idx[i : i + batch_size]
            x, y = data.x[j].to(device), data.y[j].to(device)
            with torch.no_grad(), autocast():
                clean += (model(to_float(x, data.mean, data.std)).argmax(1) == y).sum()
            if attack is not None:
                pix, clamp = pixels(x)
                adv = attack(model, pix, y, clamp=clamp, normalize=normalize, **attack_kw)
                with torch.no_grad():
                    robust += (model(normalize(adv)).argmax(1) == y).sum()
    finally:
        model.train(was)
    c, r, m = dist.all_sum([float(clean), float(robust), float(len(idx))], device)
    out = {"clean": 100.0 * c / max(1.0, m)}
    if attack is not None:
        out["robust"] = 100.0 * r / max(1.0, m)
    return out
