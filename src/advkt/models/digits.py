"""Small backbones for grey digits (MNIST 28x28, USPS 16x16) and flat inputs.

- ``lenet5`` (LeCun et al., "Gradient-based learning applied to document recognition", 1998), in
  its common modern form with ReLU and max-pooling:
  stem conv5x5(C_in -> 6, pad 2) - ReLU; stages pool2 - conv5x5(6 -> 16) - ReLU |
  pool2 - fc(16·s² -> 120) - ReLU | fc(120 -> 84) - ReLU; classifier fc(84 -> K), with
  s = (in_size/2 - 4)/2 (5 for 28x28, 2 for 16x16).
- ``cnn_small``: a teacher-grade digit CNN: stem conv3x3 (C_in -> w) - BN - ReLU, then three
  stages of one conv3x3 - BN - ReLU with widths w, 2w, 4w, a 2x2 max-pool opening stages 2 and 3
  (28 -> 28, 14, 7), global average pooling, fc(4w -> K).
- ``mlp``: x flattened, hidden layers h_i = ReLU(W_i h_{i-1} + b_i), logits = W h_last + b. Each
  hidden layer is one stage of one block, as (N, h_i, 1).

The MLP has no stem layer: its ``Features.stem`` is the input flattened to (N, D, 1). LeNet-5
and the MLP keep PyTorch's default initialisation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import nn

from advkt.models._dense import Dense, FlattenInput
from advkt.models._factory import model_factory
from advkt.models._staged import StagedNet, global_pool, init_conv_bn


@model_factory("lenet5")
def lenet5(num_classes: int = 10, in_channels: int = 1, in_size: int = 28) -> StagedNet:
    """LeNet-5 for ``in_size`` x ``in_size`` inputs (28 for MNIST, 16 for USPS)."""
    side = (in_size // 2 - 4) // 2
    if side < 1:
        raise ValueError(f"lenet5 in_size {in_size} is too small: expected at least 12")
    stem = nn.Sequential(nn.Conv2d(in_channels, 6, 5, padding=2), nn.ReLU())
    stages = [
        [nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU())],
        [nn.Sequential(nn.MaxPool2d(2), Dense(16 * side * side, 120))],
        [Dense(120, 84)],
    ]
    return StagedNet(stem, stages, nn.Flatten(1), nn.Linear(84, num_classes), in_channels)


def _conv_bn_relu(c_in: int, c_out: int, pool: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = [nn.MaxPool2d(2)] if pool else []
    layers += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
    return nn.Sequential(*layers)


@model_factory("cnn_small")
def cnn_small(num_classes: int = 10, in_channels: int = 1, width: int = 32) -> StagedNet:
    """Three-stage digit CNN with widths ``width``, 2·``width``, 4·``width``."""
    if width < 1:
        raise ValueError(f"cnn_small width {width} is invalid: expected an integer >= 1")
    w = width
    stages = [
        [_conv_bn_relu(w, w)],
        [_conv_bn_relu(w, 2 * w, pool=True)],
        [_conv_bn_relu(2 * w, 4 * w, pool=True)],
    ]
    stem = _conv_bn_relu(in_channels, w)
    net = StagedNet(stem, stages, global_pool(), nn.Linear(4 * w, num_classes), in_channels)
    init_conv_bn(net)
    return net


@model_factory("mlp")
def mlp(
    num_classes: int = 10,
    in_channels: int = 1,
    in_size: int = 28,
    hidden: Sequence[int] = (256, 256, 256),
    ndim: int = 2,
    dropout: float = 0.0,
    input_dropout: float = 0.0,
) -> StagedNet:
    """MLP on inputs (N, ``in_channels``, ``in_size`` [, ``in_size``]): ``ndim`` = 2 for images
    (28 MNIST, 16 USPS), 1 for signals (``in_size=40, ndim=1`` for MNIST-1D); ``hidden`` = widths
    of the hidden layers (one stage each). ``dropout`` after each hidden layer and
    ``input_dropout`` on the input (Hinton et al.'s regularised MNIST teacher: 0.5 and 0.2)."""
    if ndim not in (1, 2):
        raise ValueError(f"mlp ndim {ndim} is invalid: expected 1 (signals) or 2 (images)")
    if not (0.0 <= dropout < 1.0 and 0.0 <= input_dropout < 1.0):
        raise ValueError(
            f"mlp dropout {dropout} / input_dropout {input_dropout} is invalid: expected [0, 1)"
        )
    if not hidden or any(int(h) < 1 for h in hidden):
        raise ValueError(f"mlp hidden {list(hidden)} is invalid: expected a non-empty list of >= 1")
    shape = (in_channels,) + (in_size,) * ndim
    d = math.prod(shape)
    blocks = []
    for h in hidden:
        blocks.append([Dense(d, int(h), dropout)])
        d = int(h)
    stem = FlattenInput("mlp", shape)
    if input_dropout > 0:
        stem = nn.Sequential(stem, nn.Dropout(input_dropout))
    return StagedNet(stem, blocks, nn.Flatten(1), nn.Linear(d, num_classes), in_channels, ndim)
