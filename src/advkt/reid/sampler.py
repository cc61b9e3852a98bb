"""The identity sampler of re-ID training with a triplet loss (Hermans et al. 2017, "In defense
of the triplet loss"): each batch holds P identities × K images of each.

An epoch visits every training image about once, as torchreid's and the "bag of tricks"
baseline's ``RandomIdentitySampler`` do: each identity's images, shuffled, are cut into groups
of K (an identity with fewer than K images gives one group drawn with replacement; a last group
shorter than K is dropped, a different one each epoch); each batch then takes one group from
each of P identities drawn at random among those with groups left, until fewer than P remain.
(Hermans et al.'s own epoch visits every identity once: with 24 images an identity and K = 4 it
reads a sixth of the images, and a recipe's epochs would mean six times less training.)
"""

from __future__ import annotations

import torch


def identity_batches(
    labels: torch.Tensor, p: int, k: int, generator: torch.Generator | None = None
) -> list[torch.Tensor]:
    """One epoch of (P·K,) index tensors into ``labels`` (training identities 0..n-1)."""
    if p < 1 or k < 1:
        raise ValueError(f"identity_batches needs P >= 1 and K >= 1, got P={p}, K={k}")
    ids = torch.unique(labels)
    if len(ids) < p:
        raise ValueError(f"identity_batches: {len(ids)} identities, fewer than P={p}")
    groups: dict[int, list[torch.Tensor]] = {}
    for i in ids.tolist():
        m = (labels == i).nonzero().flatten()
        if len(m) < k:
            groups[i] = [m[torch.randint(len(m), (k,), generator=generator)]]
        else:
            m = m[torch.randperm(len(m), generator=generator)]
            groups[i] = list(m[: len(m) // k * k].split(k))
    batches = []
    left = ids.tolist()  # identities with groups left
    while len(left) >= p:
        picked = [left[j] for j in torch.randperm(len(left), generator=generator)[:p].tolist()]
        batches.append(torch.cat([groups[i].pop() for i in picked]))
        left = [i for i in left if groups[i]]
    return batches
