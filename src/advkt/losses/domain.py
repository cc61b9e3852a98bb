r"""Losses of the semi-supervised domain-adaptation methods (MME, ENT, VAT, BiAT).

- :func:`entropy`: :math:`H(p) = -\frac1N \sum_n \sum_k p_{nk} \log p_{nk}` of softmax(z).
- :func:`vat_direction` and :func:`vat_loss`: virtual adversarial training (Miyato et al. 2018):
  :math:`r = \epsilon\, d/\lVert d\rVert` with d found by power iteration on
  :math:`\mathrm{KL}(p(x)\,\Vert\,p(x + \xi d))`, and the loss
  :math:`\mathrm{KL}(\mathrm{sg}(p(x))\,\Vert\,p(x + r))`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """Mean entropy of softmax(logits) over the batch; 0 for an empty batch."""
    if logits.shape[0] == 0:
        return logits.sum() * 0
    logp = F.log_softmax(logits.float(), dim=1)
    return -(logp.exp() * logp).sum(1).mean()


def _unit(d: torch.Tensor) -> torch.Tensor:
    return d / d.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (d.ndim - 1)))


def vat_direction(
    f: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    eps: float,
    xi: float = 10.0,
    iterations: int = 1,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The virtual adversarial perturbation r (shaped like x, ‖r_n‖₂ = eps) of ``f`` at x.

    ξ = 10 (**ours**, the PyTorch ports' value; Miyato et al.'s 1e-6 makes the KL between two
    nearly equal float32 softmaxes underflow, so the gradient, and r, of some rows is exactly
    0). A row whose gradient is still 0 keeps its random direction."""
    with torch.no_grad():
        p = F.softmax(f(x).float(), dim=1)
    d = _unit(torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype))
    for _ in range(iterations):
        probe = (xi * d).requires_grad_(True)
        kl = F.kl_div(F.log_softmax(f(x + probe).float(), dim=1), p, reduction="sum")
        (grad,) = torch.autograd.grad(kl, probe)
        zero = grad.flatten(1).norm(dim=1) == 0
        d = torch.where(zero.view(-1, *([1] * (x.ndim - 1))), d, _unit(grad.detach()))
    return eps * d


def vat_loss(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, r: torch.Tensor
) -> torch.Tensor:
    """KL(sg(p(x)) ‖ p(x + r)), averaged over the batch; 0 for an empty batch."""
    if x.shape[0] == 0:
        return x.sum() * 0
    with torch.no_grad():
        p = F.softmax(f(x).float(), dim=1)
    return F.kl_div(F.log_softmax(f(x + r).float(), dim=1), p, reduction="batchmean")
