"""Rank-free 1x1 convolution and batch norm against torch's rank-specific layers."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from advkt.nn import ChannelBatchNorm, Conv1x1


def test_conv1x1_matches_conv_of_each_rank():
    m = Conv1x1(3, 5)
    w, b = m.weight, m.bias
    x2 = torch.randn(2, 3, 4, 6)
    torch.testing.assert_close(m(x2), F.conv2d(x2, w.view(5, 3, 1, 1), b))
    x1 = torch.randn(2, 3, 7)
    torch.testing.assert_close(m(x1), F.conv1d(x1, w.view(5, 3, 1), b))
    x0 = torch.randn(2, 3)
    torch.testing.assert_close(m(x0), x0 @ w.T + b)
    with pytest.raises(ValueError, match=r"\(N, 3, \*S\)"):
        m(torch.randn(2, 4, 5))


def test_channel_batchnorm_matches_batchnorm2d():
    torch.manual_seed(0)
    ours, ref = ChannelBatchNorm(3), nn.BatchNorm2d(3)
    with torch.no_grad():
        ours.weight.uniform_(0.5, 1.5)
        ours.bias.uniform_(-1, 1)
        ref.weight.copy_(ours.weight)
        ref.bias.copy_(ours.bias)
    x = torch.randn(4, 3, 5, 5) * 2 + 1
    torch.testing.assert_close(ours(x), ref(x))
    torch.testing.assert_close(ours.running_mean, ref.running_mean)
    torch.testing.assert_close(ours.running_var, ref.running_var)
    ours.eval()
    ref.eval()
    torch.testing.assert_close(ours(x), ref(x))
    assert ours(torch.randn(4, 3, 6)).shape == (4, 3, 6)
