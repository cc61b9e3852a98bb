"""Fast adversarial training (FGSM with a random start, Wong et al. 2020) and its catastrophic-
overfitting stop."""

from __future__ import annotations

import json

import pytest
import torch

from advkt.attacks import attack_batch, pgd, pixel_normalizer
from advkt.engine import overfitting
from advkt.engine.overfitting import CatastrophicOverfitting
from advkt.engine.trainer import train
from advkt.errors import DivergenceError
from advkt.recipe import AdversarialSpec, load_recipe
from tests.engine.toy import toy_recipe


def _adv(tmp_path, attack: str, epochs: int = 2) -> dict:
    tree = toy_recipe(tmp_path, "student", epochs=epochs)
    tree["train"]["adversarial"] = {"attack": attack, "eps": 0.3}
    return tree


def test_fast_attack_is_one_step_of_1_25_eps_from_a_random_start():
    from advkt.data.base import TensorData

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8, 4))
    data = TensorData(torch.randn(16, 1, 8), torch.arange(16) % 4, num_classes=4, name="t")
    x, y = data.x, data.y
    spec = AdversarialSpec(attack="fast", eps=0.3)
    norm = pixel_normalizer(data)
    torch.manual_seed(1)
    got = attack_batch(model, x, y, data, spec)
    torch.manual_seed(1)
    want = pgd(model, x, y, 0.3, 0.375, 1, random_start=True, clamp=None, normalize=norm)
    torch.testing.assert_close(got, norm(want))
    # the step of 1.25 eps from the random start reaches the ball's boundary
    assert 0.3 - 1e-6 <= (want - x).abs().max() <= 0.3 + 1e-6


def test_the_radius_warms_up_linearly_and_the_steps_with_it():
    from advkt.data.base import TensorData

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8, 4))
    data = TensorData(torch.rand(16, 1, 8), torch.arange(16) % 4, num_classes=4, name="t")
    x, y, norm = data.x, data.y, pixel_normalizer(data)
    spec = AdversarialSpec(attack="pgd", eps=0.3, step=0.1, steps=3, eps_warmup_epochs=2.0)
    # a quarter of the way through the warm-up: eps 0.075 and steps of 0.025
    torch.manual_seed(1)
    got = attack_batch(model, x, y, data, spec, epoch=0.5)
    torch.manual_seed(1)
    want = pgd(model, x, y, 0.075, 0.025, 3, random_start=True, clamp=None, normalize=norm)
    torch.testing.assert_close(got, norm(want))
    assert (want - x).abs().max() <= 0.075 + 1e-6
    # the first batch is clean; after the warm-up (and with no epoch given) the full radius
    torch.testing.assert_close(attack_batch(model, x, y, data, spec, epoch=0.0), norm(x))
    for epoch in (2.0, 7.5, None):
        torch.manual_seed(1)
        got = attack_batch(model, x, y, data, spec, epoch=epoch)
        torch.manual_seed(1)
        want = pgd(model, x, y, 0.3, 0.1, 3, random_start=True, clamp=None, normalize=norm)
        torch.testing.assert_close(got, norm(want))


def test_fast_training_logs_pgd_and_fgsm_accuracy_each_epoch(tmp_path):
    r = load_recipe(base=_adv(tmp_path, "fast"))
    train(r, run_dir=tmp_path / "run", quiet=True)
    lines = [json.loads(s) for s in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == 2
    for rec in lines:
        assert 0 <= rec["train_pgd_acc"] <= 100 and 0 <= rec["train_fgsm_acc"] <= 100


def test_the_check_raises_only_on_a_drop_of_more_than_20_points_or_a_50_point_gap():
    overfitting.check({"train_pgd_acc": 40.0, "train_fgsm_acc": 60.0}, 59.0, 3, "kept")
    overfitting.check({"train_pgd_acc": 40.0, "train_fgsm_acc": 89.0}, 40.0, 1, "kept")
    with pytest.raises(CatastrophicOverfitting, match="FGSM accuracy .* 86.0 % but PGD-10 .* 10.0"):
        overfitting.check({"train_pgd_acc": 10.0, "train_fgsm_acc": 86.0}, -1.0, 1, "kept")
    with pytest.raises(
        CatastrophicOverfitting, match="epoch 3: PGD-10 .* fell to 38.0 % from 59.0 %"
    ):
        overfitting.check({"train_pgd_acc": 38.0, "train_fgsm_acc": 90.0}, 59.0, 3, "kept")
    assert issubclass(CatastrophicOverfitting, DivergenceError)


def test_a_collapse_stops_the_run_with_the_epoch_before_as_its_last_checkpoint(
    tmp_path, monkeypatch
):
    seen = iter([50.0, 60.0, 10.0])  # train PGD accuracy after epochs 1, 2, 3: collapse at 3

    def fake(model, data, spec, device, batch_size, autocast, epoch=None):
        return {"train_pgd_acc": next(seen), "train_fgsm_acc": 70.0}

    monkeypatch.setattr("advkt.engine.trainer.attack_accuracies", fake)
    r = load_recipe(base=_adv(tmp_path, "fast", epochs=4))
    with pytest.raises(CatastrophicOverfitting, match=r"epoch 3: .*from 60.0 %.*e0002"):
        train(r, run_dir=tmp_path / "run", quiet=True)
    assert len((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()) == 2


def test_pgd_training_runs_no_check(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("PGD training has no catastrophic-overfitting check")

    monkeypatch.setattr("advkt.engine.trainer.attack_accuracies", boom)
    tree = _adv(tmp_path, "pgd", epochs=1)
    tree["train"]["adversarial"]["steps"] = 2
    train(load_recipe(base=tree), run_dir=tmp_path / "run", quiet=True)


def test_during_a_radius_warm_up_only_the_gap_is_checked(tmp_path, monkeypatch):
    """The PGD accuracy falls as the radius grows: a drop counts from the best full-radius epoch,
    and the check's attacks use the radius the epoch ended at."""
    seen = iter([90.0, 60.0, 55.0, 30.0])  # epoch 1 warms up; epoch 2 ends at the full radius
    radii = []

    def fake(model, data, spec, device, batch_size, autocast, epoch=None):
        from advkt.attacks import at_epoch

        radii.append(round(at_epoch(spec, epoch).eps, 6))
        return {"train_pgd_acc": next(seen), "train_fgsm_acc": 70.0}

    monkeypatch.setattr("advkt.engine.trainer.attack_accuracies", fake)
    tree = _adv(tmp_path, "fast", epochs=5)
    tree["train"]["adversarial"]["eps_warmup_epochs"] = 2
    with pytest.raises(CatastrophicOverfitting, match=r"epoch 4: .*fell to 30.0 % from 60.0 %"):
        train(load_recipe(base=tree), run_dir=tmp_path / "run", quiet=True)
    assert radii == [0.15, 0.3, 0.3, 0.3]
