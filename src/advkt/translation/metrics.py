r"""The measures of translated images (issue #19), as pure functions of tensors.

- :func:`frechet_distance` of two feature sets (Heusel et al. 2017's formula):
  :math:`\lVert\mu_a - \mu_b\rVert^2
  + \mathrm{tr}(\Sigma_a + \Sigma_b - 2(\Sigma_a\Sigma_b)^{1/2})`,
  in the features of a classifier the library trains itself: a *Fréchet distance in that
  classifier's features*, not FID (no Inception weights here).
- :func:`psnr`: :math:`10\log_{10}(\text{peak}^2/\text{MSE})` per image, averaged.
- :func:`ssim`: Wang et al. 2004, an 11x11 Gaussian window (σ = 1.5), K1 = 0.01, K2 = 0.03, per
  channel, averaged over the image, the channels and the batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fréchet distance between the Gaussians fitted to features a (N, D) and b (M, D)."""
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(
            f"frechet_distance needs (N, D) and (M, D); got {tuple(a.shape)}, {tuple(b.shape)}"
        )
    if min(len(a), len(b)) < 2:
        raise ValueError("frechet_distance needs at least two samples a side")
    a, b = a.double(), b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    # tr((S_a S_b)^(1/2)): the square roots of the eigenvalues of S_a^(1/2) S_b S_a^(1/2) (PSD)
    ev, vec = torch.linalg.eigh(cov_a)
    root_a = vec @ torch.diag(ev.clamp_min(0).sqrt()) @ vec.T
    mid = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp_min(0).sqrt().sum()
    d = float((mu_a - mu_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * mid)
    return max(d, 0.0)  # a set against itself: rounding can give -1e-6


def psnr(x: torch.Tensor, y: torch.Tensor, peak: float = 1.0) -> float:
    """Mean PSNR (dB) of images x against references y, (N, C, H, W) in [0, peak]."""
    mse = (x.double() - y.double()).pow(2).flatten(1).mean(1).clamp_min(1e-20)
    return float((10 * torch.log10(peak**2 / mse)).mean())


def _gaussian(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    g = torch.exp(-((torch.arange(size, dtype=torch.float64) - size // 2) ** 2) / (2 * sigma**2))
    g = g / g.sum()
    return g[:, None] * g[None, :]


def ssim(x: torch.Tensor, y: torch.Tensor, peak: float = 1.0) -> float:
    """Mean SSIM of images x against references y, (N, C, H, W) in [0, peak] (valid windows)."""
    if x.shape != y.shape or x.ndim != 4:
        raise ValueError(
            f"ssim needs (N, C, H, W) batches of one shape; got {tuple(x.shape)}, {tuple(y.shape)}"
        )
    c = x.shape[1]
    w = _gaussian().to(x.device).expand(c, 1, 11, 11)
    x, y = x.double(), y.double()

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, w, groups=c)

    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return float(s.mean())
