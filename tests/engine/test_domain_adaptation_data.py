"""Semi-supervised domain adaptation through the engine: domain tags, target shots and the
batches' domain shares."""

from __future__ import annotations

import pytest
import torch

from advkt.data.base import TensorData
from advkt.engine.batches import domain_order
from advkt.engine.splits import target_shots
from advkt.recipe import RecipeError, load_recipe


def _da(n_src=40, n_tgt=30, classes=3) -> TensorData:
    y = torch.cat([torch.arange(n_src) % classes, torch.arange(n_tgt) % classes])
    dom = torch.cat([torch.zeros(n_src, dtype=torch.long), torch.ones(n_tgt, dtype=torch.long)])
    return TensorData(torch.randn(n_src + n_tgt, 1, 4), y, classes, name="da", domain=dom)


def test_target_shots_keep_k_labels_per_class_and_hold_out_validation_shots():
    data = _da()
    train, val = target_shots(data, 2, 3, seed=1)
    assert len(val) == 9 and bool((val.domain == 1).all()) and val.y.bincount().tolist() == [3] * 3
    tgt = train.domain == 1
    assert bool((train.y[~tgt] >= 0).all())  # the source keeps every label
    labelled = train.y[tgt][train.y[tgt] >= 0]
    assert labelled.bincount().tolist() == [2, 2, 2] and int((train.y[tgt] < 0).sum()) == 30 - 6 - 9
    # disjoint: no validation sample is in training; other seeds draw other shots
    assert len(train) + len(val) == len(data)
    other, _ = target_shots(data, 2, 3, seed=2)
    assert not torch.equal(other.y, train.y)
    with pytest.raises(Exception, match="fewer than 9 shots"):
        target_shots(data, 9, 3, seed=1)


def test_domain_batches_hold_source_labelled_and_unlabelled_target_shares():
    data = _da(n_src=64, n_tgt=40)
    train, _ = target_shots(data, 2, 3, seed=0)
    order, steps = domain_order(train.domain, train.y, 16, torch.Generator().manual_seed(0))
    assert steps == 64 // 4 and order.numel() == steps * 16
    for block in order.view(steps, 16):
        dom, y = train.domain[block], train.y[block]
        assert int((dom == 0).sum()) == 4 and int(((dom == 1) & (y >= 0)).sum()) == 4
        assert int(((dom == 1) & (y < 0)).sum()) == 8
    src = order.view(steps, 16)[:, :4].flatten()
    assert sorted(src.tolist()) == sorted((train.domain == 0).nonzero().flatten().tolist())


def test_target_shots_need_domain_tags_and_no_other_hold_out(tmp_path):
    from advkt.engine.splits import load_splits
    from tests.engine.toy import toy_recipe

    tree = toy_recipe(tmp_path, "student")
    tree["data"]["target_shots"] = 1
    with pytest.raises(RecipeError, match="needs a domain-adaptation dataset"):
        load_splits(load_recipe(base=tree))
    tree["data"]["validation"] = 0.1
    with pytest.raises(RecipeError, match="leave data.validation at 0"):
        load_splits(load_recipe(base=tree))


def test_s_plus_t_trains_on_office_caltech_through_the_engine(shared_data, tmp_path):
    from advkt.engine.trainer import train

    tree = {
        "data": {
            "dataset": "ssda",
            "root": str(shared_data),
            "args": {"family": "office_caltech", "source": "amazon", "target": "webcam"},
            "target_shots": 3,
        },
        "method": {"name": "student"},
        "student": {"model": "mlp", "args": {"in_size": 800, "ndim": 1, "hidden": [64]}},
        "train": {"epochs": 2, "batch_size": 32, "optimizer": {"name": "adam", "lr": 1e-3}},
        "out": str(tmp_path),
    }
    s = train(load_recipe(base=tree), run_dir=tmp_path / "run", quiet=True)
    assert s["val_acc"] is not None and 0 <= s["test_acc"] <= 100
    assert s["test_acc"] > 20  # ten classes: well above chance after two passes over amazon


def test_unsupervised_adaptation_has_no_target_labels_and_no_validation():
    data = _da(n_src=32, n_tgt=24)
    train, val = target_shots(data, 0, 0, seed=0)
    assert val is None and bool((train.y[train.domain == 1] < 0).all())
    order, steps = domain_order(train.domain, train.y, 16, torch.Generator().manual_seed(0))
    block = order.view(steps, 16)[0]
    assert int((train.domain[block] == 0).sum()) == 8  # the shots' share goes to the source
