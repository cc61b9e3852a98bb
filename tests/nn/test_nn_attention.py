"""HKSANC attention estimator, global descriptor and channel transform: loops and shapes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from advkt.nn import AttentionEstimator, ChannelTransform, GlobalDescriptor


def _estimate_loop(est: AttentionEstimator, feat: torch.Tensor, desc: torch.Tensor):
    """The estimator's equations written out position by position in float64."""
    n, c = feat.shape[:2]
    flat = feat.reshape(n, c, -1).double()
    wg, bg = est.guide.weight.double(), est.guide.bias.double()
    ws, bs = est.score.weight.double()[0], est.score.bias.double()[0]
    a_all, m_all = [], []
    for i in range(n):
        g_hat = wg @ desc[i].double() + bg
        hat = [flat[i, :, x] + g_hat for x in range(flat.shape[2])]
        scores = torch.stack([ws @ h + bs for h in hat])
        m = scores.exp() / scores.exp().sum()
        src = hat if est.use_hat else [flat[i, :, x] for x in range(flat.shape[2])]
        a = sum(m[x] * src[x] for x in range(len(src)))
        a_all.append(a)
        m_all.append(m)
    return torch.stack(a_all), torch.stack(m_all)


@pytest.mark.parametrize("spatial", [(4, 5), (9,), (1,)])
@pytest.mark.parametrize("use_hat", [True, False])
def test_attention_estimator_matches_loop(spatial, use_hat):
    torch.manual_seed(0)
    est = AttentionEstimator(channels=6, desc_dim=8, use_hat=use_hat)
    feat, desc = torch.randn(3, 6, *spatial), torch.randn(3, 8)
    a, m = est(feat, desc)
    assert a.shape == (3, 6) and m.shape == (3, *spatial)
    torch.testing.assert_close(m.flatten(1).sum(1), torch.ones(3))
    a_ref, m_ref = _estimate_loop(est, feat, desc)
    torch.testing.assert_close(a.double(), a_ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(m.flatten(1).double(), m_ref, rtol=1e-5, atol=1e-6)


def test_attention_estimator_single_position_returns_guided_feature():
    est = AttentionEstimator(channels=4, desc_dim=3)
    feat, desc = torch.randn(2, 4, 1), torch.randn(2, 3)
    a, m = est(feat, desc)
    torch.testing.assert_close(m, torch.ones(2, 1))
    torch.testing.assert_close(a, feat[:, :, 0] + est.guide(desc))


def test_attention_estimator_trains_and_checks_shapes():
    est = AttentionEstimator(channels=4, desc_dim=3)
    a, _ = est(torch.randn(2, 4, 3, 3), torch.randn(2, 3))
    a.square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in est.parameters())
    with pytest.raises(ValueError, match=r"feature \(N, 4, \*S\)"):
        est(torch.randn(2, 5, 3, 3), torch.randn(2, 3))
    with pytest.raises(ValueError, match=r"descriptor \(2, 3\)"):
        est(torch.randn(2, 4, 3, 3), torch.randn(2, 7))


def test_global_descriptor_is_conv_then_average_pool():
    gd = GlobalDescriptor(5, dim=7)
    f = torch.randn(2, 5, 4, 4)
    conv = F.conv2d(f, gd.proj.weight.view(7, 5, 1, 1), gd.proj.bias)
    torch.testing.assert_close(gd(f), conv.mean(dim=(2, 3)))
    assert gd(torch.randn(2, 5, 9)).shape == (2, 7)
    with pytest.raises(ValueError, match=r"\(N, 5, \*S\)"):
        gd(torch.randn(2, 5))


def test_channel_transform_shapes_and_bare_conv():
    ct = ChannelTransform(16, 64)
    assert ct(torch.randn(4, 16, 8, 8)).shape == (4, 64, 8, 8)
    assert ct(torch.randn(4, 16, 12)).shape == (4, 64, 12)
    # train-mode batch norm: every output channel has zero mean over batch and positions
    out = ct(torch.randn(4, 16, 8, 8) * 3 + 2)
    torch.testing.assert_close(out.mean(dim=(0, 2, 3)), torch.zeros(64), atol=1e-5, rtol=0)
    bare = ChannelTransform(3, 5, bn=False)
    x = torch.randn(2, 3, 4)
    torch.testing.assert_close(bare(x), F.conv1d(x, bare.conv.weight.view(5, 3, 1), bare.conv.bias))
    with pytest.raises(ValueError, match="feature map"):
        ct(torch.randn(4, 16))


def test_hat_and_raw_descriptors_differ_by_the_guide():
    # sum_x M(x) (L(x) + g_hat) = sum_x M(x) L(x) + g_hat, because M sums to 1
    torch.manual_seed(1)
    est = AttentionEstimator(channels=4, desc_dim=3, use_hat=True)
    feat, desc = torch.randn(2, 4, 5, 5), torch.randn(2, 3)
    a_hat, m1 = est(feat, desc)
    est.use_hat = False
    a_raw, m2 = est(feat, desc)
    torch.testing.assert_close(m1, m2)
    torch.testing.assert_close(a_hat - a_raw, est.guide(desc), rtol=1e-5, atol=1e-6)


def _formula(est, feat, desc):
    """KSANC's equations written out literally: M = softmax_x(score(L + g_hat)), a = sum M L_hat."""
    g_hat = est.guide(desc).unsqueeze(2)
    hat = feat.flatten(2) + g_hat
    m = torch.softmax(est.score(hat).squeeze(1), dim=1)
    return (hat * m.unsqueeze(1)).sum(2), m


def test_the_estimator_computes_the_formula_values_and_gradients():
    torch.manual_seed(1)
    est = AttentionEstimator(channels=4, desc_dim=3)
    feat = torch.randn(2, 4, 5, requires_grad=True)
    desc = torch.randn(2, 3, requires_grad=True)
    target = torch.randn(2, 4)
    params = [feat, desc, est.guide.weight, est.score.weight]
    got, want = [], []
    for fn, out in ((est, got), (lambda f, d: _formula(est, f, d), want)):
        a, m = fn(feat, desc)
        out += [a.detach(), m.detach(), *torch.autograd.grad((a - target).square().sum(), params)]
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w)


def test_detached_g_hat_keeps_the_value_and_passes_no_gradient_to_the_guide():
    torch.manual_seed(1)
    plain = AttentionEstimator(channels=4, desc_dim=3)
    cut = AttentionEstimator(channels=4, desc_dim=3, detach_hat=True)
    cut.load_state_dict(plain.state_dict())
    feat, desc = torch.randn(2, 4, 5), torch.randn(2, 3, requires_grad=True)
    target = torch.randn(2, 4)
    values, grads = [], []
    for est in (plain, cut):
        a, _ = est(feat, desc)
        loss = (a - target).square().sum()
        values.append(a.detach())
        grads.append(torch.autograd.grad(loss, [est.guide.weight, desc], allow_unused=True))
    torch.testing.assert_close(values[0], values[1])  # the same a = sum_x M L-hat
    # attached, the guide and the descriptor learn through the direct g-hat term; detached,
    # nothing reaches them (M does not depend on g-hat, so no path is left)
    assert grads[0][0].abs().sum() > 0 and grads[0][1].abs().sum() > 0
    assert grads[1] == (None, None)


def test_m_is_blind_to_the_guide_in_the_formula_itself():
    """ĝ adds the same amount to every position's score: the formula's softmax M does not
    change with the descriptor. That is why the estimator may compute M from L alone, and why
    with ``detach_hat`` nothing reaches the guide (why it is off)."""
    torch.manual_seed(2)
    est = AttentionEstimator(channels=4, desc_dim=3)
    feat = torch.randn(2, 4, 6)
    _, m1 = _formula(est, feat, torch.randn(2, 3))
    _, m2 = _formula(est, feat, 100 * torch.randn(2, 3))
    torch.testing.assert_close(m1, m2)


@pytest.mark.parametrize("spatial", [(7,), (3, 5)])
def test_a_folded_lift_gives_the_values_and_gradients_of_lifting_first(spatial):
    """E(F, g, lift) = E(lift(F), g): HKSANC's student side without the (N, C_t, *S) tensor."""
    torch.manual_seed(0)
    est = AttentionEstimator(12, 6)
    lift = ChannelTransform(4, 12, bn=False).conv
    f, g = torch.randn(3, 4, *spatial, requires_grad=True), torch.randn(3, 6)
    params = [f, *est.parameters(), *lift.parameters()]
    out = {}
    for folded in (False, True):
        a, m = est(f, g, lift) if folded else est(lift(f), g)
        grads = torch.autograd.grad((a * torch.arange(12.0)).sum() + m.pow(2).sum(), params)
        out[folded] = (a, m, grads)
    torch.testing.assert_close(out[True][0], out[False][0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out[True][1], out[False][1], rtol=1e-5, atol=1e-6)
    for ga, gb in zip(out[True][2], out[False][2]):
        torch.testing.assert_close(ga, gb, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="expects a feature \\(N, 4"):
        est(torch.randn(3, 5, 7), g, lift)
