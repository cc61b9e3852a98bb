"""The robust compression method (proximal ℓ1 / group lasso, target rate, masked fine-tuning) and
the ADMM baseline method: losses against a hand computation, proximal steps against their
closed forms, the schedule, and checkpoint round trips."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from advkt.engine import checkpoint as ckpt
from advkt.methods.admm_prune import ADMMPrune
from advkt.methods.base import Batch
from advkt.methods.robust import Robust
from advkt.pruning import compression_rate, count_weights, prunable_weights

ROOT = Path(__file__).resolve().parents[2]


def _net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 6, 3), nn.ReLU(), nn.Flatten(),
        nn.Linear(6 * 4 * 4, 16), nn.ReLU(), nn.Linear(16, 3),
    )  # fmt: skip


def _data(n: int = 16, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, 8, 8, generator=g), torch.randint(0, 3, (n,), generator=g)


def _step(method, opt, x, y, epoch: float = 0.0, lr: float | None = None) -> dict:
    """One engine step: loss, backward, optimiser step, after_step."""
    t = method.teacher(x) if method.teacher is not None and method.teacher_on_batch else None
    opt.zero_grad(set_to_none=True)
    out = method.student_loss(Batch(x=x, y=y, t_logits=t, epoch=epoch))
    out["loss"].backward()
    opt.step()
    method.after_step("student", lr if lr is not None else opt.param_groups[0]["lr"])
    return out


def test_loss_is_weighted_ce_plus_t2_kl_by_hand():
    x, y = _data()
    teacher = _net(5).eval()
    m = Robust(_net(), teacher, 3, x[:2], alpha=0.7, T=3.0)
    out = m.student_loss(Batch(x=x, y=y, t_logits=teacher(x).detach()))
    s, t = m.student(x).double(), teacher(x).double()
    ce = -(s - s.exp().sum(1, keepdim=True).log()).gather(1, y[:, None]).mean()
    p_t = (t / 3).exp() / (t / 3).exp().sum(1, keepdim=True)
    p_s = (s / 3).exp() / (s / 3).exp().sum(1, keepdim=True)
    kl = (p_t * (p_t.log() - p_s.log())).sum(1).mean()
    expected = 0.3 * ce + 0.7 * 9.0 * kl
    assert out["loss"].item() == pytest.approx(expected.item(), rel=1e-4)


def test_alpha_zero_is_plain_ce_and_needs_no_teacher():
    x, y = _data()
    m = Robust(_net(), None, 3, x[:2], alpha=0.0)
    assert not m.teacher_on_batch
    out = m.student_loss(Batch(x=x, y=y))
    assert out["loss"].item() == pytest.approx(F.cross_entropy(m.student(x), y).item(), rel=1e-5)
    with pytest.raises(ValueError, match="needs a teacher"):
        Robust(_net(), None, 3, x[:2], alpha=0.5)


def test_after_step_soft_thresholds_by_exactly_lr_lambda():
    x, y = _data()
    lr, lam = 0.05, 0.4
    m = Robust(_net(), _net(5).eval(), 3, x[:2], lam=lam, kind="l1")
    opt = torch.optim.SGD(m.parameters(), lr=lr)
    # freeze the post-gradient weights by running the step without the proximal map first
    opt.zero_grad()
    m.student_loss(Batch(x=x, y=y, t_logits=m.teacher(x).detach()))["loss"].backward()
    opt.step()
    half = {n: p.detach().clone() for n, p in m.student.named_parameters()}
    m.after_step("student", lr)
    t = lr * lam
    for n, p in m.student.named_parameters():
        w = half[n]
        if n.endswith("weight"):
            moved = w - t * (w > 0).double() + t * (w < 0).double()  # w ∓ t, toward zero
            expected = torch.where(w.abs() > t, moved.float(), torch.zeros_like(w))
            assert torch.allclose(p.detach(), expected, atol=1e-7)
            assert torch.equal(p.detach() == 0, w.abs() <= t)
        else:  # biases are not regularised
            assert torch.equal(p.detach(), w)


def test_after_step_group_lasso_shrinks_filter_norms_by_lr_lambda():
    x, _ = _data()
    lr, lam = 0.1, 2.0
    m = Robust(_net(), None, 3, x[:2], alpha=0.0, lam=lam, kind="group")
    conv = m.student[0]
    with torch.no_grad():
        conv.weight[1].mul_(0.01)  # one filter inside the threshold: it must become exactly zero
    before = conv.weight.detach().clone()
    m.after_step("student", lr)
    t = lr * lam
    for g in range(4):
        norm_before = before[g].norm().item()
        after = conv.weight.detach()[g]
        if norm_before > t:
            assert after.norm().item() == pytest.approx(norm_before - t, rel=1e-5)
            cos = F.cosine_similarity(after.flatten(), before[g].flatten(), dim=0)
            assert cos.item() == pytest.approx(1.0, abs=1e-6)
        else:
            assert torch.count_nonzero(after) == 0
    assert norm_before > 0 and torch.count_nonzero(conv.weight.detach()[1]) == 0
    # the last conv feeds the flatten -> linear: a removable group too; the classifier is not
    assert torch.equal(m.student[7].weight, _net().state_dict()["7.weight"])


@pytest.mark.parametrize("cls", [Robust, ADMMPrune])
def test_target_rate_is_reached_and_masks_stay_through_finetuning(cls):
    x, y = _data(32)
    kw = {"rate": 4.0, "prune_epoch": 1.0}
    kw |= {"lam": 0.2} if cls is Robust else {"update_every": 2, "rho": 0.1}
    m = cls(_net(), None, 3, x[:2], alpha=0.0, **kw)
    opt = torch.optim.Adam(m.parameters(), lr=0.01)
    total, _ = count_weights(m.student)
    for i in range(12):  # epochs 0, 0.25, ..., 2.75: the prune happens at the step of epoch 1
        _step(m, opt, x, y, epoch=i / 4)
        _, nonzero = count_weights(m.student)
        if i / 4 >= 1.0:
            assert bool(m.pruned)
            assert nonzero == round(total / 4)
            masks = m.mask_dict()
            for n, w in prunable_weights(m.student):
                assert torch.count_nonzero(w.detach()[~masks[n]]) == 0
        else:
            assert not bool(m.pruned)
    assert compression_rate(m.student) == pytest.approx(4.0, rel=0.01)


def test_rate_without_prune_epoch_and_bad_arguments_are_errors():
    x, _ = _data()
    with pytest.raises(ValueError, match="prune_epoch"):
        Robust(_net(), None, 3, x[:2], alpha=0.0, rate=5)
    with pytest.raises(ValueError, match="kind"):
        Robust(_net(), None, 3, x[:2], alpha=0.0, kind="l2")
    with pytest.raises(ValueError, match="rate"):
        ADMMPrune(_net(), None, 3, x[:2], prune_epoch=1)


def test_init_from_teacher_copies_weights_and_rejects_another_architecture():
    x, _ = _data()
    teacher = _net(7)
    m = Robust(_net(0), teacher, 3, x[:2], alpha=0.0, init="teacher")
    for a, b in zip(m.student.parameters(), teacher.parameters()):
        assert torch.equal(a, b) and a is not b
    other = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
    with pytest.raises(ValueError, match="architecture"):
        Robust(_net(0), other, 3, x[:2], alpha=0.0, init="teacher")


def test_admm_state_survives_a_checkpoint_round_trip(tmp_path):
    x, y = _data(32)
    m = ADMMPrune(_net(), None, 3, x[:2], rate=4.0, prune_epoch=10, update_every=2, rho=0.1)
    opt = torch.optim.SGD(m.parameters(), lr=0.05)
    for i in range(5):
        _step(m, opt, x, y, epoch=i / 10)
    assert any(torch.count_nonzero(u) for u in m.admm.U.values())
    ckpt.save(tmp_path, "e0001", m, {"name": "toy"}, {"epoch": 1})
    fresh = ADMMPrune(_net(3), None, 3, x[:2], rate=4.0, prune_epoch=10, update_every=2, rho=0.1)
    ckpt.load_method(fresh, ckpt.resolve(tmp_path))
    for n in m.admm.params:
        assert torch.equal(fresh.admm.Z[n], m.admm.Z[n])
        assert torch.equal(fresh.admm.U[n], m.admm.U[n])
    assert int(fresh.admm_steps) == 5
    assert fresh.admm.penalty().item() == pytest.approx(m.admm.penalty().item(), rel=1e-6)
    # both continue identically: the next update (step 6) happens in both
    opt2 = torch.optim.SGD(fresh.parameters(), lr=0.05)
    _step(m, torch.optim.SGD(m.parameters(), lr=0.05), x, y, epoch=0.5)
    _step(fresh, opt2, x, y, epoch=0.5)
    for n in m.admm.params:
        assert torch.allclose(fresh.admm.U[n], m.admm.U[n], atol=1e-6)


def test_masks_survive_a_checkpoint_round_trip(tmp_path):
    x, y = _data(32)
    m = Robust(_net(), None, 3, x[:2], alpha=0.0, rate=5.0, prune_epoch=0.0)
    opt = torch.optim.SGD(m.parameters(), lr=0.05)
    _step(m, opt, x, y, epoch=0.0)
    ckpt.save(tmp_path, "e0001", m, {"name": "toy"}, {"epoch": 1})
    fresh = Robust(_net(3), None, 3, x[:2], alpha=0.0, rate=5.0, prune_epoch=0.0)
    ckpt.load_method(fresh, ckpt.resolve(tmp_path))
    assert bool(fresh.pruned)
    for n, mask in m.mask_dict().items():
        assert torch.equal(fresh.mask_dict()[n], mask)
    # fine-tuning after the resume keeps the same zeros
    _step(fresh, torch.optim.SGD(fresh.parameters(), lr=0.05), x, y, epoch=1.0)
    assert compression_rate(fresh.student) == pytest.approx(compression_rate(m.student))


def test_engine_trains_both_methods_adversarially_on_mnist(shared_data, tmp_path):
    from advkt.engine.evaluation import evaluate_run, load_student
    from advkt.engine.trainer import train
    from advkt.recipe import load_recipe

    small = [
        f"data.root={shared_data}", "data.train_subset=256", "data.test_subset=64",
        "train.epochs=2", "train.batch_size=64", "train.adversarial.steps=2",
        "method.args.prune_epoch=1", "method.args.rate=5", f"out={tmp_path}",
    ]  # fmt: skip
    for recipe, extra in (
        ("recipes/mnist/robust_advprune_lenet5.yaml", []),
        ("recipes/mnist/robust_admm_lenet5.yaml", ["method.args.update_every=2"]),
    ):
        r = load_recipe(recipe, small + extra + ["method.args.init=null", "teacher=null"])
        run = tmp_path / r.name
        train(r, run_dir=run, quiet=True)
        assert compression_rate(load_student(run)) == pytest.approx(5.0, rel=0.01)
        ev = evaluate_run(run, attack="pgd", eps=0.3, steps=3, step_size=0.1, limit=32)
        assert 0 <= ev["robust_acc"] <= ev["clean_acc"] + 100 / 32


@pytest.mark.parametrize(
    "path",
    sorted(str(p) for p in ROOT.glob("recipes/*/robust_*.yaml"))
    + [str(ROOT / "recipes/mnist/teachers/lenet5_pgd.yaml")]
    + [str(ROOT / "recipes/mnist/teachers/lenet5_fast.yaml")],
)
def test_recipes_load_and_build_their_method(path):
    from advkt.models import build_model
    from advkt.recipe import load_recipe
    from advkt.registry import METHODS

    r = load_recipe(path)
    shape = (1, 28, 28) if r.data.dataset == "mnist" else (3, 32, 32)
    spec = {"name": r.student.model, "num_classes": 10, "in_channels": shape[0]}
    teacher = build_model(spec).eval() if r.teacher else None
    method = METHODS.get(r.method.name)(
        build_model(spec), teacher, 10, torch.zeros(2, *shape), **r.method.args
    )
    if r.method.name in ("robust", "admm"):  # every compression recipe trains adversarially
        assert r.train.adversarial is not None and isinstance(method, Robust | ADMMPrune)
