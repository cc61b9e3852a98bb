"""Channel groups: the output channels of a convolution that :func:`~advkt.pruning.shrink.shrink`
can remove physically (see :mod:`advkt.pruning` for the rules of the walk)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from torch import nn

from advkt.distributed import unwrap

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

    walk(unwrap(model), "")
    return groups
