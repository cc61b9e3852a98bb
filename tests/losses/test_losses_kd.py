"""KD and DKD against independent computations: float64 sums, the DKD decomposition identity,
and an mdistiller-style masked implementation written here."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from advkt.losses import dkd_loss, kd_loss


def _kl_rows_f64(p: torch.Tensor, q: torch.Tensor) -> list[float]:
    """KL(p_n || q_n) per row by explicit sums of p log(p / q)."""
    out = []
    for pr, qr in zip(p.tolist(), q.tolist()):
        out.append(sum(a * math.log(a / b) for a, b in zip(pr, qr) if a > 0))
    return out


def _softmax_f64(z: torch.Tensor) -> torch.Tensor:
    z = z.double()
    e = (z - z.max(dim=1, keepdim=True).values).exp()
    return e / e.sum(dim=1, keepdim=True)


def test_kd_identical_logits_is_zero():
    z = torch.randn(5, 7)
    assert kd_loss(z, z.clone()).item() == pytest.approx(0.0, abs=1e-6)


def test_kd_hand_example():
    # p_t = (3/4, 1/4), p_s = (1/2, 1/2): KL = 3/4 ln(3/2) + 1/4 ln(1/2)
    s = torch.tensor([[0.0, 0.0]])
    t = torch.tensor([[math.log(3.0), 0.0]])
    expected = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    assert kd_loss(s, t, T=1.0).item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("T", [1.0, 4.0, 0.5])
def test_kd_matches_explicit_sums(T):
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(6, 10, generator=g) * 3, torch.randn(6, 10, generator=g) * 3
    kl = _kl_rows_f64(_softmax_f64(t / T), _softmax_f64(s / T))
    expected = T * T * sum(kl) / len(kl)
    assert kd_loss(s, t, T=T).item() == pytest.approx(expected, rel=1e-5)


def test_kd_gradient_is_T_times_prob_difference():
    # d/ds [T^2 KL(p_t || softmax(s/T))] / N = T (softmax(s/T) - p_t) / N
    g = torch.Generator().manual_seed(1)
    s = torch.randn(4, 5, generator=g).requires_grad_(True)
    t = torch.randn(4, 5, generator=g)
    T = 4.0
    kd_loss(s, t, T=T).backward()
    expected = T * (_softmax_f64(s.detach() / T) - _softmax_f64(t / T)) / 4
    torch.testing.assert_close(s.grad.double(), expected, rtol=1e-4, atol=1e-6)


def test_kd_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        kd_loss(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="temperature"):
        kd_loss(torch.zeros(2, 3), torch.zeros(2, 3), T=0)
    with pytest.raises(ValueError, match="2-D"):
        kd_loss(torch.zeros(3), torch.zeros(3))


def _dkd_mdistiller_style(s, t, target, alpha, beta, T):
    """Masked implementation in the style of mdistiller's dkd_loss (mask, cat, -1000 trick)."""
    gt = torch.zeros_like(s).scatter_(1, target.unsqueeze(1), 1).bool()
    other = ~gt
    ps, pt = F.softmax(s / T, dim=1), F.softmax(t / T, dim=1)
    bs = torch.stack([(ps * gt).sum(1), (ps * other).sum(1)], dim=1)
    bt = torch.stack([(pt * gt).sum(1), (pt * other).sum(1)], dim=1)
    tckd = (bt * (bt.log() - bs.log())).sum() * T**2 / s.shape[0]
    pt2 = F.softmax(t / T - 1000.0 * gt, dim=1)
    log_ps2 = F.log_softmax(s / T - 1000.0 * gt, dim=1)
    nckd = F.kl_div(log_ps2, pt2, reduction="sum") * T**2 / s.shape[0]
    return alpha * tckd + beta * nckd


@pytest.mark.parametrize(
    ("alpha", "beta", "T"), [(1.0, 8.0, 4.0), (1.0, 2.0, 4.0), (0.5, 6.0, 1.0)]
)
def test_dkd_matches_mdistiller_style(alpha, beta, T):
    g = torch.Generator().manual_seed(2)
    s, t = torch.randn(8, 10, generator=g) * 2, torch.randn(8, 10, generator=g) * 2
    y = torch.randint(0, 10, (8,), generator=g)
    ref = _dkd_mdistiller_style(s.double(), t.double(), y, alpha, beta, T)
    assert dkd_loss(s, t, y, alpha, beta, T).item() == pytest.approx(ref.item(), rel=1e-5)


def test_dkd_decomposition_of_kd():
    # DKD paper eq. 7: KL(p_t || p_s) = TCKD + (1 - p_t[gt]) NCKD, per sample
    g = torch.Generator().manual_seed(3)
    s, t = torch.randn(5, 6, generator=g), torch.randn(5, 6, generator=g)
    y = torch.randint(0, 6, (5,), generator=g)
    T = 2.0
    for i in range(5):
        si, ti, yi = s[i : i + 1], t[i : i + 1], y[i : i + 1]
        tckd = dkd_loss(si, ti, yi, alpha=1.0, beta=0.0, T=T)
        nckd = dkd_loss(si, ti, yi, alpha=0.0, beta=1.0, T=T)
        pt_gt = F.softmax(ti / T, dim=1)[0, yi[0]]
        assert kd_loss(si, ti, T=T).item() == pytest.approx(
            (tckd + (1 - pt_gt) * nckd).item(), rel=1e-5
        )


def test_dkd_definition_by_hand_f64():
    g = torch.Generator().manual_seed(4)
    s, t = torch.randn(3, 4, generator=g), torch.randn(3, 4, generator=g)
    y = torch.tensor([0, 2, 3])
    T, alpha, beta = 4.0, 1.0, 8.0
    ps, pt = _softmax_f64(s / T), _softmax_f64(t / T)
    total = 0.0
    for n in range(3):
        k = int(y[n])
        bs = [ps[n, k].item(), 1 - ps[n, k].item()]
        bt = [pt[n, k].item(), 1 - pt[n, k].item()]
        tckd = sum(a * math.log(a / b) for a, b in zip(bt, bs))
        rest = [j for j in range(4) if j != k]
        qs = [ps[n, j].item() / bs[1] for j in rest]
        qt = [pt[n, j].item() / bt[1] for j in rest]
        nckd = sum(a * math.log(a / b) for a, b in zip(qt, qs))
        total += alpha * tckd + beta * nckd
    expected = T * T * total / 3
    assert dkd_loss(s, t, y, alpha, beta, T).item() == pytest.approx(expected, rel=1e-5)


def test_dkd_two_classes_has_no_nckd_and_extreme_logits_stay_finite():
    s, t = torch.randn(4, 2), torch.randn(4, 2)
    y = torch.tensor([0, 1, 1, 0])
    assert dkd_loss(s, t, y, alpha=0.0, beta=1.0).item() == pytest.approx(0.0, abs=1e-7)
    # the student's target probability underflows in float32: mdistiller's log(p) would be -inf
    s = torch.tensor([[-200.0, 200.0, 0.0]], requires_grad=True)
    t = torch.tensor([[5.0, 0.0, 1.0]])
    loss = dkd_loss(s, t, torch.tensor([0]), T=1.0)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(s.grad).all()


def test_dkd_bad_target():
    s = torch.zeros(2, 3)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        dkd_loss(s, s, torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="integer"):
        dkd_loss(s, s, torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="shape"):
        dkd_loss(s, s, torch.tensor([[0, 1]]))
