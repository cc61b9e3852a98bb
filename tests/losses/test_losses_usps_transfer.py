"""Integration: KD and DKD alone transfer a teacher's decisions to a student, on real USPS digits.

The teacher is a ridge-regression classifier in closed form; the student is a linear model that
never sees the labels under KD (only through DKD's target split). Both read the raw 16x16 grey
values. If a loss pointed the wrong way or lost its information, the student would stay near the
10 % of an untrained model.
"""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch

from advkt.losses import dkd_loss, kd_loss


def _load(path) -> tuple[torch.Tensor, torch.Tensor]:
    with gzip.open(path, "rt") as fh:
        data = np.loadtxt(fh, dtype=np.float32)
    return torch.from_numpy(data[:, 1:]), torch.from_numpy(data[:, 0]).long()


@pytest.fixture(scope="module")
def usps(shared_data):
    root = shared_data / "usps"
    if not (root / "zip.train.gz").is_file():
        pytest.skip(f"no USPS files in {root}")
    x_tr, y_tr = _load(root / "zip.train.gz")
    x_te, y_te = _load(root / "zip.test.gz")
    # ridge teacher: W = (X^T X + lam I)^-1 X^T (one-hot), logits sharpened so that T = 4 matters
    xb = torch.cat([x_tr, torch.ones(len(x_tr), 1)], dim=1).double()
    w = torch.linalg.solve(
        xb.T @ xb + 10.0 * torch.eye(xb.shape[1], dtype=torch.float64),
        xb.T @ torch.nn.functional.one_hot(y_tr, 10).double(),
    )
    w = (10.0 * w).float()

    def teacher(x):
        return torch.cat([x, torch.ones(len(x), 1)], dim=1) @ w

    return x_tr, y_tr, x_te, y_te, teacher


def _train_student(x, loss_fn, steps=100):
    torch.manual_seed(0)
    student = torch.nn.Linear(x.shape[1], 10)
    opt = torch.optim.Adam(student.parameters(), lr=0.01)
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(student(x))
        loss.backward()
        opt.step()
    return student


@pytest.fixture
def one_thread():
    # the CPU is shared: more threads than free cores makes these small matmuls 10x slower
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
@pytest.mark.parametrize("loss_name", ["kd", "dkd"])
def test_distillation_loss_alone_transfers_the_teacher(usps, one_thread, loss_name):
    x_tr, y_tr, x_te, y_te, teacher = usps
    x_tr, y_tr = x_tr[:3000], y_tr[:3000]  # the teacher saw all 7291; the student needs fewer
    t_tr = teacher(x_tr)
    t_acc = (teacher(x_te).argmax(1) == y_te).float().mean().item()
    if loss_name == "kd":
        student = _train_student(x_tr, lambda s: kd_loss(s, t_tr, T=4.0))
    else:
        student = _train_student(x_tr, lambda s: dkd_loss(s, t_tr, y_tr, 1.0, 8.0, 4.0))
    with torch.no_grad():
        pred = student(x_te).argmax(1)
    s_acc = (pred == y_te).float().mean().item()
    agree = (pred == teacher(x_te).argmax(1)).float().mean().item()
    assert t_acc > 0.85, t_acc  # the ridge teacher is a sound one (about 0.87-0.9 on USPS)
    assert s_acc > t_acc - 0.04, (s_acc, t_acc)
    assert agree > 0.9, agree
