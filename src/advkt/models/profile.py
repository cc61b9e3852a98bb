"""Parameters, FLOPs and CPU latency of a model, and the compression ratio against a teacher.

FLOPs are what :class:`torch.utils.flop_counter.FlopCounterMode` counts for one forward pass of a
batch of one: 2 per multiply-accumulate of every matmul and convolution (so FLOPs = 2·MACs; a
Linear(i -> o) costs 2·i·o, a Conv(C_in -> C_out, k_h x k_w, groups g) costs
2·C_out·H_out·W_out·(C_in/g)·k_h·k_w). Biases, batch norm, activations, pooling and additions are
not counted, so the figure is a slight under-count, as in most published "FLOPs" tables (which
mostly quote MACs: divide by 2 to compare).
"""

from __future__ import annotations

import inspect
import statistics
import time
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from advkt.nn.modes import eval_mode
from advkt.registry import MODELS


def parse_shape(text: str) -> tuple[int, ...]:
    """``"3x32x32"`` -> (3, 32, 32): the input shape of one sample, without the batch dim."""
    try:
        shape = tuple(int(p) for p in text.lower().replace("×", "x").split("x"))
    except ValueError:
        shape = ()
    if not shape or any(d < 1 for d in shape):
        raise ValueError(f"input shape '{text}' is invalid: expected CxHxW or CxL, e.g. 3x32x32")
    return shape


def count_params(model: nn.Module) -> int:
    """Number of parameters (trainable or not; buffers such as BN statistics excluded)."""
    return sum(p.numel() for p in model.parameters())


def _sample(model: nn.Module, input_shape: tuple[int, ...], batch: int) -> torch.Tensor:
    p = next(model.parameters(), None)
    device = p.device if p is not None else torch.device("cpu")
    return torch.randn(batch, *input_shape, device=device)


def count_flops(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """FLOPs (= 2·MACs of matmuls and convolutions) of one forward pass of one sample of shape
    ``input_shape`` (no batch dim), counted by ``FlopCounterMode`` in eval mode."""
    with eval_mode(model):
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(_sample(model, tuple(input_shape), 1))
    return int(counter.get_total_flops())


def latency_ms(
    model: nn.Module,
    input_shape: tuple[int, ...],
    batch: int = 1,
    warmup: int = 5,
    repeats: int = 20,
) -> float:
    """Median wall time in milliseconds of one forward pass of ``batch`` samples (eval mode,
    no autograd), after ``warmup`` untimed passes, on the model's device with the current
    ``torch.get_num_threads()``."""
    if repeats < 1 or warmup < 0 or batch < 1:
        raise ValueError(
            f"latency_ms needs batch >= 1, warmup >= 0, repeats >= 1; "
            f"got {batch}, {warmup}, {repeats}"
        )
    x = _sample(model, tuple(input_shape), batch)
    sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)
    times = []
    with eval_mode(model):
        with torch.inference_mode():
            for _ in range(warmup):
                model(x)
            for _ in range(repeats):
                sync()
                t0 = time.perf_counter()
                model(x)
                sync()
                times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def _resolve(
    name_or_model: str | dict | nn.Module, input_shape: tuple[int, ...], num_classes: int
) -> tuple[str, nn.Module]:
    if isinstance(name_or_model, nn.Module):
        spec = getattr(name_or_model, "spec", {})
        return spec.get("name", type(name_or_model).__name__), name_or_model
    if isinstance(name_or_model, dict):
        from advkt.models.base import build_model

        return name_or_model.get("name", "?"), build_model(name_or_model)
    factory = MODELS.get(name_or_model)
    params = inspect.signature(factory).parameters
    kw: dict[str, Any] = {"num_classes": num_classes, "in_channels": input_shape[0]}
    # nets with a fixed input size (lenet5, mlp, cnn1d) take it from the shape asked for
    if "in_size" in params:
        kw["in_size"] = input_shape[-1]
    if "ndim" in params:
        kw["ndim"] = len(input_shape) - 1
    return name_or_model, factory(**kw)


def profile(
    name_or_model: str | dict | nn.Module,
    input_shape: tuple[int, ...] | str,
    teacher: str | dict | nn.Module | None = None,
    num_classes: int = 10,
    batch: int = 1,
    warmup: int = 5,
    repeats: int = 20,
) -> dict[str, Any]:
    """Profile a model given by registered name, spec dict or module, on inputs of
    ``input_shape`` (one sample, e.g. (3, 32, 32) or "3x32x32").

    Returns ``{"model", "input_shape", "params", "flops", "latency_ms", "batch", "threads"}``
    and, with a ``teacher``, also ``"teacher", "teacher_params", "teacher_flops",
    "teacher_latency_ms"`` and ``"compression"`` = params_teacher / params_student and
    ``"speedup_flops"`` = flops_teacher / flops_student.
    """
    shape = parse_shape(input_shape) if isinstance(input_shape, str) else tuple(input_shape)
    name, model = _resolve(name_or_model, shape, num_classes)
    out: dict[str, Any] = {
        "model": name,
        "input_shape": list(shape),
        "params": count_params(model),
        "flops": count_flops(model, shape),
        "latency_ms": latency_ms(model, shape, batch, warmup, repeats),
        "batch": batch,
        "threads": torch.get_num_threads(),
    }
    if teacher is not None:
        t_name, t_model = _resolve(teacher, shape, num_classes)
        out["teacher"] = t_name
        out["teacher_params"] = count_params(t_model)
        out["teacher_flops"] = count_flops(t_model, shape)
        out["teacher_latency_ms"] = latency_ms(t_model, shape, batch, warmup, repeats)
        out["compression"] = out["teacher_params"] / out["params"]
        out["speedup_flops"] = out["teacher_flops"] / max(out["flops"], 1)
    return out


def _si(n: float) -> str:
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            return f"{n / div:.2f}{unit}"
    return f"{n:.0f}"


def format_profile(p: dict[str, Any]) -> str:
    """A small markdown table of a :func:`profile` result."""
    shape = "x".join(map(str, p["input_shape"]))
    lat = f"latency ms (batch {p['batch']}, {p['threads']} threads)"
    lines = [f"| model | params | FLOPs | {lat} |", "|---|---:|---:|---:|"]
    if "teacher" in p:
        lines.append(
            f"| {p['teacher']} (teacher) | {_si(p['teacher_params'])} | "
            f"{_si(p['teacher_flops'])} | {p['teacher_latency_ms']:.3f} |"
        )
    lines.append(
        f"| {p['model']} | {_si(p['params'])} | {_si(p['flops'])} | {p['latency_ms']:.3f} |"
    )
    text = "\n".join(lines) + f"\n\ninput {shape}; FLOPs = 2 x MACs of matmuls and convolutions"
    if "teacher" in p:
        text += (
            f"\ncompression (teacher/student params): {p['compression']:.2f}x; "
            f"FLOPs ratio: {p['speedup_flops']:.2f}x"
        )
    return text + "\n"
