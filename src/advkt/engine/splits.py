"""A recipe's data: its train/test splits, the validation hold-out, budget subsets and which
training labels a semi-supervised run may read."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from advkt.data import load as load_data
from advkt.data.base import TensorData
from advkt.recipe import Recipe


@dataclass
class Data:
    train: TensorData
    test: TensorData
    val: TensorData | None = None  # a hold-out of the training split (``data.validation``)


def load_splits(recipe: Recipe) -> Data:
    d = recipe.data
    train = load_data(d.dataset, d.root, "train", **d.args)
    test = load_data(d.dataset, d.root, "test", **d.args)
    # budget subsets and the validation hold-out: fixed shuffles, the same for every seed/method
    g = torch.Generator().manual_seed(0)
    val = None
    if d.validation > 0:
        order = torch.randperm(len(train), generator=g)
        n_val = max(1, round(d.validation * len(train)))
        train, val = train.subset(order[n_val:]), train.subset(order[:n_val])
    if d.train_subset and d.train_subset < len(train):
        train = train.subset(torch.randperm(len(train), generator=g)[: d.train_subset])
    if d.test_subset and d.test_subset < len(test):
        test = test.subset(torch.randperm(len(test), generator=g)[: d.test_subset])
    return Data(train, test, val)


def labelled_targets(y: torch.Tensor, fraction: float, num_classes: int, seed: int) -> torch.Tensor:
    """Keep the label of a class-stratified ``fraction`` of the samples, set the others to -1."""
    if fraction >= 1.0:
        return y.clone()
    g = torch.Generator().manual_seed(10_000 + seed)
    out = torch.full_like(y, -1)
    for c in range(num_classes):
        idx = (y == c).nonzero().flatten()
        keep = max(1, round(fraction * len(idx)))
        chosen = idx[torch.randperm(len(idx), generator=g)[:keep]]
        out[chosen] = c
    return out
