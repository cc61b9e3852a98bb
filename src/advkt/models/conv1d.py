"""1-D CNN for MNIST-1D (Greydanus, "Scaling down deep learning", 2020; the ``ConvBase`` of the
greydanus/mnist1d repository), with its width as a parameter so one family gives both teacher
(e.g. width 64) and student (width 8-16).

Input (N, C_in, L), L = 40 for MNIST-1D. Three stages of one conv - ReLU each:

    h1 = ReLU(conv1d_{k5, s2, p1}(x)),  h2 = ReLU(conv1d_{k3, s2, p1}(h1)),
    h3 = ReLU(conv1d_{k3, s2, p1}(h2)),  logits = W flatten(h3) + b

(L = 40 -> 19 -> 10 -> 5). There is no stem layer: ``Features.stem`` is the input, and
``pooled`` is flatten(h3), (N, width·5). PyTorch's default initialisation, as the reference.
"""

from __future__ import annotations

from torch import nn

from advkt.models._factory import model_factory
from advkt.models._staged import StagedNet


def _out_len(length: int, k: int) -> int:
    return (length + 2 - k) // 2 + 1


@model_factory("cnn1d")
def cnn1d(
    num_classes: int = 10, in_channels: int = 1, width: int = 32, in_size: int = 40
) -> StagedNet:
    """Three-stage 1-D CNN of ``width`` channels on signals of length ``in_size``."""
    if width < 1:
        raise ValueError(f"cnn1d width {width} is invalid: expected an integer >= 1")
    length = _out_len(_out_len(_out_len(in_size, 5), 3), 3)
    if in_size < 4 or length < 1:
        raise ValueError(f"cnn1d in_size {in_size} is too short: expected at least 4")
    stages = [
        [nn.Sequential(nn.Conv1d(in_channels, width, 5, stride=2, padding=1), nn.ReLU())],
        [nn.Sequential(nn.Conv1d(width, width, 3, stride=2, padding=1), nn.ReLU())],
        [nn.Sequential(nn.Conv1d(width, width, 3, stride=2, padding=1), nn.ReLU())],
    ]
    head = nn.Flatten(1)
    fc = nn.Linear(width * length, num_classes)
    return StagedNet(nn.Identity(), stages, head, fc, in_channels, in_dims=1)
