"""torch.distributed under torchrun: process group, per-rank data sharding, gradient averaging.

Gradients are averaged explicitly, per update step and parameter group, with one coalesced
all-reduce. DistributedDataParallel's module wrapper assumes one forward and one backward per
iteration through one module; an adversarial method alternates several optimisers over shared
forward passes (a discriminator step on the detached student output, then the student step), which
DDP handles only with ``find_unused_parameters`` and extra synchronisation. Averaging each step's
gradients ourselves gives the same update as DDP for every method, the discriminators included.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The module inside a (Distributed)DataParallel wrapper: its forward needs no sync."""
    if isinstance(model, (torch.nn.parallel.DistributedDataParallel, torch.nn.DataParallel)):
        return model.module
    return model


def init_from_env(device_type: str) -> tuple[int, int]:
    """Join the process group when launched by torchrun; return (rank, world size)."""
    if "WORLD_SIZE" not in os.environ or int(os.environ["WORLD_SIZE"]) <= 1:
        return 0, 1
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size()


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank_and_world() -> tuple[int, int]:
    """This process's rank and the number of processes: (0, 1) outside torchrun."""
    return (dist.get_rank(), dist.get_world_size()) if is_distributed() else (0, 1)


def average_gradients(params: list[torch.nn.Parameter]) -> None:
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = _flatten_dense_tensors(grads)
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    for g, synced in zip(grads, _unflatten_dense_tensors(flat, grads)):
        g.copy_(synced)


def average_buffers(module: torch.nn.Module) -> None:
    """Average floating buffers (batch-norm running statistics) over ranks, so that every rank
    evaluates and saves the same model."""
    for b in module.buffers():
        if b.is_floating_point():
            dist.all_reduce(b.data)
            b.data /= dist.get_world_size()


def broadcast_module(module: torch.nn.Module) -> None:
    """Make every rank start from rank 0's parameters and buffers."""
    for t in list(module.parameters()) + list(module.buffers()):
        dist.broadcast(t.data, 0)


def all_sum(values: list[float], device: torch.device) -> list[float]:
    if not is_distributed():
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def barrier() -> None:
    if is_distributed():
        dist.barrier()
