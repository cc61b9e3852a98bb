r"""AAA-Net: attention-aware adversarial network for person re-ID (Shen et al., Applied Sciences
2019, 9(8), 1550; ``papers/reid.md``). Only the abstract is at hand: **paper** marks what it
states, **ours** how it is done here (each term with a weight that switches it off).

With A (N, C, h, w) the backbone's last feature map, W the classifier (its ``fc``, reading the
global average of A), y the identity and f the pooled feature:

1. The baseline (**paper** stage 1): CE(W f, y) + λ_t · batch-hard triplet(f) (as ``triplet``).
2. Attention assignment (**paper** stage 2: suppress the regions found, re-assign attention;
   **ours**): the class activation map of the true identity, CAM = Σ_c W_{y,c} A_c, marks the
   found region D (its positions at or above the ``erase_share`` quantile); an attention module
   M = σ(conv1x1(A ⊙ (1 − D))) weighs the rest, and the classifier must recognise the identity
   from it:  L_assign = CE(W · Σ_x M A (1 − D) / Σ_x M, y).
3. The adversarial stage (**paper**: the attention map in an adversarially trained network;
   **ours**, a minimax game of feature-map erasing, the paper's feature-level augmentation): an
   eraser E gives a soft mask m = σ(conv1x1(sg A)); E maximises the classifier's loss on the
   erased map under an area budget ρ, the network minimises it:

   .. math::
      L_E = -\mathrm{CE}(\mathrm{sg}W \cdot \overline{\mathrm{sg}A \odot (1 - m)}, y)
            + \gamma\,(\bar m - \rho)^2,\qquad
      L_{adv} = \mathrm{CE}(W \cdot \overline{A \odot (1 - \mathrm{sg}\,m)}, y).

The network's objective is L = CE + λ_t L_tri + λ_a L_assign + λ_e L_adv (λ_a = ``assign_weight``,
λ_e = ``adv_weight``; 0 removes a stage: the ablations). Steps: the eraser, then the network.
Retrieval uses f, as the baseline. For a network whose classifier reads the global average of
its last feature map (the ResNets here).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from advkt.losses.triplet import batch_hard_triplet
from advkt.methods.base import Batch, Method, labelled_ce
from advkt.registry import register_method


@register_method("aaanet")
class AAANet(Method):
    """Args: triplet_weight λ_t, margin, assign_weight λ_a, adv_weight λ_e, erase_share (the share
    of positions D covers), area ρ, area_weight γ, eraser_lr."""

    uses_teacher = False

    def __init__(self, student, teacher, num_classes, example_input, triplet_weight: float = 1.0,
                 margin: float = 0.3, assign_weight: float = 1.0, adv_weight: float = 1.0,
                 erase_share: float = 0.25, area: float = 0.25, area_weight: float = 10.0,
                 eraser_lr: float = 1e-3) -> None:  # fmt: skip
        super().__init__(student, teacher, num_classes, example_input)
        if not (0 < erase_share < 1 and 0 < area < 1):
            raise ValueError(f"aaanet needs erase_share and area in (0, 1); got {erase_share}, "
                             f"{area}")  # fmt: skip
        if not isinstance(getattr(student, "fc", None), nn.Linear):
            raise ValueError("aaanet needs a network whose classifier 'fc' is a linear layer")
        with torch.no_grad():
            _, feats = student.eval()(example_input, features=True)
        student.train()
        c = feats.stages[-1].shape[1]
        self.attention = nn.Conv2d(c, 1, 1)
        self.eraser = nn.Conv2d(c, 1, 1)
        self.triplet_weight, self.margin = triplet_weight, margin
        self.assign_weight, self.adv_weight = assign_weight, adv_weight
        self.erase_share, self.area, self.area_weight = erase_share, area, area_weight
        self.e_opt = {"name": "adam", "lr": eraser_lr, "betas": (0.5, 0.999), "weight_decay": 0.0}

    def param_groups(self):
        net = [*self.student.parameters(), *self.attention.parameters()]
        return {"student": (net, None), "eraser": (list(self.eraser.parameters()), self.e_opt)}

    def steps(self):
        if self.adv_weight > 0:
            return [("eraser", self.eraser_loss), ("student", self.student_loss)]
        return [("student", self.student_loss)]

    def _mask(self, a: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.eraser(a))  # (N, 1, h, w)

    def eraser_loss(self, batch: Batch) -> dict:
        _, feats = self.student_forward(batch, features=True)
        a = feats.stages[-1].detach().float()
        m = self._mask(a)
        fc = self.student.fc
        logits = F.linear((a * (1 - m)).mean((2, 3)), fc.weight.detach(), fc.bias.detach())
        ce = labelled_ce(logits, batch.y)
        area = m.mean()
        loss = -ce + self.area_weight * (area - self.area) ** 2
        return {"loss": loss, "erased_ce": ce.detach(), "area": area.detach()}

    def student_loss(self, batch: Batch) -> dict:
        logits, feats = self.student_forward(batch, features=True)
        y, a = batch.y, feats.stages[-1]
        ce = labelled_ce(logits, y)
        out = {"ce": ce}
        loss = ce
        if self.triplet_weight > 0:
            out["triplet"] = batch_hard_triplet(feats.pooled, y, self.margin)
            loss = loss + self.triplet_weight * out["triplet"]
        fc = self.student.fc
        if self.assign_weight > 0:
            with torch.no_grad():  # the region the classifier finds now: the true class's CAM
                cam = torch.einsum("nchw,nc->nhw", a.float(), fc.weight[y.clamp_min(0)].float())
                cut = torch.quantile(cam.flatten(1), 1 - self.erase_share, dim=1)
                keep = (cam < cut.view(-1, 1, 1)).unsqueeze(1).to(a.dtype)  # 1 - D
            rest = a * keep
            w = torch.sigmoid(self.attention(rest)) * keep
            pooled = (w * rest).sum((2, 3)) / w.sum((2, 3)).clamp_min(1e-6)
            out["assign"] = labelled_ce(fc(pooled), y)
            loss = loss + self.assign_weight * out["assign"]
        if self.adv_weight > 0:
            m = self._mask(a.detach().float()).detach().to(a.dtype)
            out["adv"] = labelled_ce(fc((a * (1 - m)).mean((2, 3))), y)
            loss = loss + self.adv_weight * out["adv"]
        out["loss"] = loss
        return out
