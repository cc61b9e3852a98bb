"""CycleGAN's and pix2pix's networks at three widths, their losses and the image pool."""

from __future__ import annotations

import pytest
import torch

from advkt.translation.losses import ImagePool, l1, lsgan_d, lsgan_g
from advkt.translation.networks import PatchDiscriminator, ResnetGenerator, UnetGenerator


def _params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize(
    "make", [lambda w: ResnetGenerator(1, 1, w, 6), lambda w: UnetGenerator(1, 3, w, 5)]
)
def test_generators_keep_the_image_size_and_shrink_about_fourfold_per_halving(make):
    x = torch.randn(2, 1, 32, 32)
    sizes = []
    for w in (32, 16, 8):
        g = make(w)
        y = g(x)
        assert y.shape[-2:] == (32, 32) and float(y.abs().max()) <= 1.0  # tanh output
        sizes.append(_params(g))
    for big, small in zip(sizes, sizes[1:]):
        assert 3.6 < big / small < 4.1  # conv weights scale with width²


def test_patch_discriminator_scores_patches_and_the_unet_skips_reach_the_output():
    d = PatchDiscriminator(4, width=8, layers=2)  # pix2pix: image + condition
    assert d(torch.randn(3, 4, 32, 32)).shape == (3, 1, 6, 6)
    u = UnetGenerator(1, 3, width=4, depth=3).eval()
    x = torch.zeros(1, 1, 8, 8, requires_grad=True)
    u(x)[0, :, 0, 0].sum().backward()
    assert x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="width must be an integer >= 1"):
        ResnetGenerator(width=0)


def test_lsgan_and_l1_by_hand():
    assert float(lsgan_d(torch.ones(4), torch.zeros(4))) == 0.0
    assert float(lsgan_d(torch.zeros(4), torch.ones(4))) == pytest.approx(1.0)
    assert float(lsgan_g(torch.full((3,), 0.5))) == pytest.approx(0.25)
    assert float(l1(torch.ones(2, 2), torch.zeros(2, 2))) == 1.0


def test_image_pool_fills_then_swaps_half_of_the_images():
    pool = ImagePool(4, generator=torch.Generator().manual_seed(0))
    first = torch.arange(4.0).view(4, 1)
    assert torch.equal(pool.query(first), first)  # filling: images pass through
    new = torch.arange(100.0, 300.0).view(200, 1)
    out = pool.query(new)
    changed = int((out != new).sum())  # shown a stored image instead of its own
    assert 60 < changed < 140 and len(pool.images) == 4
    assert set(out.flatten().tolist()) <= set(range(4)) | set(range(100, 300))
    assert torch.equal(ImagePool(0).query(first), first)
