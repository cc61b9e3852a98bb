"""Integration: a backbone learns real digits (MNIST from ../shared/data)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from advkt.models import build_model
from advkt.registry import DATASETS


@pytest.mark.slow
def test_lenet5_learns_mnist_in_two_short_passes(shared_data):
    data = DATASETS.get("mnist")(shared_data, "train")
    x = data.x.float().div(255).sub(data.mean[0]).div(data.std[0])
    # held-out images come from the train split: the test split is never looked at here
    train, held_out = slice(0, 6000), slice(50000, 51000)
    torch.manual_seed(0)
    net = build_model({"name": "lenet5"})
    opt = torch.optim.Adam(net.parameters(), 2e-3)
    xs, ys = x[train], data.y[train]
    for i in list(range(0, 6000, 64)) * 2:  # two passes
        loss = F.cross_entropy(net(xs[i : i + 64]), ys[i : i + 64])
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        acc = (net(x[held_out]).argmax(1) == data.y[held_out]).float().mean().item()
    assert acc > 0.9, acc
