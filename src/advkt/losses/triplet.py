"""The batch-hard triplet loss (Hermans, Beyer, Leibe, "In defense of the triplet loss for person
re-identification", 2017): for each anchor, its farthest positive and nearest negative in the
batch,

.. math:: \frac{1}{N}\\sum_a \big[m + \\max_{p:\\,y_p = y_a} \\lVert f_a - f_p\rVert_2
          - \\min_{n:\\,y_n \ne y_a} \\lVert f_a - f_n\rVert_2\big]_+ .
"""

from __future__ import annotations

import torch


def batch_hard_triplet(f: torch.Tensor, y: torch.Tensor, margin: float = 0.3) -> torch.Tensor:
    """The batch-hard triplet loss of features f (N, D) with identities y (N,); anchors without a
    positive or a negative in the batch are left out (0 when none is left)."""
    d = torch.cdist(f.float(), f.float())
    same = y[:, None] == y[None]
    eye = torch.eye(len(y), dtype=torch.bool, device=y.device)
    pos = (same & ~eye).any(1) & (~same).any(1)
    if not pos.any():
        return f.sum() * 0
    hardest_pos = d.masked_fill(~same | eye, float("-inf")).amax(1)
    hardest_neg = d.masked_fill(same, float("inf")).amin(1)
    return torch.relu(margin + hardest_pos - hardest_neg)[pos].mean()
