"""Re-ID on the core: P x K identity batches from the engine, the triplet baseline trained on a
synthetic Market-1501 folder through the engine, and its CMC / mAP read by the retrieval
evaluation."""

from __future__ import annotations

import pytest
import torch

from advkt.losses.triplet import batch_hard_triplet
from advkt.recipe import RecipeError, load_recipe
from tests.reid.synthetic_run import train_and_evaluate


def test_batch_hard_triplet_takes_the_farthest_positive_and_nearest_negative():
    f = torch.tensor([[0.0], [1.0], [3.0], [3.5]])
    y = torch.tensor([0, 0, 1, 1])
    # anchors: 0 -> pos 1 (d 1), neg 2 (d 3); 1 -> pos 0 (1), neg 2 (2); 2 -> pos 3 (0.5),
    # neg 1 (2); 3 -> pos 2 (0.5), neg 1 (2.5); with m = 1: [1+1-3, 1+1-2, 1+.5-2, 1+.5-2.5]+
    assert batch_hard_triplet(f, y, margin=1.0).item() == pytest.approx(0.0)
    assert batch_hard_triplet(f, y, margin=2.0).item() == pytest.approx((0 + 1 + 0.5 + 0) / 4)
    assert batch_hard_triplet(f[:2], y[:2]).item() == 0  # no negative: nothing to learn


def test_the_engine_draws_p_identities_of_k_images(tmp_path, monkeypatch):
    from advkt.engine.trainer import train
    from advkt.methods.student import Student
    from tests.engine.toy import toy_recipe

    seen = []
    real = Student.student_loss
    monkeypatch.setattr(
        Student, "student_loss", lambda self, b: seen.append(b.y.clone()) or real(self, b)
    )
    tree = toy_recipe(tmp_path, "student", epochs=1)
    tree["train"].update(batch_size=8, images_per_identity=2)
    train(load_recipe(base=tree), run_dir=tmp_path / "run", quiet=True)
    assert seen and all(len(y) == 8 for y in seen)
    for y in seen:  # 4 identities, 2 images each
        assert sorted(torch.bincount(y, minlength=4).tolist()) == [2, 2, 2, 2]
    tree["train"]["batch_size"] = 7
    with pytest.raises(RecipeError, match="not a multiple of train.images_per_identity"):
        train(load_recipe(base=tree), run_dir=tmp_path / "run2", quiet=True)


def test_the_baseline_trains_on_a_synthetic_market_folder_and_is_evaluated(tmp_path):
    s, r = train_and_evaluate(tmp_path, "triplet", ids=16, per_cam=3, epochs=2, p=4, k=4)
    assert 0 <= s["test_acc"] <= 100  # identity accuracy on the held-out training images
    assert r["queries"] == 8 * 3  # one query per (test identity, camera)
    assert 0 <= r["mAP"] <= 100 and 0 <= r["rank1"] <= r["rank5"] <= r["rank10"] <= 100
