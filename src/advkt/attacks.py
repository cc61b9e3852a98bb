"""ℓ∞ adversarial attacks in pixel space: FGSM and PGD, and robust accuracy.

FGSM (Goodfellow et al., ICLR 2015):
    x' = clip_[lo,hi](x + ε·sign(∇_x L(f(n(x)), y)))
PGD (Madry et al., ICLR 2018), from x_0 = clip(x + U(−ε, ε)^d) (or x_0 = x), for t = 0..T−1:
    x_{t+1} = clip_[lo,hi](Π_{B∞(x, ε)}(x_t + α·sign(∇_x L(f(n(x_t)), y))))
A targeted attack with target labels t descends instead: x_t − α·sign(∇_x L(f(n(x_t)), t)).

``x`` is always in pixel space and ``clamp = (lo, hi)`` is the real pixel range (``(0, 1)`` for
images scaled to [0, 1]); a model trained on normalised inputs gets ``normalize = n`` (for example
``lambda x: (x - mean) / std``), applied inside the attack before the model, so ε and the clamp
mean what they say. The attack loss L is computed in float32 even under autocast, gradients are
taken with respect to the input only (no parameter ``.grad`` is touched), and the model runs in
eval mode during the attack (each submodule's own mode is restored afterwards). Under
DistributedDataParallel the wrapped module is attacked directly, so no gradient sync is triggered.
Used for adversarial training and evaluation in Lee & Lee 2021 (robust_compression.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from advkt.distributed import unwrap
from advkt.nn.modes import eval_mode

if TYPE_CHECKING:
    from advkt.data.base import TensorData
    from advkt.recipe import AdversarialSpec

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Clamp = tuple[float, float] | None


def _loss(logits: torch.Tensor, y: torch.Tensor, loss_fn: LossFn | None) -> torch.Tensor:
    logits = logits.float()  # a half-precision loss under autocast would give a noisy sign
    if loss_fn is None:
        return F.cross_entropy(logits, y, reduction="sum")
    return loss_fn(logits, y)


def _input_grad(
    model: nn.Module,
    x_adv: torch.Tensor,
    y: torch.Tensor,
    normalize: Callable[[torch.Tensor], torch.Tensor] | None,
    loss_fn: LossFn | None,
) -> torch.Tensor:
    x_adv = x_adv.detach().requires_grad_(True)
    logits = model(normalize(x_adv) if normalize is not None else x_adv)
    loss = _loss(logits, y, loss_fn)
    if loss.dim() != 0:
        raise ValueError(f"attack loss_fn must return a scalar, got shape {tuple(loss.shape)}")
    (grad,) = torch.autograd.grad(loss, x_adv)  # inputs=x only: parameter grads are not computed
    return grad


def _check(x: torch.Tensor, y: torch.Tensor, eps: float) -> None:
    if eps < 0:
        raise ValueError(f"attack eps must be >= 0, got {eps}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"attack got {x.shape[0]} inputs but {y.shape[0]} labels")
    if not x.is_floating_point():
        raise ValueError(f"attack inputs must be floating point pixels, got dtype {x.dtype}")


def _clip(x: torch.Tensor, clamp: Clamp) -> torch.Tensor:
    return x if clamp is None else x.clamp(clamp[0], clamp[1])


def fgsm(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    clamp: Clamp = (0.0, 1.0),
    targeted: bool = False,
    normalize: Callable[[torch.Tensor], torch.Tensor] | None = None,
    loss_fn: LossFn | None = None,
) -> torch.Tensor:
    """One signed-gradient step of size ε: x' = clip(x ± ε·sign(∇_x L)).

    x: (N, ...) pixels; y: (N,) true labels, or target labels when ``targeted``. Returns a detached
    tensor shaped like x with ‖x' − x‖∞ ≤ ε inside ``clamp``.
    """
    return pgd(
        model, x, y, eps, step=eps, steps=1, random_start=False, clamp=clamp,
        targeted=targeted, normalize=normalize, loss_fn=loss_fn,
    )  # fmt: skip


def pgd(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    step: float,
    steps: int,
    random_start: bool = True,
    clamp: Clamp = (0.0, 1.0),
    targeted: bool = False,
    loss_fn: LossFn | None = None,
    normalize: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """ℓ∞ projected gradient descent of Madry et al. (see the module docstring).

    eps: radius ε of the ℓ∞ ball; step: α; steps: T. loss_fn(logits_float32, y) -> scalar,
    default the summed cross-entropy (the sign step does not depend on the reduction).
    Returns a detached tensor shaped like x with ‖x' − x‖∞ ≤ ε inside ``clamp``.
    """
    _check(x, y, eps)
    if steps < 0 or step < 0:
        raise ValueError(f"pgd needs steps >= 0 and step >= 0, got steps={steps}, step={step}")
    net = unwrap(model)
    x = x.detach().clone() if x.is_inference() else x.detach()  # inference tensors take no grad
    lo, hi = x - eps, x + eps
    x_adv = x.clone()
    if random_start and eps > 0:
        x_adv = _clip(x_adv + torch.empty_like(x).uniform_(-eps, eps), clamp)
    if eps == 0 or steps == 0:
        return x_adv
    sign = -1.0 if targeted else 1.0
    with eval_mode(net), torch.enable_grad():
        for _ in range(steps):
            grad = _input_grad(net, x_adv, y, normalize, loss_fn)
            x_adv = x_adv.detach() + sign * step * grad.sign()
            x_adv = _clip(torch.min(torch.max(x_adv, lo), hi), clamp)
    return x_adv.detach()


ATTACKS: dict[str, Callable[..., torch.Tensor]] = {"fgsm": fgsm, "pgd": pgd}


@torch.no_grad()
def _predict(
    model: nn.Module, x: torch.Tensor, normalize: Callable[[torch.Tensor], torch.Tensor] | None
) -> torch.Tensor:
    return model(normalize(x) if normalize is not None else x).argmax(dim=1)


def robust_accuracy(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    attack: str | Callable[..., torch.Tensor] | None,
    batch_size: int = 256,
    **kw,
) -> float:
    """Fraction of inputs classified correctly after the attack: (1/N)·Σ 1[argmax f(n(x'_i)) = y_i].

    attack: "fgsm", "pgd", a callable with the signature of :func:`fgsm`, or None (clean
    accuracy). ``kw`` goes to the attack (eps, step, steps, clamp, normalize, ...); ``normalize``
    is also applied for the final prediction. Batches are moved to the model's device.
    """
    if isinstance(attack, str):
        if attack not in ATTACKS:
            raise ValueError(f"unknown attack '{attack}'; valid attacks: {', '.join(ATTACKS)}")
        attack = ATTACKS[attack]
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"robust_accuracy got {x.shape[0]} inputs but {y.shape[0]} labels")
    net = unwrap(model)
    param = next(net.parameters(), None)
    device = param.device if param is not None else x.device
    normalize = kw.get("normalize")
    correct = 0
    with eval_mode(net):
        for i in range(0, x.shape[0], batch_size):
            xb, yb = x[i : i + batch_size].to(device), y[i : i + batch_size].to(device)
            if attack is not None:
                xb = attack(net, xb, yb, **kw)
            correct += int((_predict(net, xb, normalize) == yb).sum())
    return correct / max(1, x.shape[0])


# --------------------------------------------------------------------------- a data set's batches


def pixel_normalizer(data: TensorData):
    """``(pixels in [0, 1]) -> model input`` for ``data``; attacks work in pixel space."""
    if data.x.dtype != torch.uint8 or not data.mean:
        return lambda z: z
    shape = (1, -1) + (1,) * (data.x.dim() - 2)
    mean = torch.tensor(data.mean).view(shape)
    std = torch.tensor(data.std).view(shape)
    return lambda z: (z - mean.to(z.device)) / std.to(z.device)


def pixels(x: torch.Tensor) -> tuple[torch.Tensor, Clamp]:
    """Stored inputs -> (what attacks perturb, its clamp): uint8 images as pixels in [0, 1]
    clamped there; float data (signals, features) as they are, without a clamp."""
    if x.dtype == torch.uint8:
        return x.float() / 255, (0.0, 1.0)
    return x.float(), None


def at_epoch(spec: AdversarialSpec, epoch: float | None) -> AdversarialSpec:
    """``spec`` at fractional ``epoch`` of training: during ``spec.eps_warmup_epochs`` the radius
    and the step are ``epoch / eps_warmup_epochs`` of theirs (from 0), afterwards (and for
    ``epoch=None``) ``spec`` itself."""
    if spec.eps_warmup_epochs <= 0 or epoch is None or epoch >= spec.eps_warmup_epochs:
        return spec
    f = max(epoch, 0.0) / spec.eps_warmup_epochs
    # model_construct: a radius of 0 is valid here (the clean input), not in a recipe
    return type(spec).model_construct(**{**dict(spec), "eps": spec.eps * f, "step": spec.step * f})


def attack_batch(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    data: TensorData,
    spec: AdversarialSpec,
    epoch: float | None = None,
) -> torch.Tensor:
    """Replace a training batch of ``data`` (as stored: uint8 pixels or float) by adversarial
    examples against ``model`` (``train.adversarial``; Madry et al. 2018); returns normalised
    inputs. Unlabelled samples (``y < 0``) are attacked away from the model's own prediction.
    ``epoch`` (fractional, the batch's place in training) scales the radius and the steps during
    ``spec.eps_warmup_epochs``; None: the full radius."""
    spec = at_epoch(spec, epoch)
    if spec.eps <= 0:  # the very first batch of a warm-up: a radius of 0 is the clean input
        return pixel_normalizer(data)(pixels(x)[0])
    norm = pixel_normalizer(data)
    pix, clamp = pixels(x)
    if (y < 0).any():
        with torch.no_grad():
            y = torch.where(y >= 0, y, model(norm(pix)).argmax(1))
    if spec.attack == "fgsm":
        adv = fgsm(model, pix, y, spec.eps, clamp=clamp, normalize=norm)
    elif spec.attack == "fast":  # Wong et al. 2020: random start, one step of 1.25 eps
        adv = pgd(model, pix, y, spec.eps, 1.25 * spec.eps, 1, clamp=clamp, normalize=norm)
    else:
        adv = pgd(
            model,
            pix,
            y,
            spec.eps,
            spec.step,
            spec.steps,
            random_start=spec.random_start,
            clamp=clamp,
            normalize=norm,
        )
    return norm(adv)
