"""P identities x K images a batch, every identity once an epoch, reproducible by its generator."""

from __future__ import annotations

import pytest
import torch

from advkt.reid.sampler import identity_batches


def test_batches_hold_p_identities_of_k_images_each():
    labels = torch.tensor([0] * 6 + [1] * 2 + [2] * 5 + [3] * 4 + [4] * 3)  # identity 1 has 2 < K
    batches = identity_batches(labels, p=2, k=3, generator=torch.Generator().manual_seed(0))
    assert len(batches) == 2  # 5 identities, P = 2: the fifth is dropped
    seen = []
    for b in batches:
        ids, counts = torch.unique(labels[b], return_counts=True)
        assert len(ids) == 2 and counts.tolist() == [3, 3]
        seen += ids.tolist()
    assert len(set(seen)) == 4  # no identity twice in an epoch
    again = identity_batches(labels, 2, 3, generator=torch.Generator().manual_seed(0))
    assert all(torch.equal(a, b) for a, b in zip(batches, again))
    with pytest.raises(ValueError, match="5 identities, fewer than P=6"):
        identity_batches(labels, 6, 2)
