r"""Adversarial losses: discriminator and generator sides of four GAN games, WGAN-GP, and the
weight penalty of adversarial network compression.

Logits are raw discriminator outputs (any shape; each element is one sample's score), "real" is
the side D should accept (teacher logits, real data) and "fake" the side it should reject
(student logits, generated data). With s = sigmoid, r = D(real), f = D(fake), E the mean:

=====  ===================================  ==========================
kind   discriminator loss                   generator loss
=====  ===================================  ==========================
gan    -E log s(r) - E log(1 - s(f))        -E log s(f)
lsgan  1/2 E (r - 1)^2 + 1/2 E f^2          1/2 E (f - 1)^2
hinge  E relu(1 - r) + E relu(1 + f)        -E f
wgan   E f - E r                            -E f
=====  ===================================  ==========================

gan: Goodfellow et al. (2014), with the non-saturating generator loss of the same paper.
lsgan: Mao et al. (ICCV 2017), labels a=0, b=1, c=1. hinge: Lim & Ye (2017), Miyato et al.
(2018). wgan: Arjovsky et al. (2017); pair it with :func:`gradient_penalty` (Gulrajani et al.
2017) rather than weight clipping.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

KINDS = ("gan", "lsgan", "hinge", "wgan")


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown GAN loss kind {kind!r}; expected one of {', '.join(KINDS)}")


def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, kind: str = "gan") -> torch.Tensor:
    """Discriminator (critic) loss to minimise; see the module table for each ``kind``.

    Args:
        real_logits: D's raw outputs on real samples (any shape, one element per sample).
        fake_logits: D's raw outputs on fake samples (detach them from the generator first).
        kind: "gan", "lsgan", "hinge" or "wgan".
    """
    _check_kind(kind)
    if kind == "gan":
        return F.binary_cross_entropy_with_logits(
            real_logits, torch.ones_like(real_logits)
        ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    if kind == "lsgan":
        return 0.5 * (real_logits - 1).pow(2).mean() + 0.5 * fake_logits.pow(2).mean()
    if kind == "hinge":
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
    return fake_logits.mean() - real_logits.mean()


def g_loss(fake_logits: torch.Tensor, kind: str = "gan") -> torch.Tensor:
    """Generator (student) loss to minimise: make D score the fakes as real; see the table.

    Args:
        fake_logits: D's raw outputs on fake samples, with the graph to the generator kept.
        kind: "gan", "lsgan", "hinge" or "wgan".
    """
    _check_kind(kind)
    if kind == "gan":
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    if kind == "lsgan":
        return 0.5 * (fake_logits - 1).pow(2).mean()
    return -fake_logits.mean()


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor | tuple[torch.Tensor, ...]],
    real: torch.Tensor,
    fake: torch.Tensor,
    weight: float = 10.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""WGAN-GP penalty, Gulrajani et al. (NeurIPS 2017), eq. 3.

    .. math::
        \lambda\, E_{\hat x}\big(\|\nabla_{\hat x} D(\hat x)\|_2 - 1\big)^2,\quad
        \hat x = \epsilon x_r + (1 - \epsilon) x_f,\ \epsilon \sim U[0, 1]\ \text{per sample},

    with the norm over all non-batch dims and lambda = ``weight`` (the paper's 10). The
    interpolates are detached from ``real`` and ``fake``, so the penalty trains the critic only;
    the gradient graph is kept (``create_graph``) so it can be back-propagated.

    The critic must score each sample on its own: no batch norm in training mode (the paper
    uses layer norm for that reason). If it returns a tuple (as
    :class:`advkt.nn.LogitDiscriminator` does), the first element is the score.

    Args:
        critic: maps (N, ...) to scores (N,) or (N, 1).
        real, fake: (N, ...) samples of the same shape.
        weight: lambda.
        generator: optional RNG for epsilon.
    """
    if real.shape != fake.shape:
        raise ValueError(
            f"gradient penalty needs real and fake of the same shape; got {tuple(real.shape)} "
            f"and {tuple(fake.shape)}"
        )
    x_hat = interpolates(real, fake, generator)
    score = critic(x_hat)
    if isinstance(score, tuple):
        score = score[0]
    (grad,) = torch.autograd.grad(score.sum(), x_hat, create_graph=True)
    return weight * unit_gradient_penalty(grad)


def interpolates(
    real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """x̂ = ε x_r + (1 − ε) x_f, ε ~ U[0, 1] per sample, detached from both, requiring grad."""
    eps_shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    # a generator can only draw on its own device; eps then moves to the samples
    where = generator.device if generator is not None else real.device
    eps = torch.rand(eps_shape, generator=generator, dtype=real.dtype, device=where)
    eps = eps.to(real.device)
    return (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)


def unit_gradient_penalty(grad: torch.Tensor) -> torch.Tensor:
    """E (‖g‖₂ − 1)² over the batch of gradients g (norm over the non-batch dims)."""
    # the tiny constant keeps the square root differentiable where a gradient is exactly zero
    norm = (grad.flatten(1).pow(2).sum(dim=1) + 1e-12).sqrt()
    return (norm - 1).pow(2).mean()


def weight_penalty(module: nn.Module, l1: float, l2: float) -> torch.Tensor:
    r"""L1 + L2 penalty on a module's weights, the regulariser of L_reg.

    .. math:: l_1 \sum_w |w| + l_2 \sum_w w^2,

    summed over every trainable parameter with two or more dims (the weights of linear and
    convolution layers). Biases and normalisation scales/shifts are left out (**ours**: the
    paper does not say; pulling a batch-norm scale toward zero would fight the normalisation).
    In HKSANC (hksanc.md, after Belagiannis et al. 2018, "Adversarial network compression"),
    L_reg = −mu·(|w_D| + ||w_D||² − E log D(s)) is written for D's maximisation; on D's side,
    as a loss to minimise, it is ``weight_penalty(D, mu, mu) + mu * g_loss(D(s), "gan")``: weight
    decay on D plus a term that labels student logits as real. For HKSANC's
    :class:`~advkt.nn.discriminator.LogitDiscriminator` the penalised entries are those of its
    three linear weight matrices; its biases and batch-norm scales and shifts are not.
    """
    params = [p for p in module.parameters() if p.requires_grad and p.ndim >= 2]
    if not params:
        raise ValueError(
            f"{type(module).__name__} has no trainable weight matrices (parameters with 2 or "
            f"more dims) to penalise"
        )
    l1_sum = sum(p.abs().sum() for p in params)
    l2_sum = sum(p.pow(2).sum() for p in params)
    return l1 * l1_sum + l2 * l2_sum
