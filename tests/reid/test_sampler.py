"""P identities x K images a batch, every image about once an epoch, reproducible by its
generator."""

from __future__ import annotations

import pytest
import torch

from advkt.reid.sampler import identity_batches


def test_batches_hold_p_identities_of_k_images_each_and_read_every_image_about_once():
    # identity 1 has 2 < K images; identity 0 has 7: two groups of 3 and one image left over
    labels = torch.tensor([0] * 7 + [1] * 2 + [2] * 6 + [3] * 3 + [4] * 3)
    batches = identity_batches(labels, p=2, k=3, generator=torch.Generator().manual_seed(0))
    # groups: 0 -> 2, 1 -> 1, 2 -> 2, 3 -> 1, 4 -> 1 (7 in all); P = 2 a batch, so at most 3
    # batches, and 3 exactly unless the draw leaves the last two groups to one identity
    assert len(batches) in (2, 3)
    assert all(len(b) == 6 for b in batches)
    for b in batches:
        ids, counts = torch.unique(labels[b], return_counts=True)
        assert len(ids) == 2 and counts.tolist() == [3, 3]  # two different identities
    picked = torch.cat(batches)
    for i, n in ((0, 7), (2, 6), (3, 3), (4, 3)):  # K or more images: none twice an epoch
        mine = picked[labels[picked] == i]
        assert len(mine) == len(set(mine.tolist())) <= n
    # over many epochs every image of a well-sampled identity is read
    gen = torch.Generator().manual_seed(1)
    seen = torch.cat([torch.cat(identity_batches(labels, 2, 3, generator=gen)) for _ in range(20)])
    assert set(seen.tolist()) == set(range(len(labels)))
    again = identity_batches(labels, 2, 3, generator=torch.Generator().manual_seed(0))
    assert all(torch.equal(a, b) for a, b in zip(batches, again))
    with pytest.raises(ValueError, match="5 identities, fewer than P=6"):
        identity_batches(labels, 6, 2)


def test_an_epoch_covers_the_images_not_the_identities():
    """100 identities of 23 images, P = 16, K = 4: 500 groups, 31 batches an epoch (the
    identity-once epoch would give 6)."""
    labels = torch.arange(100).repeat_interleave(23)
    batches = identity_batches(labels, 16, 4, generator=torch.Generator().manual_seed(0))
    assert 28 <= len(batches) <= 31
    assert len(torch.cat(batches).unique()) == 64 * len(batches)  # no image twice
