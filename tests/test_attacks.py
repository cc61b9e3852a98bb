"""FGSM / PGD: bounds, strength ordering, targeted moves, hand-computed FGSM, mode and gradient
hygiene, normalisation inside the attack, autocast, DDP and robust accuracy."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from advkt.attacks import fgsm, pgd, robust_accuracy


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small matrices: one thread is faster than two on a shared 2-core machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _idx(path: Path, n: int) -> np.ndarray:
    """The first n items of a gzip IDX file: magic (0, 0, dtype 0x08, ndim), big-endian int32
    dims, then uint8 data; only the bytes needed are decompressed."""
    with gzip.open(path, "rb") as f:
        head = f.read(4)
        ndim = head[3]
        dims = [int.from_bytes(f.read(4), "big") for _ in range(ndim)]
        dims[0] = min(n, dims[0])
        data = f.read(int(np.prod(dims)))
    return np.frombuffer(data, dtype=np.uint8).reshape(dims).copy()


@pytest.fixture(scope="module")
def mnist_mlp(shared_data: Path) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """An MLP trained for 4 epochs on 4,000 MNIST images; returns it and 500 test images."""
    raw = shared_data / "mnist" / "MNIST" / "raw"
    xtr = torch.from_numpy(_idx(raw / "train-images-idx3-ubyte.gz", 4000)).float() / 255
    ytr = torch.from_numpy(_idx(raw / "train-labels-idx1-ubyte.gz", 4000).astype(np.int64))
    xte = torch.from_numpy(_idx(raw / "t10k-images-idx3-ubyte.gz", 500)).float() / 255
    yte = torch.from_numpy(_idx(raw / "t10k-labels-idx1-ubyte.gz", 500).astype(np.int64))
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    xtr, xte = xtr[:, None], xte[:, None]
    for _ in range(4):
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 100):
            idx = perm[i : i + 100]
            opt.zero_grad()
            F.cross_entropy(model(xtr[idx]), ytr[idx]).backward()
            opt.step()
    model.zero_grad(set_to_none=True)
    acc = (model(xte).argmax(1) == yte).float().mean().item()
    assert acc > 0.85, f"the test model did not train ({acc:.3f})"
    return model, xte, yte


@torch.no_grad()
def _ce(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return F.cross_entropy(model(x), y).item()


def _assert_valid(x_adv: torch.Tensor, x: torch.Tensor, eps: float, lo=0.0, hi=1.0) -> None:
    assert x_adv.shape == x.shape and not x_adv.requires_grad
    assert (x_adv - x).abs().max().item() <= eps + 1e-6
    assert x_adv.min().item() >= lo and x_adv.max().item() <= hi


@pytest.mark.slow
def test_pgd_stronger_than_fgsm_and_within_bounds(mnist_mlp):
    model, x, y = mnist_mlp
    eps = 0.1
    torch.manual_seed(1)
    x_f = fgsm(model, x, y, eps)
    x_p = pgd(model, x, y, eps, step=0.01, steps=20)
    _assert_valid(x_f, x, eps)
    _assert_valid(x_p, x, eps)
    clean, loss_f, loss_p = _ce(model, x, y), _ce(model, x_f, y), _ce(model, x_p, y)
    assert clean < loss_f < loss_p
    acc_f = robust_accuracy(model, x, y, "fgsm", batch_size=128, eps=eps)
    acc_p = robust_accuracy(model, x, y, "pgd", batch_size=128, eps=eps, step=0.01, steps=20)
    acc = robust_accuracy(model, x, y, None)
    assert acc_p <= acc_f < acc


@pytest.mark.slow
def test_targeted_pgd_moves_predictions_to_target(mnist_mlp):
    model, x, y = mnist_mlp
    target = (y + 1) % 10
    with torch.no_grad():
        before = (model(x).argmax(1) == target).float().mean().item()
    x_t = pgd(model, x, target, 0.2, step=0.02, steps=20, targeted=True)
    _assert_valid(x_t, x, 0.2)
    with torch.no_grad():
        after = (model(x_t).argmax(1) == target).float().mean().item()
    assert before < 0.05 and after > 0.5


def test_fgsm_matches_hand_gradient_of_linear_model():
    """For logits z = Wx + b, ∂CE/∂x = Wᵀ(softmax(z) − e_y): FGSM is x + ε·sign of that."""
    torch.manual_seed(0)
    lin = nn.Linear(6, 3)
    x, y = torch.rand(5, 6), torch.tensor([0, 1, 2, 1, 0])
    with torch.no_grad():
        p = torch.softmax(lin(x), dim=1)
        grad = (p - F.one_hot(y, 3).float()) @ lin.weight
    expected = (x + 0.05 * grad.sign()).clamp(0, 1)
    assert torch.allclose(fgsm(lin, x, y, 0.05), expected)
    # targeted: descend the loss of the target label
    expected_t = (x - 0.05 * grad.sign()).clamp(0, 1)
    assert torch.allclose(fgsm(lin, x, y, 0.05, targeted=True), expected_t)
    assert torch.equal(fgsm(lin, x, y, 0.0), x)


def test_modes_restored_no_param_grads_and_no_graph():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 3))
    model.train()
    model[2].eval()  # a submodule its owner froze must stay frozen
    stats = model[1].running_mean.clone()
    x, y = torch.rand(16, 4), torch.randint(0, 3, (16,))
    a = pgd(model, x, y, 0.1, step=0.02, steps=3)
    b = pgd(model, x, y, 0.1, step=0.02, steps=3, random_start=False)
    assert model.training and model[0].training and not model[2].training
    assert all(p.grad is None for p in model.parameters())
    assert torch.equal(model[1].running_mean, stats)  # eval mode: BN stats untouched
    assert a.grad_fn is None and b.grad_fn is None
    # inside no_grad / inference_mode (an evaluation loop) the attack still works
    with torch.no_grad():
        c = pgd(model, x, y, 0.1, step=0.02, steps=3, random_start=False)
    with torch.inference_mode():
        xi = x.clone()
    d = pgd(model, xi, y, 0.1, step=0.02, steps=3, random_start=False)
    assert torch.equal(b, c) and torch.equal(b, d)


def test_normalize_inside_attack_equals_attacking_composed_model():
    torch.manual_seed(0)
    mean, std = torch.tensor([0.4, 0.5, 0.6]), torch.tensor([0.2, 0.25, 0.3])

    def normalize(x):
        return (x - mean[:, None, None]) / std[:, None, None]

    class Normalize(nn.Module):
        def forward(self, x):
            return (x - mean[:, None, None]) / std[:, None, None]

    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 5))
    x, y = torch.rand(8, 3, 8, 8), torch.randint(0, 5, (8,))
    a = pgd(net, x, y, 8 / 255, 2 / 255, 5, random_start=False, normalize=normalize)
    b = pgd(nn.Sequential(Normalize(), net), x, y, 8 / 255, 2 / 255, 5, random_start=False)
    assert torch.allclose(a, b)
    _assert_valid(a, x, 8 / 255)
    acc_a = robust_accuracy(net, x, y, "fgsm", batch_size=3, eps=0.1, normalize=normalize)
    acc_b = robust_accuracy(nn.Sequential(Normalize(), net), x, y, "fgsm", batch_size=3, eps=0.1)
    assert acc_a == acc_b


def test_autocast_and_custom_clamp():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 4))
    x, y = torch.rand(8, 10) * 2 - 1, torch.randint(0, 4, (8,))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        x_adv = pgd(net, x, y, 0.1, 0.03, 4, clamp=(-1.0, 1.0))
    assert x_adv.dtype == torch.float32
    _assert_valid(x_adv, x, 0.1, lo=-1.0, hi=1.0)
    unclamped = pgd(net, x, y, 0.5, 0.3, 2, clamp=None)
    assert (unclamped - x).abs().max().item() <= 0.5 + 1e-6


def test_bad_input_is_rejected():
    net = nn.Linear(3, 2)
    x, y = torch.rand(4, 3), torch.zeros(4, dtype=torch.long)
    with pytest.raises(ValueError, match="eps"):
        pgd(net, x, y, -0.1, 0.01, 3)
    with pytest.raises(ValueError, match="labels"):
        fgsm(net, x, y[:3], 0.1)
    with pytest.raises(ValueError, match="unknown attack 'cw'"):
        robust_accuracy(net, x, y, "cw")


def test_ddp_wrapped_model(tmp_path):
    import torch.distributed as dist

    if not dist.is_available():
        pytest.skip("torch.distributed is not available")
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'pg'}", rank=0, world_size=1)
    try:
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
        ddp = nn.parallel.DistributedDataParallel(net)
        x, y = torch.rand(5, 6), torch.randint(0, 3, (5,))
        a = pgd(ddp, x, y, 0.1, 0.02, 4, random_start=False)
        b = pgd(net, x, y, 0.1, 0.02, 4, random_start=False)
        assert torch.equal(a, b)
        assert all(p.grad is None for p in net.parameters()) and ddp.training
    finally:
        dist.destroy_process_group()


def test_eval_attack_does_not_clamp_float_signals(tmp_path):
    """MNIST-1D signals range about -5..5: a pixel clamp to [0, 1] would wreck them at any eps."""
    from advkt.engine.evaluation import evaluate_run
    from advkt.engine.trainer import train
    from advkt.recipe import load_recipe

    r = load_recipe(
        "recipes/mnist1d/student_cnn1d32.yaml",
        ["train.epochs=6", "data.train_subset=2000", "data.test_subset=300"],
    )
    train(r, run_dir=tmp_path / "run", quiet=True)
    res = evaluate_run(tmp_path / "run", attack="pgd", eps=1e-6, steps=2)
    assert res["clean_acc"] > 20  # it learnt something (chance: 10)
    assert abs(res["robust_acc"] - res["clean_acc"]) <= 1.0


@pytest.mark.parametrize(
    "args", [["--steps", "0"], ["--limit", "0"], ["--limit", "-5"], ["--step-size", "0"]]
)
def test_eval_bad_numbers_are_one_line_errors(tmp_path, capsys, args):
    from advkt.cli import main

    assert main(["eval", str(tmp_path), "--attack", "pgd", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"advkt: error: {args[0]} ") and "\n" not in err
