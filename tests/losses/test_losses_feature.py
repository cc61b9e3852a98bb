"""FitNet, AT and FSP against loops and hand-pooled maps, for 1-D, 2-D and (N, C, 1) features."""

from __future__ import annotations

import math

import pytest
import torch

from advkt.losses import at_loss, attention_map, fitnet_loss, fsp_loss, fsp_matrix, match_spatial


def _block_mean(f: torch.Tensor, k: int) -> torch.Tensor:
    """Average non-overlapping k (1-D) or k x k (2-D) blocks, by reshaping."""
    if f.ndim == 3:
        n, c, length = f.shape
        return f.view(n, c, length // k, k).mean(-1)
    n, c, h, w = f.shape
    return f.view(n, c, h // k, k, w // k, k).mean(dim=(3, 5))


def _attention_loop(f: torch.Tensor, p: float) -> list[list[float]]:
    n, c = f.shape[:2]
    flat = f.reshape(n, c, -1)
    rows = []
    for i in range(n):
        q = [
            sum(abs(flat[i, ch, x].item()) ** p for ch in range(c)) / c
            for x in range(flat.shape[2])
        ]
        norm = math.sqrt(sum(v * v for v in q))
        rows.append([v / norm for v in q])
    return rows


def _at_pair_loop(fs: torch.Tensor, ft: torch.Tensor, p: float) -> float:
    a, b = _attention_loop(fs, p), _attention_loop(ft, p)
    diffs = [(x - y) ** 2 for ra, rb in zip(a, b) for x, y in zip(ra, rb)]
    return sum(diffs) / len(diffs)


def test_fitnet_is_elementwise_mean_square():
    a, b = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    expected = sum((x - y) ** 2 for x, y in zip(a.flatten().tolist(), b.flatten().tolist())) / 96
    assert fitnet_loss(a, b).item() == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="same shape"):
        fitnet_loss(a, b[:, :2])


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 3, 7), (2, 3, 1)])
@pytest.mark.parametrize("p", [2, 1])
def test_attention_map_matches_loop(shape, p):
    f = torch.randn(*shape)
    a = attention_map(f, p)
    assert a.shape == (shape[0], math.prod(shape[2:]))
    torch.testing.assert_close(a, torch.tensor(_attention_loop(f, p)), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(a.norm(dim=1), torch.ones(shape[0]))


def test_at_loss_2d_with_pooling_and_sum_over_pairs():
    g = torch.Generator().manual_seed(0)
    # pair 1: student 8x8 vs teacher 4x4 (student pooled); pair 2: student 2x2 vs teacher 4x4
    s1, t1 = torch.randn(2, 3, 8, 8, generator=g), torch.randn(2, 5, 4, 4, generator=g)
    s2, t2 = torch.randn(2, 4, 2, 2, generator=g), torch.randn(2, 6, 4, 4, generator=g)
    expected = _at_pair_loop(_block_mean(s1, 2), t1, 2) + _at_pair_loop(s2, _block_mean(t2, 2), 2)
    assert at_loss([s1, s2], [t1, t2]).item() == pytest.approx(expected, rel=1e-5)


def test_at_loss_1d_and_vector_features():
    g = torch.Generator().manual_seed(1)
    s, t = torch.randn(3, 4, 16, generator=g), torch.randn(3, 2, 8, generator=g)
    expected = _at_pair_loop(_block_mean(s, 2), t, 2)
    assert at_loss([s], [t]).item() == pytest.approx(expected, rel=1e-5)
    # (N, C, 1): every attention map is the unit vector (1,), so the loss is exactly zero
    assert at_loss(torch.randn(3, 4, 1), torch.randn(3, 9, 1)).item() == 0.0


def test_at_loss_identical_maps_zero_and_errors():
    f = torch.randn(2, 3, 4, 4)
    assert at_loss([f], [2 * f]).item() == pytest.approx(0.0, abs=1e-10)
    with pytest.raises(ValueError, match="same non-zero number"):
        at_loss([f, f], [f])
    with pytest.raises(ValueError, match="spatial dim"):
        at_loss([torch.randn(2, 3)], [torch.randn(2, 3)])
    with pytest.raises(ValueError, match="same number of spatial dims"):
        at_loss([torch.randn(2, 3, 4)], [torch.randn(2, 3, 4, 4)])


def test_match_spatial_pools_to_elementwise_min():
    a, b = match_spatial(torch.randn(1, 2, 8, 4), torch.randn(1, 3, 4, 8))
    assert a.shape == (1, 2, 4, 4) and b.shape == (1, 3, 4, 4)
    x = torch.randn(1, 2, 5)
    assert match_spatial(x, x)[0] is x


def _fsp_loop(f1: torch.Tensor, f2: torch.Tensor) -> torch.Tensor:
    n, c1, c2 = f1.shape[0], f1.shape[1], f2.shape[1]
    a, b = f1.reshape(n, c1, -1), f2.reshape(n, c2, -1)
    g = torch.zeros(n, c1, c2, dtype=torch.float64)
    for i in range(n):
        for j in range(c1):
            for k in range(c2):
                prods = [x * y for x, y in zip(a[i, j].tolist(), b[i, k].tolist())]
                g[i, j, k] = sum(prods) / a.shape[2]
    return g


@pytest.mark.parametrize(
    ("s1", "s2"),
    [
        ((2, 3, 4, 4), (2, 5, 4, 4)),
        ((2, 3, 8, 8), (2, 5, 4, 4)),
        ((2, 3, 6), (2, 4, 12)),
        ((2, 3, 1), (2, 4, 1)),
    ],
)
def test_fsp_matrix_matches_loop(s1, s2):
    f1, f2 = torch.randn(*s1), torch.randn(*s2)
    g = fsp_matrix(f1, f2)
    assert g.shape == (s1[0], s1[1], s2[1])
    # pool the larger by hand, then the explicit triple loop
    if f1.shape[2] > f2.shape[2]:
        f1 = _block_mean(f1, f1.shape[2] // f2.shape[2])
    elif f2.shape[2] > f1.shape[2]:
        f2 = _block_mean(f2, f2.shape[2] // f1.shape[2])
    torch.testing.assert_close(g.double(), _fsp_loop(f1, f2), rtol=1e-5, atol=1e-6)


def test_fsp_of_vectors_is_outer_product():
    u, v = torch.randn(2, 3, 1), torch.randn(2, 4, 1)
    torch.testing.assert_close(fsp_matrix(u, v), u * v.transpose(1, 2))


def test_fsp_loss_sums_pair_means():
    g = torch.Generator().manual_seed(2)
    s = [
        (torch.randn(2, 3, 4, 4, generator=g), torch.randn(2, 5, 2, 2, generator=g)),
        (torch.randn(2, 5, 6, generator=g), torch.randn(2, 2, 6, generator=g)),
    ]
    t = [
        (torch.randn(2, 3, 8, 8, generator=g), torch.randn(2, 5, 4, 4, generator=g)),
        (torch.randn(2, 5, 3, generator=g), torch.randn(2, 2, 3, generator=g)),
    ]
    (a, b), (c, d) = s
    (e, f), (h, k) = t
    # pair 1: 4x4 with 2x2 (student), 8x8 with 4x4 (teacher): the larger pooled by 2 in each
    g1 = _fsp_loop(_block_mean(a, 2), b) - _fsp_loop(_block_mean(e, 2), f)
    g2 = _fsp_loop(c, d) - _fsp_loop(h, k)
    expected = (g1**2).mean().item() + (g2**2).mean().item()
    assert fsp_loss(s, t).item() == pytest.approx(expected, rel=1e-5)


def test_fsp_loss_errors():
    a = (torch.randn(2, 3, 4), torch.randn(2, 5, 4))
    b = (torch.randn(2, 4, 4), torch.randn(2, 5, 4))
    with pytest.raises(ValueError, match="equal channel counts"):
        fsp_loss([a], [b])
    with pytest.raises(ValueError, match="same non-zero number"):
        fsp_loss([a, a], [a])
    with pytest.raises(ValueError, match="same batch"):
        fsp_matrix(torch.randn(2, 3, 4), torch.randn(3, 3, 4))


def test_fsp_loss_gram_form_equals_the_matrices_value_and_gradient():
    # 5 positions, 16 x 12 channels: fsp_loss takes the Gram form; G = A Bᵀ / S is the definition
    g = torch.Generator().manual_seed(3)
    s = [(torch.randn(4, 16, 5, generator=g), torch.randn(4, 12, 5, generator=g))]
    t = [(torch.randn(4, 16, 5, generator=g), torch.randn(4, 12, 5, generator=g))]
    s = [(a.requires_grad_(), b.requires_grad_()) for a, b in s]
    loss = fsp_loss(s, t)

    def gmat(a, b):
        return torch.einsum("nis,njs->nij", a.double(), b.double()) / a.shape[2]

    direct = (gmat(*s[0]) - gmat(*t[0])).pow(2).mean()
    assert loss.item() == pytest.approx(direct.item(), rel=1e-5)
    grads = torch.autograd.grad(loss, s[0])
    want = torch.autograd.grad(direct, s[0])
    for a, b in zip(grads, want):
        torch.testing.assert_close(a.double(), b.double(), rtol=1e-4, atol=1e-7)
    # a student that matches its teacher gives 0, not a cancellation residue
    assert fsp_loss(t, t).item() == 0.0
