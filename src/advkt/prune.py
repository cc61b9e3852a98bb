"""Pruning machinery: proximal operators, masks, sparsity accounting and physical shrinking.

Prunable weights are the ``weight`` tensors of convolutions and linear layers (never biases or
normalisation parameters). With Ω the set of prunable weights,
    sparsity = #{w ∈ Ω : w = 0} / |Ω|,   compression rate = |Ω| / #{w ∈ Ω : w ≠ 0}.

Proximal gradient steps of Lee & Lee 2021 (robust_compression.md), after each gradient step of
size η on the loss, with threshold t = η·λ:
- ℓ1 (unstructured), R(W) = ‖W‖₁:  prox(w) = sign(w)·max(|w| − t, 0);
- group lasso (structured), R(W) = Σ_g ‖w_g‖₂ over the output filters g of a convolution:
  prox(w_g) = w_g·max(0, 1 − t/‖w_g‖₂)  (a zero group stays zero).

Structured pruning only touches the *channel groups* that :func:`shrink` can physically remove:
a convolution whose output reaches exactly one next convolution or linear layer through
channel-wise modules. They are found by walking module names:
(a) along a sequential chain: conv → [BatchNorm] → [ReLU/Tanh/pooling/dropout ...] → conv, or
    → ``nn.Flatten`` → linear (the linear's input columns come in blocks of H·W per channel).
    A chain is an ``nn.Sequential`` with nested sequences unrolled, or an ``advkt.models``
    backbone (children ``stem``, ``stages``, ``head``, ``fc``: stem, every block in order, head,
    fc); a ``Dense`` child (one ``linear``, applied to the flattened input) counts as
    flatten → linear. This covers LeNet-5, VGG and the digit CNNs;
(b) inside a residual block, a module with children ``conv1``, ``conv2`` (, ``conv3``): the
    pair conv_i → conv_{i+1} through the BatchNorm registered between them (``bn1`` after a
    post-activation ``conv1``, ``bn2`` in a pre-activation block); the block's last conv, which
    feeds the residual sum, keeps its width. The activation between them in ``forward`` is
    assumed to map 0 to 0 (ReLU).
A channel is removable when its filter and conv bias are zero and its BatchNorm maps 0 to 0
(β = 0 and γ·μ = 0): then it carries exact zeros and dropping it does not change the output.
:func:`filter_masks` zeros whole channels (filter, bias, γ, β) so that this holds.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
# Channel-wise modules that map a channel of exact zeros to exact zeros.
PASS_TYPES = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.Tanh, nn.ELU, nn.GELU, nn.SiLU, nn.Hardtanh,
    nn.Hardswish, nn.Mish, nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d,
    nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
    nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
    nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d,
)  # fmt: skip


def _unwrap(model: nn.Module) -> nn.Module:
    if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
        return model.module
    return model


def prunable_weights(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """(name, weight) of every conv and linear layer, each shared tensor once."""
    out, seen = [], set()
    for name, mod in _unwrap(model).named_modules():
        if isinstance(mod, (nn.modules.conv._ConvNd, nn.Linear)) and mod.weight is not None:
            if id(mod.weight) not in seen:
                seen.add(id(mod.weight))
                out.append((f"{name}.weight" if name else "weight", mod.weight))
    return out


# ----------------------------------------------------------------------------- proximal operators
def prox_l1(w: torch.Tensor, thresh: float) -> torch.Tensor:
    """Soft threshold, the proximal map of t·‖·‖₁: sign(w)·max(|w| − t, 0)."""
    if thresh < 0:
        raise ValueError(f"prox_l1 threshold must be >= 0, got {thresh}")
    return w.sign() * (w.abs() - thresh).clamp_min(0)


def prox_group_lasso(w: torch.Tensor, thresh: float, dim: int = 0) -> torch.Tensor:
    """Block soft threshold, the proximal map of t·Σ_g ‖w_g‖₂ with groups the slices along ``dim``.

    w_g ← w_g·max(0, 1 − t/‖w_g‖₂); for a (C_out, C_in, k, k) conv weight and dim=0 a group is
    one output filter. A group with ‖w_g‖₂ ≤ t (the zero group included) becomes zero.
    """
    if thresh < 0:
        raise ValueError(f"prox_group_lasso threshold must be >= 0, got {thresh}")
    dim = dim % w.dim()
    other = [d for d in range(w.dim()) if d != dim]
    norms = torch.linalg.vector_norm(w, dim=other, keepdim=True) if other else w.abs()
    scale = torch.where(norms > thresh, 1 - thresh / norms.clamp_min(1e-30), 0.0)
    return w * scale


@torch.no_grad()
def apply_proximal(model: nn.Module, lr: float, lam: float, kind: str = "l1") -> None:
    """In place, the proximal step with threshold t = lr·lam after a gradient step of size lr.

    kind "l1": soft-threshold every prunable weight. kind "group": block soft-threshold the
    output filters of each convolution that heads a removable channel group (see module doc).
    """
    thresh = lr * lam
    if kind == "l1":
        for _, w in prunable_weights(model):
            w.copy_(prox_l1(w, thresh))
    elif kind == "group":
        net = _unwrap(model)
        for g in channel_groups(net):
            w = net.get_submodule(g.producer).weight
            w.copy_(prox_group_lasso(w, thresh, dim=0))
    else:
        raise ValueError(f"apply_proximal kind must be 'l1' or 'group', got '{kind}'")


# ------------------------------------------------------------------------- masks and accounting
def target_sparsity(sparsity: float | None, rate: float | None) -> float:
    if (sparsity is None) == (rate is None):
        raise ValueError("give exactly one of sparsity (fraction of zeros) or rate (total/nonzero)")
    if rate is not None:
        if not rate >= 1:
            raise ValueError(f"compression rate must be >= 1, got {rate}")
        sparsity = 1 - 1 / rate
    if not 0 <= sparsity < 1:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    return sparsity


def keep_count(n: int, sparsity: float) -> int:
    """How many of n weights a target sparsity keeps: round(n·(1 − s)), at least 1."""
    return max(1, min(n, round(n * (1 - sparsity))))


def topk_mask(w: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean mask of exactly the k largest |w| (ties broken by index order of topk)."""
    flat = torch.zeros(w.numel(), dtype=torch.bool, device=w.device)
    flat[w.detach().abs().flatten().topk(k).indices] = True
    return flat.view_as(w)


@torch.no_grad()
def magnitude_masks(
    model: nn.Module,
    sparsity: float | None = None,
    rate: float | None = None,
    scope: str = "global",
) -> dict[str, torch.Tensor]:
    """Magnitude-pruning masks {weight name: bool tensor} for a target sparsity or rate.

    scope "global": keep the k = round(|Ω|·(1 − s)) largest |w| over all prunable weights;
    "layer": keep round(n_l·(1 − s)) in each layer l. Apply with :func:`apply_masks`.
    """
    s = target_sparsity(sparsity, rate)
    params = prunable_weights(model)
    if not params:
        raise ValueError("model has no prunable (conv or linear) weights")
    if scope == "layer":
        return {n: topk_mask(w, keep_count(w.numel(), s)) for n, w in params}
    if scope != "global":
        raise ValueError(f"magnitude_masks scope must be 'global' or 'layer', got '{scope}'")
    flat = torch.cat([w.detach().abs().flatten().float() for _, w in params])
    keep = topk_mask(flat, keep_count(flat.numel(), s))
    out, i = {}, 0
    for n, w in params:
        out[n] = keep[i : i + w.numel()].view_as(w)
        i += w.numel()
    return out


@torch.no_grad()
def filter_masks(model: nn.Module, sparsity: float | None = None) -> dict[str, torch.Tensor]:
    """Structured masks that zero whole removable channels (filter, conv bias, BN γ and β).

    sparsity None: mask the channels whose filter is already zero (after group-lasso training).
    Otherwise, in each removable channel group, mask the round(C·s) filters of smallest ‖w_g‖₂
    (at least one filter stays). Apply with :func:`apply_masks`, then :func:`shrink`.
    """
    if sparsity is not None and not 0 <= sparsity < 1:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    net = _unwrap(model)
    masks: dict[str, torch.Tensor] = {}
    for g in channel_groups(net):
        conv = net.get_submodule(g.producer)
        norms = conv.weight.detach().flatten(1).norm(dim=1)
        if sparsity is None:
            keep = norms != 0
        else:
            keep = topk_mask(norms, keep_count(norms.numel(), sparsity))
        shape = (-1,) + (1,) * (conv.weight.dim() - 1)
        masks[f"{g.producer}.weight"] = keep.view(shape).expand_as(conv.weight).clone()
        if conv.bias is not None:
            masks[f"{g.producer}.bias"] = keep.clone()
        if g.bn is not None and net.get_submodule(g.bn).affine:
            masks[f"{g.bn}.weight"] = keep.clone()
            masks[f"{g.bn}.bias"] = keep.clone()
    return masks


@torch.no_grad()
def apply_masks(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> None:
    """In place, w ← w ⊙ m for every parameter named in ``masks``."""
    params = dict(_unwrap(model).named_parameters())
    unknown = sorted(set(masks) - set(params))
    if unknown:
        raise ValueError(f"masks name parameters the model does not have: {', '.join(unknown)}")
    for name, m in masks.items():
        p = params[name]
        if m.shape != p.shape:
            raise ValueError(
                f"mask for '{name}' has shape {tuple(m.shape)}, the weight {tuple(p.shape)}"
            )
        p.mul_(m.to(device=p.device, dtype=p.dtype))


def count_weights(model: nn.Module) -> tuple[int, int]:
    """(total, non-zero) prunable weights."""
    params = prunable_weights(model)
    total = sum(w.numel() for _, w in params)
    nonzero = sum(int(torch.count_nonzero(w)) for _, w in params)
    return total, nonzero


def sparsity(model: nn.Module) -> float:
    """Fraction of prunable weights that are exactly zero."""
    total, nonzero = count_weights(model)
    return (total - nonzero) / total if total else 0.0


def compression_rate(model: nn.Module) -> float:
    """Total prunable weights / non-zero prunable weights (inf when all are zero)."""
    total, nonzero = count_weights(model)
    return total / nonzero if nonzero else math.inf


# --------------------------------------------------------------------- channel groups, shrinking
@dataclass(frozen=True)
class ChannelGroup:
    """Output channels of ``producer`` that flow, through ``bn`` and channel-wise modules, into
    the input of ``consumer`` (a conv, or a linear after a flatten with ``factor`` = H·W columns
    per channel)."""

    producer: str
    bn: str | None
    consumer: str
    factor: int = 1


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _is_plain_conv(m: nn.Module | None) -> bool:
    return type(m) in CONV_TYPES and m.groups == 1


def _is_staged(m: nn.Module) -> bool:
    """A stem -> stages of blocks -> head -> fc net (``advkt.models`` backbones)."""
    kids = dict(m.named_children())
    return set(kids) == {"stem", "stages", "head", "fc"} and all(
        isinstance(s, nn.ModuleList) for s in kids["stages"]
    )


def _is_dense(m: nn.Module) -> bool:
    """A fully connected layer on flattened input: its one child is ``linear`` (Linear)."""
    kids = dict(m.named_children())
    return (
        type(m).__name__ == "Dense"
        and set(kids) == {"linear"}
        and type(kids["linear"]) is nn.Linear
        and not list(m.parameters(recurse=False))
    )


def _chain(m: nn.Module, name: str) -> list[tuple[str, nn.Module]]:
    """The modules that ``m`` applies one after the other, nested sequences unrolled; a module
    of unknown structure (a residual block, ...) stays one opaque element."""
    if isinstance(m, nn.Sequential):
        return [e for n, c in m.named_children() for e in _chain(c, _join(name, n))]
    if _is_staged(m):
        out = _chain(m.stem, _join(name, "stem"))
        for s, stage in enumerate(m.stages):
            for b, block in enumerate(stage):
                out += _chain(block, _join(name, f"stages.{s}.{b}"))
        return out + _chain(m.head, _join(name, "head")) + _chain(m.fc, _join(name, "fc"))
    if _is_dense(m):
        return [(f"{name}(flatten)", nn.Flatten(1)), (_join(name, "linear"), m.linear)]
    return [(name, m)]


def _follow(chain: list[tuple[str, nn.Module]], p: int) -> ChannelGroup | None:
    """The channel group headed by the conv at chain[p], or None if its outputs go elsewhere."""
    producer, conv = chain[p]
    bn, flat = None, False
    for name, m in chain[p + 1 :]:
        if type(m) in BN_TYPES and bn is None and not flat and m.num_features == conv.out_channels:
            bn = name
        elif isinstance(m, PASS_TYPES):
            continue
        elif type(m) is nn.Flatten and m.start_dim == 1 and not flat:
            flat = True
        elif _is_plain_conv(m) and not flat and m.in_channels == conv.out_channels:
            return ChannelGroup(producer, bn, name) if type(m) is type(conv) else None
        elif type(m) is nn.Linear and flat and m.in_features % conv.out_channels == 0:
            return ChannelGroup(producer, bn, name, m.in_features // conv.out_channels)
        else:
            return None
    return None


_BLOCK_CHILD = re.compile(r"(conv|bn|relu|act|drop|dropout)\d*")


def _block_groups(m: nn.Module, name: str) -> list[ChannelGroup]:
    """conv_i -> conv_{i+1} pairs inside a residual block (children conv1, conv2, ...)."""
    kids = dict(m.named_children())
    chain = [(_join(name, n), c) for n, c in m.named_children() if _BLOCK_CHILD.fullmatch(n)]
    names = [n for n, _ in chain]
    groups, i = [], 1
    while _is_plain_conv(kids.get(f"conv{i + 1}")):
        g = _follow(chain, names.index(_join(name, f"conv{i}")))
        if g is not None and g.consumer == _join(name, f"conv{i + 1}"):
            groups.append(g)
        i += 1
    return groups


def channel_groups(model: nn.Module) -> list[ChannelGroup]:
    """The removable channel groups of a model, found by walking module names (module doc)."""
    groups: list[ChannelGroup] = []

    def walk(m: nn.Module, name: str) -> None:
        if isinstance(m, nn.Sequential) or _is_staged(m):
            chain = _chain(m, name)
            for p, (_, c) in enumerate(chain):
                if _is_plain_conv(c):
                    g = _follow(chain, p)
                    if g is not None:
                        groups.append(g)
            for n, c in chain:
                if not (isinstance(c, PASS_TYPES) or type(c) in CONV_TYPES + BN_TYPES):
                    walk(c, n)
            return
        kids = dict(m.named_children())
        if _is_plain_conv(kids.get("conv1")) and _is_plain_conv(kids.get("conv2")):
            groups.extend(_block_groups(m, name))
        for n, c in kids.items():
            walk(c, _join(name, n))

    walk(_unwrap(model), "")
    return groups


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
def shrink(model: nn.Module, example: torch.Tensor | None = None) -> tuple[nn.Module, dict]:
    """Rebuild ``model`` without its removable all-zero channels (see the module doc).

    Returns (a smaller copy of the model, ``{"modules": {name: {"type", <new sizes>}},
    "kept": {producer: [channel indices]}}``, JSON-able, for :func:`load_shrunk`). The input
    model is not changed. With ``example`` (a batch of inputs), the shrunk model's outputs are
    checked against the original's in eval mode, and a mismatch (a block whose ``forward``
    does not follow the naming convention) raises ValueError.
    """
    net = _unwrap(model)
    new = copy.deepcopy(net)
    out_idx: dict[str, torch.Tensor] = {}
    in_idx: dict[str, torch.Tensor] = {}
    kept: dict[str, list[int]] = {}
    for g in channel_groups(net):
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
    if example is not None:
        _verify(net, new, example)
    return new, info


def _verify(dense: nn.Module, small: nn.Module, example: torch.Tensor) -> None:
    modes = [(m, m.training) for m in list(dense.modules()) + list(small.modules())]
    dense.eval()
    small.eval()
    try:
        a, b = dense(example), small(example)
    finally:
        for m, mode in modes:
            m.training = mode
    err = (a - b).abs().max().item()
    tol = 1e-4 * max(1.0, a.abs().max().item())
    if not err <= tol:
        raise ValueError(
            f"shrunk model differs from the original by {err:.3g} on the example input; a "
            "module's forward does not follow the conv → bn → conv naming that shrink assumes"
        )


def _build(spec: Mapping[str, Any] | nn.Module) -> nn.Module:
    if isinstance(spec, nn.Module):
        return copy.deepcopy(spec)
    from advkt.registry import MODELS

    if "name" not in spec:
        raise ValueError(f"model spec needs a 'name' key, got keys {sorted(spec)}")
    kwargs = {k: v for k, v in spec.items() if k != "name"}
    return MODELS.get(spec["name"])(**kwargs)


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
    model = _build(spec)
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
