"""Channel groups: the output channels of a convolution that :func:`~advkt.pruning.shrink.shrink`
can remove physically, found on Torch-Pruning's dependency graph.

``torch_pruning.DependencyGraph`` traces one forward pass of an example input and groups every
layer whose channels are coupled to a convolution's output channels (its BatchNorm, the next
layer's input, the other branch of a residual sum, ...). We keep the groups in which the
convolution's channels are removable on their own:

- the convolution is the group's only producer of those channels (a residual sum couples the
  outputs of several convolutions: those groups are left alone);
- at most one BatchNorm follows it, and the channels reach exactly one consumer, a convolution
  of the same kind or a linear layer (through a flatten: ``factor`` = H·W columns per channel);
- everything else on the way is an operation that maps a channel of exact zeros to exact zeros
  (ReLU-like activations, pooling, reshapes; :data:`ZERO_PRESERVING`).

A channel of such a group carries exact zeros when its filter and conv bias are zero and its
BatchNorm maps 0 to 0 (β = 0 and γ·μ = 0); dropping it then leaves the output unchanged.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch_pruning as tp
from torch import nn

from advkt.distributed import unwrap

CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
# autograd nodes (by name prefix) that map a channel of exact zeros to exact zeros
ZERO_PRESERVING = (
    "Relu", "LeakyRelu", "Hardtanh", "Tanh", "Elu", "Gelu", "Silu", "Hardswish", "Mish",
    "MaxPool", "AvgPool", "AdaptiveAvgPool", "AdaptiveMaxPool", "Mean", "T", "View", "Reshape",
    "UnsafeView", "Clone", "Flatten", "Squeeze", "Unsqueeze", "Permute", "Transpose",
)  # fmt: skip


@dataclass(frozen=True)
class ChannelGroup:
    """Output channels of ``producer`` that flow, through ``bn`` and zero-preserving operations,
    into the input of ``consumer`` (a conv, or a linear after a flatten with ``factor`` = H·W
    columns per channel)."""

    producer: str
    bn: str | None
    consumer: str
    factor: int = 1


def _is_plain_conv(m: nn.Module) -> bool:
    return type(m) in CONV_TYPES and m.groups == 1


def _removable(group, root: nn.Module, names: dict[nn.Module, str]) -> ChannelGroup | None:
    producer, bn, consumers = root, None, []
    for dep, idxs in group:
        m, how = dep.target.module, dep.handler.__name__
        if m is root and how == "prune_out_channels":
            continue
        if m in names:  # a layer of the model
            if type(m) in BN_TYPES and bn is None and m.num_features == root.out_channels:
                bn = m
            elif how == "prune_in_channels" and (
                (_is_plain_conv(m) and type(m) is type(root)) or type(m) is nn.Linear
            ):
                consumers.append((m, len(idxs)))
            else:
                return None  # another producer (a residual sum), or a layer we cannot slice
        elif isinstance(dep.target.module, tp.ops._ElementWiseOp):
            if not dep.target.module._grad_fn.startswith(ZERO_PRESERVING):
                return None
        elif not isinstance(dep.target.module, tp.ops._ReshapeOp):
            return None
    if len(consumers) != 1:
        return None
    consumer, n_in = consumers[0]
    factor, rest = divmod(n_in, producer.out_channels)
    if rest or (factor != 1 and type(consumer) is not nn.Linear):
        return None
    return ChannelGroup(
        names[producer], names[bn] if bn is not None else None, names[consumer], factor
    )


def channel_groups(model: nn.Module, example: torch.Tensor) -> list[ChannelGroup]:
    """The removable channel groups of ``model`` (module doc), traced on ``example`` (a batch of
    inputs) in eval mode on a copy: the model itself is not run."""
    net = copy.deepcopy(unwrap(model)).eval()
    names = {m: n for n, m in net.named_modules() if n}
    with torch.enable_grad():  # the graph is traced through autograd
        graph = tp.DependencyGraph().build_dependency(net, example_inputs=example.detach())
    groups = []
    for m in names:
        if _is_plain_conv(m):
            g = _removable(
                graph.get_pruning_group(m, tp.prune_conv_out_channels, list(range(m.out_channels))),
                m,
                names,
            )
            if g is not None:
                groups.append(g)
    return groups
