r"""BiAT: bidirectional adversarial training for semi-supervised domain adaptation (Jiang, Wu,
Han, Shao, Qi, Li, IJCAI 2020; ``papers/biat.md``; its full text and code were not at hand, so
every choice below that the summary does not state is **ours**, with a switch).

Networks (**paper**): HNet = the shared extractor F with the classifier C (the student:
model ``cosine_head``), trained on all data; TNet = F with its own classifier C_T (a cosine
classifier of this method), trained on the labelled target only. With x_l the labelled rows
(source and target shots), x_s the source, x_t the target shots, x_u the unlabelled target, H
the mean entropy and unit(v) = v / ‖v‖₂ per sample, each batch takes two steps:

.. math::
    \text{1.}\quad L = \mathrm{CE}(H(x_l), y_l) + \mathrm{CE}(T(x_t), y_t)
      + \alpha\,\mathrm{CE}(H(x_l + \delta_{AT}), y_l)
      + \beta\,\mathrm{CE}(H(x_s + \delta_{AAT}), y_s)
      + \gamma\,\big[\mathrm{KL}(\mathrm{sg}\,p_H(x_u)\,\Vert\,p_H(x_u + r))
                     + H(p_H(x_u + r))\big]

    \delta_{AT} = \epsilon_{AT}\,\mathrm{unit}(\nabla_x \mathrm{CE}(H(x_l), y_l)),\quad
    \delta_{AAT} = -\epsilon_{AAT}\,\mathrm{unit}(\nabla_x \mathrm{CE}(T(x_s), y_s)),\quad
    r = \epsilon_{VAT}\,\mathrm{unit}(d_{VAT})

    \text{2.}\quad L = -\lambda\, H\big(C(\mathrm{GRL}(F(x_u)))\big)\quad\text{(MME)}

- AT (**paper**: adversarial training on labelled data): an L2 step of ε_AT along HNet's loss
  gradient (**ours**: L2 rather than sign, one step).
- AAT (**paper**: source examples perturbed along the gradient of TNet's loss, moving them toward
  the target; HNet trained on them): **ours**, the step *descends* TNet's loss (toward where the
  target-trained TNet is right), ``aat_direction="ascent"`` flips it.
- E-VAT (**paper**: VAT on unlabelled target with an entropy penalty on the perturbed
  predictions): one power iteration (:func:`advkt.losses.domain.vat_direction`).
- Step 2 is MME's (λ = 0.1, T = 0.05, **paper**: BiAT builds on MME).

Weights α, β, γ (1 each) and radii ε (1 each, in the standardised feature units) are **ours**,
to be chosen on the target validation shots. Each of ``at_weight``, ``aat_weight``,
``evat_weight`` and ``lam`` set to 0 removes its term (the ablation).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from advkt.losses.domain import entropy, vat_direction, vat_loss
from advkt.methods.base import (
    Batch,
    Method,
    cosine_classifier,
    labelled_ce,
    minimax_entropy,
    unlabelled_target,
)
from advkt.nn.cosine import CosineClassifier
from advkt.registry import register_method


def _unit(v: torch.Tensor) -> torch.Tensor:
    return v / v.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (v.ndim - 1)))


def _loss_direction(loss: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """unit(∇_x loss(x)), detached (no parameter gradient is kept)."""
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(loss(x), x)
    return _unit(g.detach())


@register_method("biat")
class BiAT(Method):
    """Args (``method.args``): at_weight α, aat_weight β, evat_weight γ, lam λ, eps_at, eps_aat,
    eps_vat, aat_direction ("descent" | "ascent")."""

    uses_teacher = False
    teacher_on_batch = False  # a recipe's teacher is not run

    def __init__(
        self,
        student,
        teacher,
        num_classes,
        example_input,
        at_weight: float = 1.0,
        aat_weight: float = 1.0,
        evat_weight: float = 1.0,
        lam: float = 0.1,
        eps_at: float = 1.0,
        eps_aat: float = 1.0,
        eps_vat: float = 1.0,
        aat_direction: str = "descent",
    ) -> None:
        super().__init__(student, teacher, num_classes, example_input)
        fc = cosine_classifier(student, "biat")
        weights = {"at_weight": at_weight, "aat_weight": aat_weight, "evat_weight": evat_weight}
        for name, v in {**weights, "lam": lam}.items():
            if v < 0:
                raise ValueError(f"method.args.{name} must be >= 0, got {v}")
        for name, v in {"eps_at": eps_at, "eps_aat": eps_aat, "eps_vat": eps_vat}.items():
            if not v > 0:
                raise ValueError(f"method.args.{name} must be > 0, got {v}")
        if aat_direction not in ("descent", "ascent"):
            raise ValueError(
                f"method.args.aat_direction must be descent or ascent, got {aat_direction!r}"
            )
        self.t_head = CosineClassifier(
            fc.in_features, fc.out_features, fc.temperature
        )  # TNet's C_T
        self.at_weight, self.aat_weight, self.evat_weight, self.lam = (
            at_weight,
            aat_weight,
            evat_weight,
            lam,
        )
        self.eps_at, self.eps_aat, self.eps_vat = eps_at, eps_aat, eps_vat
        self.aat_sign = -1.0 if aat_direction == "descent" else 1.0

    def steps(self):
        return [("student", self.supervised), ("student", self.minimax)]

    def tnet(self, x: torch.Tensor) -> torch.Tensor:
        return self.t_head(self.student(x, features=True)[1].pooled)

    def supervised(self, batch: Batch) -> dict[str, torch.Tensor]:
        if batch.domain is None:
            raise ValueError("method 'biat' needs domain-adaptation data (e.g. dataset 'ssda')")
        lab = batch.y >= 0
        x_l, y_l = batch.x[lab], batch.y[lab]
        logits, feats = self.student(x_l, features=True)
        ce = labelled_ce(logits, y_l)
        shots = batch.domain[lab] == 1
        t_ce = labelled_ce(self.t_head(feats.pooled[shots]), y_l[shots])
        out = {"ce": ce, "tnet_ce": t_ce}
        loss = ce + t_ce
        if self.at_weight > 0 and len(x_l):
            d = _loss_direction(lambda x: labelled_ce(self.student(x), y_l), x_l)
            out["at"] = labelled_ce(self.student(x_l + self.eps_at * d), y_l)
            loss = loss + self.at_weight * out["at"]
        src = batch.domain == 0
        x_s, y_s = batch.x[src], batch.y[src]
        if self.aat_weight > 0 and len(x_s):
            d = _loss_direction(lambda x: labelled_ce(self.tnet(x), y_s), x_s)
            out["aat"] = labelled_ce(self.student(x_s + self.aat_sign * self.eps_aat * d), y_s)
            loss = loss + self.aat_weight * out["aat"]
        x_u = batch.x[unlabelled_target(batch)]
        if self.evat_weight > 0 and len(x_u):
            r = vat_direction(self.student, x_u, self.eps_vat)
            out["evat"] = vat_loss(self.student, x_u, r) + entropy(self.student(x_u + r))
            loss = loss + self.evat_weight * out["evat"]
        return {"loss": loss, **out}

    def minimax(self, batch: Batch) -> dict[str, torch.Tensor]:
        return minimax_entropy(self.student, batch, self.lam)
