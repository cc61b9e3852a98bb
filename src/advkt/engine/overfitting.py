"""Catastrophic overfitting of single-step adversarial training (Wong, Rice & Kolter 2020).

FGSM-based training can flip, within an epoch, to a model that resists FGSM and nothing else:
its PGD accuracy collapses while its FGSM accuracy climbs. Wong et al. detect it by the PGD
accuracy on a training minibatch and keep the model of the epoch before. The engine does so
after every epoch of a single-step run (``attack: fast`` or ``fgsm``) with
``train.adversarial.overfit_check``: PGD-10 (step eps/4, random
start) and FGSM accuracy on the first :data:`SAMPLES` training samples, logged as
``train_pgd_acc`` and ``train_fgsm_acc``; a PGD accuracy more than :data:`DROP` points below its
best so far raises :class:`CatastrophicOverfitting` before that epoch is saved, so the last
checkpoint is the epoch before the collapse. So does an FGSM accuracy more than :data:`GAP`
points above the PGD accuracy (**ours**): the model has learned to resist the single-step attack
only, the same failure from the first epoch on (LeNet-5 under FGSM at eps 0.3 on MNIST: FGSM
76-86 %, PGD-10 8-12 % over four epochs). During a radius warm-up (``eps_warmup_epochs``) both
attacks use the radius the epoch ended at, and only the gap is checked: the PGD accuracy falls
as the radius grows, so the drop is measured from the best epoch at the full radius.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext

import torch
from torch import nn

from advkt.attacks import at_epoch
from advkt.data.base import TensorData
from advkt.engine.evaluation import accuracy
from advkt.errors import DivergenceError
from advkt.recipe import AdversarialSpec

SAMPLES = 1024
DROP = 20.0  # points of PGD accuracy below the best epoch's
GAP = 50.0  # points of FGSM accuracy above PGD accuracy


class CatastrophicOverfitting(DivergenceError):
    """PGD accuracy collapsed under single-step adversarial training."""


def attack_accuracies(
    model: nn.Module,
    train: TensorData,
    spec: AdversarialSpec,
    device: torch.device,
    batch_size: int,
    autocast: Callable = nullcontext,
    epoch: float | None = None,
) -> dict[str, float]:
    """PGD-10 and FGSM accuracy (%) of ``model`` on the first :data:`SAMPLES` of ``train``, at
    the radius training reached at ``epoch`` (its warm-up, :func:`advkt.attacks.at_epoch`)."""
    spec = at_epoch(spec, epoch)
    kw = dict(limit=SAMPLES, eps=spec.eps)
    pgd = accuracy(
        model, train, device, batch_size, autocast, "pgd", step=spec.eps / 4, steps=10, **kw
    )
    fgsm = accuracy(model, train, device, batch_size, autocast, "fgsm", **kw)
    return {"train_pgd_acc": pgd["robust"], "train_fgsm_acc": fgsm["robust"]}


def check(now: dict[str, float], best_pgd: float, epoch: int, kept: str) -> None:
    """Raise :class:`CatastrophicOverfitting` when this epoch's PGD accuracy fell more than
    :data:`DROP` points below ``best_pgd`` (the best of the epochs before), or lies more than
    :data:`GAP` points below its FGSM accuracy."""
    pgd, fgsm = now["train_pgd_acc"], now["train_fgsm_acc"]
    if pgd < best_pgd - DROP:
        raise CatastrophicOverfitting(
            f"catastrophic overfitting at epoch {epoch}: PGD-10 accuracy on {SAMPLES} training "
            f"samples fell to {pgd:.1f} % from {best_pgd:.1f} % while FGSM accuracy is "
            f"{fgsm:.1f} % (Wong et al. 2020); training stopped, {kept} (the model before the "
            "collapse). Train fewer epochs, or use attack: pgd"
        )
    if fgsm > pgd + GAP:
        raise CatastrophicOverfitting(
            f"catastrophic overfitting at epoch {epoch}: FGSM accuracy on {SAMPLES} training "
            f"samples is {fgsm:.1f} % but PGD-10 accuracy {pgd:.1f} %: the model resists the "
            f"single-step attack only (Wong et al. 2020); training stopped, {kept}. Use a "
            "larger network, attack: pgd, or a smaller eps"
        )
