r"""The translation losses of CycleGAN and pix2pix, and CycleGAN's image pool.

- LSGAN (Mao et al. 2017), CycleGAN's choice: :math:`L_D = \tfrac12 E(D(y) - 1)^2 +
  \tfrac12 E\,D(G(x))^2`, :math:`L_G = E(D(G(x)) - 1)^2` (:func:`lsgan_d`, :func:`lsgan_g`).
- pix2pix's vanilla GAN on logits (:func:`gan_d`, :func:`gan_g`), with λ = 100 on its L1 term.
- Cycle consistency :math:`\lVert F(G(x)) - x\rVert_1` (λ = 10) and identity
  :math:`\lVert G(y) - y\rVert_1` (0.5 λ), means over pixels (:func:`l1`).
- :class:`ImagePool` (Shrivastava et al. 2017): D sees a history of 50 generated images; each new
  image replaces a random stored one with probability ½ (and that stored one is shown instead).
"""

from __future__ import annotations

import torch


def lsgan_d(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return 0.5 * ((real.float() - 1).pow(2).mean() + fake.float().pow(2).mean())


def lsgan_g(fake: torch.Tensor) -> torch.Tensor:
    return (fake.float() - 1).pow(2).mean()


def gan_d(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """pix2pix's vanilla GAN critic loss: ½[BCE(D(real), 1) + BCE(D(fake), 0)] on logits."""
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    real, fake = real.float(), fake.float()
    return 0.5 * (bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake)))


def gan_g(fake: torch.Tensor) -> torch.Tensor:
    """pix2pix's vanilla GAN generator loss: BCE(D(fake), 1) on logits."""
    fake = fake.float()
    return torch.nn.functional.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a.float() - b.float()).abs().mean()


class ImagePool:
    """A history of up to ``size`` generated images (``size=0``: no pool, images pass through)."""

    def __init__(self, size: int = 50, generator: torch.Generator | None = None) -> None:
        if size < 0:
            raise ValueError(f"ImagePool size must be >= 0, got {size}")
        self.size, self.generator, self.images = size, generator, []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        out = []
        for im in images.detach():
            if len(self.images) < self.size:
                self.images.append(im.clone())
                out.append(im)
            elif float(torch.rand((), generator=self.generator)) < 0.5:
                j = int(torch.randint(len(self.images), (), generator=self.generator))
                out.append(self.images[j].clone())
                self.images[j] = im.clone()
            else:
                out.append(im)
        return torch.stack(out)
