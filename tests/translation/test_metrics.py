"""Fréchet distance, PSNR and SSIM on cases with known answers."""

from __future__ import annotations

import math

import pytest
import torch

from advkt.translation.metrics import frechet_distance, psnr, ssim


def test_frechet_distance_of_gaussians_with_known_moments():
    torch.manual_seed(0)
    a = torch.randn(20000, 3)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    # N(0, I) against N(m, 4 I): |m|^2 + tr(I + 4I - 2 * 2I) = |m|^2 + 3
    b = 2 * torch.randn(20000, 3) + torch.tensor([1.0, 2.0, 0.0])
    assert frechet_distance(a, b) == pytest.approx(5.0 + 3.0, rel=0.03)
    with pytest.raises(ValueError, match="needs \\(N, D\\) and \\(M, D\\)"):
        frechet_distance(a, b[:, :2])


def test_psnr_and_ssim_by_hand():
    x = torch.full((2, 1, 16, 16), 0.5)
    assert psnr(x, x + 0.1) == pytest.approx(20.0)  # MSE 0.01
    assert ssim(x, x) == pytest.approx(1.0)
    torch.manual_seed(0)
    img = torch.rand(1, 3, 32, 32)
    noisy = (img + 0.2 * torch.randn_like(img)).clamp(0, 1)
    assert 0.0 < ssim(noisy, img) < 0.9 and ssim(img, img) == pytest.approx(1.0)
    assert psnr(noisy, img) == pytest.approx(
        -10 * math.log10(float((noisy - img).pow(2).mean())), rel=0.02
    )
