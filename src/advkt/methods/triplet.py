r"""The re-ID baseline: softmax cross-entropy plus the batch-hard triplet loss (Hermans, Beyer,
Leibe, "In defense of the triplet loss for person re-identification", 2017) on the network's
pooled features f, with batches of P identities × K images (``train.images_per_identity``):

.. math::
    L = \mathrm{CE}(s, y) + \lambda\,\frac{1}{N}\sum_a \big[m + \max_{p:\,y_p = y_a}
        \lVert f_a - f_p\rVert_2 - \min_{n:\,y_n \ne y_a} \lVert f_a - f_n\rVert_2\big]_+

**Paper** (Hermans et al.): the batch-hard mining and the margin m = 0.3 of their soft-margin
alternative's hard form. **Ours**: the sum with CE at weight λ = 1 (``triplet_weight``), as the
common strong baselines do. The retrieval features are f, compared by Euclidean distance.
"""

from __future__ import annotations

from advkt.losses.triplet import batch_hard_triplet
from advkt.methods.base import Batch, Method, labelled_ce
from advkt.registry import register_method


@register_method("triplet")
class Triplet(Method):
    """Args (``method.args``): triplet_weight λ, margin m."""

    uses_teacher = False

    def __init__(self, student, teacher, num_classes, example_input, triplet_weight: float = 1.0,
                 margin: float = 0.3) -> None:  # fmt: skip
        super().__init__(student, teacher, num_classes, example_input)
        if triplet_weight < 0 or margin < 0:
            raise ValueError(f"triplet needs triplet_weight, margin >= 0; got {triplet_weight}, "
                             f"{margin}")  # fmt: skip
        self.triplet_weight, self.margin = triplet_weight, margin

    def student_loss(self, batch: Batch) -> dict:
        logits, feats = self.student_forward(batch, features=True)
        ce = labelled_ce(logits, batch.y)
        tri = batch_hard_triplet(feats.pooled, batch.y, self.margin)
        return {"loss": ce + self.triplet_weight * tri, "ce": ce, "triplet": tri}
