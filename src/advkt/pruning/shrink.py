"""Physical shrinking: the channels that carry exact zeros removed, the model rebuilt smaller,
and a shrunk model loaded again from its architecture, sizes and weights (no stored code runs)."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from advkt.distributed import unwrap
from advkt.models.base import build_model
from advkt.nn.modes import eval_mode
from advkt.pruning.groups import BN_TYPES, CONV_TYPES, ChannelGroup, channel_groups


def _zero_channels(net: nn.Module, g: ChannelGroup) -> torch.Tensor:
    """Bool (C,): channels of the group that carry exact zeros (see module doc)."""
    conv = net.get_submodule(g.producer)
    zero = conv.weight.detach().flatten(1).eq(0).all(dim=1)
    if conv.bias is not None:
        zero &= conv.bias.detach().eq(0)
    if g.bn is not None:
        bn = net.get_submodule(g.bn)
        shift = torch.zeros_like(zero, dtype=conv.weight.dtype)
        if bn.affine:
            shift = bn.bias.detach().abs()
        if bn.track_running_stats and bn.running_mean is not None:
            gamma = bn.weight.detach() if bn.affine else torch.ones_like(bn.running_mean)
            shift = shift + (gamma * bn.running_mean).abs()
        zero &= shift.eq(0)
    return zero


def _resized(m: nn.Module, **shape: int) -> nn.Module:
    """A fresh module of m's type and hyper-parameters with new channel/feature counts."""
    kw = {"device": next(m.parameters()).device, "dtype": next(m.parameters()).dtype}
    if type(m) in CONV_TYPES:
        return type(m)(
            shape.get("in_channels", m.in_channels), shape.get("out_channels", m.out_channels),
            m.kernel_size, stride=m.stride, padding=m.padding, dilation=m.dilation,
            groups=m.groups, bias=m.bias is not None, padding_mode=m.padding_mode, **kw,
        )  # fmt: skip
    if type(m) in BN_TYPES:
        kw = {"device": m.running_mean.device if m.running_mean is not None else None}
        return type(m)(
            shape["num_features"], eps=m.eps, momentum=m.momentum, affine=m.affine,
            track_running_stats=m.track_running_stats, **kw,
        )  # fmt: skip
    if type(m) is nn.Linear:
        return nn.Linear(
            shape.get("in_features", m.in_features),
            shape.get("out_features", m.out_features),
            bias=m.bias is not None,
            **kw,
        )
    raise ValueError(f"cannot resize a module of type {type(m).__name__}")


def _shape_of(m: nn.Module) -> dict[str, Any]:
    if type(m) in CONV_TYPES:
        return {
            "type": type(m).__name__,
            "in_channels": m.in_channels,
            "out_channels": m.out_channels,
        }
    if type(m) in BN_TYPES:
        return {"type": type(m).__name__, "num_features": m.num_features}
    return {"type": "Linear", "in_features": m.in_features, "out_features": m.out_features}


@torch.no_grad()
def _sliced(m: nn.Module, out_idx: torch.Tensor | None, in_idx: torch.Tensor | None) -> nn.Module:
    """m with its output and/or input channels restricted to the given indices."""
    if type(m) in BN_TYPES:
        new = _resized(m, num_features=len(out_idx))
        for key, t in m.state_dict().items():
            getattr(new, key).copy_(t if t.dim() == 0 else t[out_idx])
        return new.train(m.training)
    w = m.weight
    if out_idx is not None:
        w = w[out_idx]
    if in_idx is not None:
        w = w[:, in_idx]
    if type(m) is nn.Linear:
        new = _resized(m, in_features=w.shape[1], out_features=w.shape[0])
    else:
        new = _resized(m, in_channels=w.shape[1], out_channels=w.shape[0])
    new.weight.copy_(w)
    if m.bias is not None:
        new.bias.copy_(m.bias if out_idx is None else m.bias[out_idx])
    return new.train(m.training)


@torch.no_grad()
def shrink(model: nn.Module, example: torch.Tensor) -> tuple[nn.Module, dict]:
    """Rebuild ``model`` without its removable all-zero channels (:mod:`advkt.pruning.groups`,
    traced on ``example``, a batch of inputs).

    Returns (a smaller copy of the model, ``{"modules": {name: {"type", <new sizes>}},
    "kept": {producer: [channel indices]}}``, JSON-able, for :func:`load_shrunk`). The input
    model is not changed. The shrunk model's outputs on ``example`` are checked against the
    original's in eval mode; a mismatch raises ValueError.
    """
    net = unwrap(model)
    new = copy.deepcopy(net)
    out_idx: dict[str, torch.Tensor] = {}
    in_idx: dict[str, torch.Tensor] = {}
    kept: dict[str, list[int]] = {}
    for g in channel_groups(net, example):
        keep = (~_zero_channels(net, g)).nonzero().flatten()
        if keep.numel() == 0:
            keep = keep.new_zeros(1)  # a zero-width layer is not a valid module; keep one zero
        c = net.get_submodule(g.producer).out_channels
        if keep.numel() == c:
            continue
        kept[g.producer] = keep.tolist()
        out_idx[g.producer] = keep
        if g.bn is not None:
            out_idx[g.bn] = keep
        cols = keep
        if g.factor > 1:
            cols = (keep[:, None] * g.factor + torch.arange(g.factor, device=keep.device)).flatten()
        in_idx[g.consumer] = cols
    shapes = {}
    for name in sorted(set(out_idx) | set(in_idx)):
        small = _sliced(net.get_submodule(name), out_idx.get(name), in_idx.get(name))
        new.set_submodule(name, small)
        shapes[name] = _shape_of(small)
    info = {"modules": shapes, "kept": kept}
    _verify(net, new, example)
    return new, info


def _verify(dense: nn.Module, small: nn.Module, example: torch.Tensor) -> None:
    with eval_mode(dense, small):
        a, b = dense(example), small(example)
    err = (a - b).abs().max().item()
    tol = 1e-4 * max(1.0, a.abs().max().item())
    if not err <= tol:
        raise ValueError(
            f"shrunk model differs from the original by {err:.3g} on the example input: a "
            "removed channel did not carry zeros through the model's forward"
        )


def load_shrunk(
    spec: Mapping[str, Any] | nn.Module,
    shrink_info: Mapping[str, Any] | str | Path,
    state_dict: Mapping[str, torch.Tensor] | str | Path,
) -> nn.Module:
    """Rebuild a shrunk model without running stored code.

    spec: the dense architecture, ``{"name": registered model, **factory kwargs}`` (a model's
    ``spec``) or a dense module to copy; shrink_info: the dict :func:`shrink` returned, or a JSON
    file of it; state_dict: the shrunk weights, or a ``.safetensors`` file of them.
    """
    if isinstance(shrink_info, (str, Path)):
        shrink_info = json.loads(Path(shrink_info).read_text())
    if isinstance(state_dict, (str, Path)):
        from safetensors.torch import load_file

        state_dict = load_file(str(state_dict))
    model = copy.deepcopy(spec) if isinstance(spec, nn.Module) else build_model(dict(spec))
    modules = shrink_info.get("modules")
    if not isinstance(modules, Mapping):
        raise ValueError("shrink info needs a 'modules' mapping {module name: new sizes}")
    for name, shape in modules.items():
        try:
            dense = model.get_submodule(name)
        except AttributeError:
            raise ValueError(f"shrink info names module '{name}', which the model lacks") from None
        if type(dense).__name__ != shape.get("type"):
            raise ValueError(
                f"shrink info says '{name}' is a {shape.get('type')}, "
                f"the model has a {type(dense).__name__}"
            )
        sizes = {k: int(v) for k, v in shape.items() if k != "type"}
        model.set_submodule(name, _resized(dense, **sizes).train(dense.training))
    try:
        model.load_state_dict(dict(state_dict), strict=True)
    except RuntimeError as err:
        raise ValueError(f"weights do not match the shrunk architecture: {err}") from None
    return model
