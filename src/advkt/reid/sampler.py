"""The identity sampler of re-ID training with a triplet loss (Hermans et al. 2017, "In defense
of the triplet loss"): each batch holds P identities × K images of each.

An epoch visits every training identity once, in a shuffled order, P at a time (the last
incomplete group is dropped); each identity contributes K of its images drawn without
replacement, or with replacement when it has fewer than K.
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
    members = {int(i): (labels == i).nonzero().flatten() for i in ids}
    order = ids[torch.randperm(len(ids), generator=generator)]
    batches = []
    for start in range(0, len(order) - p + 1, p):
        picks = []
        for i in order[start : start + p].tolist():
            m = members[i]
            if len(m) >= k:
                picks.append(m[torch.randperm(len(m), generator=generator)[:k]])
            else:
                picks.append(m[torch.randint(len(m), (k,), generator=generator)])
        batches.append(torch.cat(picks))
    return batches
