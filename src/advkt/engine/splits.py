"""A recipe's data: its train/test splits, the validation hold-out, budget subsets and which
training labels a semi-supervised run may read."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from advkt.data import load as load_data
from advkt.data.base import DataError, TensorData
from advkt.recipe import Recipe, RecipeError


@dataclass
class Data:
    train: TensorData
    test: TensorData
    val: TensorData | None = None  # a hold-out of the training split (``data.validation``)


def load_splits(recipe: Recipe) -> Data:
    d = recipe.data
    if d.target_shots is not None and (d.validation > 0 or d.labelled_fraction < 1):
        raise RecipeError(
            "data.target_shots draws the labelled and validation samples of the target itself: "
            "leave data.validation at 0 and data.labelled_fraction at 1"
        )
    train = load_data(d.dataset, d.root, "train", **d.args)
    test = load_data(d.dataset, d.root, "test", **d.args)
    # budget subsets and the validation hold-out: fixed shuffles, the same for every seed/method
    g = torch.Generator().manual_seed(0)
    val = None
    if d.validation > 0:
        order = torch.randperm(len(train), generator=g)
        n_val = max(1, round(d.validation * len(train)))
        train, val = train.subset(order[n_val:]), train.subset(order[:n_val])
    if d.target_shots is not None:
        train, val = target_shots(train, d.target_shots, d.target_val_shots, recipe.seed)
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


def target_shots(
    train: TensorData, shots: int, val_shots: int, seed: int
) -> tuple[TensorData, TensorData | None]:
    """Domain adaptation: of the target samples (``domain == 1``), keep the labels of ``shots``
    per class (0: unsupervised adaptation), hold out ``val_shots`` per class (labelled) as the
    validation split (0: none), and mark the others unlabelled (-1); the source keeps every
    label. Drawn by ``seed``; returns (train, validation or None)."""
    if train.domain is None:
        raise RecipeError(
            "data.target_shots needs a domain-adaptation dataset (domain tags), e.g. 'ssda'"
        )
    g = torch.Generator().manual_seed(20_000 + seed)
    target = train.domain == 1
    kept, held = [], []
    for c in range(train.num_classes):
        idx = (target & (train.y == c)).nonzero().flatten()
        if len(idx) < shots + val_shots:
            raise DataError(
                f"{train.name}: class {c} has {len(idx)} target samples, fewer than "
                f"{shots} shots + {val_shots} validation shots"
            )
        idx = idx[torch.randperm(len(idx), generator=g)]
        kept.append(idx[:shots])
        held.append(idx[shots : shots + val_shots])
    val_idx = torch.cat(held)
    y = train.y.clone()
    unlabelled = target.clone()
    unlabelled[torch.cat(kept)] = False
    y[unlabelled] = -1
    rest = torch.ones(len(train), dtype=torch.bool)
    rest[val_idx] = False
    out = train.subset(rest.nonzero().flatten())
    out.y = y[rest]
    return out, (train.subset(val_idx.sort().values) if len(val_idx) else None)
