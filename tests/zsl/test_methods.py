"""The zero-shot methods on a task the test draws: features a fixed linear map of the class
semantics plus noise, 12 classes of which 2 unseen (semantics of 4 dimensions, which the ten
seen classes span). Each method must place the unseen test
features well above chance (50 % between the 2 unseen classes), and the measures must agree
with their definitions."""

from __future__ import annotations

import numpy as np
import pytest

from advkt.zsl.afrnet import AFRNet, selection_errors
from advkt.zsl.eszsl import ESZSL
from advkt.zsl.fclswgan import FCLSWGAN
from advkt.zsl.task import ZSLTask, evaluate


def _task(seed: int = 0, n: int = 60, d: int = 12, a: int = 4) -> ZSLTask:
    rng = np.random.default_rng(seed)
    sem = rng.normal(size=(12, a))
    sem = (sem / np.linalg.norm(sem, axis=1, keepdims=True)).astype(np.float32)  # as xlsa17
    w = rng.normal(size=(a, d))
    labels = np.repeat(np.arange(12), n)
    x = np.maximum(sem[labels] @ w + 0.2 * rng.normal(size=(len(labels), d)), 0)
    x = (x / x.max(0)).astype(np.float32)
    seen = labels < 10
    rows = np.arange(len(labels))
    train = rows[seen & (rows % n < n * 3 // 4)]
    return ZSLTask(x, labels, sem, train, rows[seen & (rows % n >= n * 3 // 4)], rows[~seen])


# small, fast settings (lr 1e-3 and beta 1: a few hundred generator steps learn the toy)
FAST = dict(hidden=64, n_iter=300, n_critic=2, n_synth=60, clf_epochs=30, lr=1e-3, beta=1.0)


@pytest.mark.parametrize(
    "method",
    [
        ESZSL(reg=1.0),
        FCLSWGAN(**FAST),
        AFRNet(**FAST),
        AFRNet(residual=False, **FAST),
        AFRNet(keep=1.0, **FAST),
    ],  # fmt: skip
    ids=["eszsl", "fclswgan", "afrnet", "afrnet-no-residual", "afrnet-no-selection"],
)
def test_each_method_tells_the_unseen_classes_apart(method):
    task = _task()
    r = evaluate(method.fit(task, seed=0), task)
    assert set(r) == {"zsl_top1", "gzsl_u", "gzsl_s", "gzsl_h"}
    assert r["zsl_top1"] >= 75, r  # chance: 50
    assert 0 <= r["gzsl_u"] <= 100 and r["gzsl_s"] >= 50, r  # 12 classes: chance 8.3 on S
    if r["gzsl_u"] + r["gzsl_s"] > 0:
        assert r["gzsl_h"] == pytest.approx(
            2 * r["gzsl_u"] * r["gzsl_s"] / (r["gzsl_u"] + r["gzsl_s"])
        )


def test_predictions_range_over_the_unseen_classes_for_zsl_and_all_classes_for_gzsl():
    task = _task()
    m = ESZSL().fit(task)
    x = task.features[task.test_unseen]
    assert set(np.unique(m.predict_zsl(x))) <= {10, 11}
    assert set(np.unique(m.predict_gzsl(task.features))) <= set(range(12))


def test_a_generative_method_is_seeded():
    task = _task()
    a = FCLSWGAN(**FAST).fit(task, seed=3).predict_gzsl(task.features)
    b = FCLSWGAN(**FAST).fit(task, seed=3).predict_gzsl(task.features)
    assert (a == b).all()


def test_feature_selection_drops_the_dimensions_the_semantics_do_not_predict():
    rng = np.random.default_rng(0)
    sem = rng.normal(size=(8, 5))
    means = np.concatenate([sem @ rng.normal(size=(5, 3)), rng.normal(size=(8, 3))], axis=1)
    err = selection_errors(means, sem, ridge=0.1)
    assert err[:3].max() < err[3:].min()  # the first three are linear in the semantics
    task = _task()
    m = AFRNet(keep=0.5, **FAST).fit(task)
    assert len(m.dims_) == 6 and m.transform(task.features).shape == (len(task.labels), 6)


def test_validation_split_holds_seen_classes_out_as_unseen():
    task = _task()
    v = task.validation(1, seed=0)
    held = v.unseen_classes
    assert len(held) == 1 and held[0] in task.seen_classes
    assert not np.isin(v.labels[v.trainval], held).any()
    assert np.isin(v.labels[v.test_seen], v.seen_classes).all()
    rows = np.concatenate([v.trainval, v.test_seen, v.test_unseen])
    assert sorted(rows.tolist()) == sorted(task.trainval.tolist())  # inside the training rows
    with pytest.raises(ValueError, match="cannot be held out"):
        task.validation(10)


def test_bad_arguments_are_one_line_errors():
    with pytest.raises(ValueError, match="reg must be > 0"):
        ESZSL(reg=0)
    with pytest.raises(ValueError, match="keep must be in"):
        AFRNet(keep=0)
