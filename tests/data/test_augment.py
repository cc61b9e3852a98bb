from __future__ import annotations

import pytest
import torch

from advkt.data.augment import augment_batch, random_crop, random_erase, random_flip, to_float


def _images(n: int = 16, c: int = 3, h: int = 8, w: int = 6, dtype=torch.uint8) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.randint(1, 256, (n, c, h, w), generator=g).to(dtype)


def test_to_float_normalises_per_channel() -> None:
    x = torch.tensor([[[[0, 255]], [[51, 102]]]], dtype=torch.uint8)  # (1, 2, 1, 2)
    out = to_float(x, (0.5, 0.2), (0.25, 0.1))
    want = torch.tensor([[[[(0 - 0.5) / 0.25, (1 - 0.5) / 0.25]], [[0.0, (0.4 - 0.2) / 0.1]]]])
    assert out.dtype == torch.float32
    assert torch.allclose(out, want, atol=1e-6)
    assert torch.allclose(to_float(x), x.float() / 255)
    assert torch.allclose(to_float(x[:, :1], (0.5,), (0.5,)), torch.tensor([[[[-1.0, 1.0]]]]))


def test_to_float_rejects_wrong_channel_count() -> None:
    with pytest.raises(ValueError, match="3 values but the input has 2 channels"):
        to_float(torch.zeros(1, 2, 2, 2, dtype=torch.uint8), (0.1, 0.2, 0.3), (1, 1, 1))


def _reference_crop(x: torch.Tensor, pad: int, tops, lefts) -> torch.Tensor:
    """Per-sample loop: zero canvas, paste the image at (pad, pad), cut out at (top, left)."""
    n, c, h, w = x.shape
    out = torch.empty_like(x)
    for i in range(n):
        canvas = torch.zeros(c, h + 2 * pad, w + 2 * pad, dtype=x.dtype)
        canvas[:, pad : pad + h, pad : pad + w] = x[i]
        t, l = int(tops[i]), int(lefts[i])
        out[i] = canvas[:, t : t + h, l : l + w]
    return out


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_random_crop_matches_a_per_sample_loop(dtype) -> None:
    x, pad = _images(dtype=dtype), 3
    out = random_crop(x, pad, torch.Generator().manual_seed(5))
    # The documented draw: vertical offsets, then horizontal, uniform on {0..2 pad}.
    g = torch.Generator().manual_seed(5)
    tops = torch.randint(0, 2 * pad + 1, (len(x),), generator=g)
    lefts = torch.randint(0, 2 * pad + 1, (len(x),), generator=g)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.equal(out, _reference_crop(x, pad, tops, lefts))
    assert len(set(zip(tops.tolist(), lefts.tolist()))) > 1  # offsets differ across samples


def test_random_crop_every_output_is_some_shift_of_its_input() -> None:
    """Independent of the draw order: each sample equals the reference crop at one offset."""
    x, pad = _images(n=32), 2
    out = random_crop(x, pad)
    offsets = [(t, l) for t in range(2 * pad + 1) for l in range(2 * pad + 1)]
    seen = set()
    for i in range(len(x)):
        hits = [
            o
            for o in offsets
            if torch.equal(out[i], _reference_crop(x[i : i + 1], pad, *zip(o))[0])
        ]
        assert hits, f"sample {i} is not a padded crop of its input"
        seen.add(hits[0])
    assert len(seen) > 3


def test_random_crop_zero_pad_is_identity_and_bad_input_raises() -> None:
    x = _images()
    assert torch.equal(random_crop(x, 0), x)
    with pytest.raises(ValueError, match="expects"):
        random_crop(torch.zeros(2, 3, 4), 1)


def test_random_flip_flips_exactly_the_chosen_samples() -> None:
    x = _images(n=64)
    out = random_flip(x, torch.Generator().manual_seed(3))
    chosen = torch.rand(64, generator=torch.Generator().manual_seed(3)) < 0.5
    for i in range(64):
        mirrored = x[i][..., torch.arange(x.shape[-1] - 1, -1, -1)]
        assert torch.equal(out[i], mirrored if chosen[i] else x[i]), i
    assert 10 < int(chosen.sum()) < 54


def test_augment_batch_spec() -> None:
    x = _images()
    assert torch.equal(augment_batch(x, {}), x)
    assert torch.equal(augment_batch(x, {"crop": 0, "flip": False}), x)
    out = augment_batch(x, {"crop": 4, "flip": True}, torch.Generator().manual_seed(1))
    assert out.shape == x.shape and out.dtype == torch.uint8
    assert not torch.equal(out, x)
    with pytest.raises(ValueError, match="unknown augmentation 'rotate'"):
        augment_batch(x, {"rotate": 10})


def test_random_erase_changes_one_rectangle_of_the_chosen_samples() -> None:
    x = torch.zeros(64, 3, 32, 16, dtype=torch.uint8)  # changed pixels are easy to find
    out = random_erase(x, p=0.5, generator=torch.Generator().manual_seed(0))
    changed = (out != 0).any(1)  # (N, H, W)
    hit = changed.flatten(1).any(1)
    assert 15 < hit.sum() < 50  # about half the samples
    for n in hit.nonzero().flatten().tolist():
        rows = changed[n].any(1).nonzero().flatten()
        cols = changed[n].any(0).nonzero().flatten()
        box = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
        # one solid rectangle (a few of its random values may be 0), of 2-40 % of the image
        assert changed[n].sum() >= 0.95 * box and 0.015 * 512 <= box <= 0.41 * 512
    assert torch.equal(random_erase(x, p=0.0), x)
    assert augment_batch(x, {"erase": 1.0}, torch.Generator().manual_seed(1)).ne(0).any()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_augment_on_cuda_matches_cpu_with_a_cpu_generator() -> None:
    x = _images()
    spec = {"crop": 3, "flip": True}
    cpu = augment_batch(x, spec, torch.Generator().manual_seed(9))
    gpu = augment_batch(x.cuda(), spec, torch.Generator().manual_seed(9))
    assert gpu.is_cuda and torch.equal(gpu.cpu(), cpu)
    assert to_float(x.cuda(), (0.5,), (0.25,)).is_cuda
