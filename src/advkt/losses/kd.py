"""Logit distillation losses: KD (Hinton et al. 2015) and DKD (Zhao et al., CVPR 2022).

Both are pure functions: logits in, a scalar tensor out, averaged over the batch ("batchmean").
The weights that sit outside the loss (KD's CE 0.1 / KD 0.9, DKD's warm-up) belong to the
methods that call these functions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _check_logits(s_logits: torch.Tensor, t_logits: torch.Tensor) -> None:
    if s_logits.ndim != 2 or t_logits.ndim != 2:
        raise ValueError(
            f"logits must be 2-D (N, K); got student {tuple(s_logits.shape)} and teacher "
            f"{tuple(t_logits.shape)}"
        )
    if s_logits.shape != t_logits.shape:
        raise ValueError(
            f"student and teacher logits must have the same shape; got {tuple(s_logits.shape)} "
            f"and {tuple(t_logits.shape)}"
        )


def _check_temperature(T: float) -> None:
    if not T > 0:
        raise ValueError(f"temperature T must be > 0; got {T}")


def kd_loss(s_logits: torch.Tensor, t_logits: torch.Tensor, T: float = 4.0) -> torch.Tensor:
    r"""Hinton et al. (2015), "Distilling the knowledge in a neural network".

    .. math::
        L_{KD} = T^2 \cdot \frac{1}{N} \sum_n \mathrm{KL}\big(p^t_n \,\|\, p^s_n\big),\quad
        p^t = \mathrm{softmax}(t/T),\; p^s = \mathrm{softmax}(s/T),

    with :math:`\mathrm{KL}(p\|q) = \sum_k p_k (\log p_k - \log q_k)`, summed over the K classes
    and averaged over the N samples (PyTorch's ``batchmean``, as in mdistiller ``kd_loss``).
    The factor :math:`T^2` keeps the gradient scale independent of T (Hinton et al., sec. 2).

    Args:
        s_logits: student logits (N, K).
        t_logits: teacher logits (N, K); gradients flow only through the student in practice,
            since the teacher is frozen, but nothing here detaches it.
        T: temperature, > 0 (standard 4).

    Returns:
        scalar tensor.
    """
    _check_logits(s_logits, t_logits)
    _check_temperature(T)
    log_ps = F.log_softmax(s_logits / T, dim=1)
    pt = F.softmax(t_logits / T, dim=1)
    # kl_div(log q, p) = sum p (log p - log q), with 0·log 0 = 0 where the teacher underflows
    return F.kl_div(log_ps, pt, reduction="batchmean") * T**2


def _binary_log_probs(logits: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """log [p_gt, 1 - p_gt] from logits (N, K), computed stably: (N, 2)."""
    lse_all = torch.logsumexp(logits, dim=1)
    lse_other = torch.logsumexp(logits.masked_fill(gt, float("-inf")), dim=1)
    log_p_gt = logits[gt] - lse_all
    return torch.stack([log_p_gt, lse_other - lse_all], dim=1)


def dkd_loss(
    s_logits: torch.Tensor,
    t_logits: torch.Tensor,
    target: torch.Tensor,
    alpha: float = 1.0,
    beta: float = 8.0,
    T: float = 4.0,
) -> torch.Tensor:
    r"""Decoupled knowledge distillation, Zhao et al. (CVPR 2022), as in mdistiller ``dkd_loss``.

    With :math:`p = \mathrm{softmax}(z/T)` over K classes and target class g:

    - binary split :math:`b = [p_g,\ 1 - p_g]`; TCKD :math:`= \mathrm{KL}(b^t \| b^s)`;
    - non-target distribution :math:`\hat p_k = p_k / (1 - p_g)` for :math:`k \ne g`, i.e. the
      softmax over the K-1 non-target logits; NCKD :math:`= \mathrm{KL}(\hat p^t \| \hat p^s)`;

    .. math::
        L_{DKD} = T^2 \cdot \frac{1}{N} \sum_n \big(\alpha\,\mathrm{TCKD}_n
        + \beta\,\mathrm{NCKD}_n\big).

    Classic KD decomposes as :math:`\mathrm{KL}(p^t\|p^s) = \mathrm{TCKD}
    + (1 - p^t_g)\,\mathrm{NCKD}` (DKD paper, eq. 7); DKD drops the coupling weight.
    Standard weights: alpha = 1, beta = 8 (2 for resnet56→resnet20, 6 for wrn40-2→wrn16-2 and
    vgg13→vgg8), T = 4; the 20-epoch linear warm-up is applied by the method.

    The log-probabilities are computed from log-sum-exps rather than mdistiller's
    ``log(sum of probabilities)`` and ``logit - 1000·mask``; the value is the same where those
    are finite, and stays finite where a probability underflows.

    Args:
        s_logits, t_logits: (N, K) logits, K >= 2.
        target: (N,) integer class indices in [0, K).
        alpha: weight of TCKD; beta: weight of NCKD; T: temperature, > 0.

    Returns:
        scalar tensor.
    """
    _check_logits(s_logits, t_logits)
    _check_temperature(T)
    n, k = s_logits.shape
    if k < 2:
        raise ValueError(f"DKD needs at least 2 classes; got logits with K={k}")
    if target.shape != (n,) or target.dtype.is_floating_point or target.dtype == torch.bool:
        raise ValueError(
            f"target must be an integer tensor of shape ({n},); got {target.dtype} "
            f"{tuple(target.shape)}"
        )
    if n and (int(target.min()) < 0 or int(target.max()) >= k):
        raise ValueError(
            f"target values must lie in [0, {k}); got range [{int(target.min())}, "
            f"{int(target.max())}]"
        )
    gt = F.one_hot(target, k).bool()
    zs, zt = s_logits / T, t_logits / T

    tckd = F.kl_div(_binary_log_probs(zs, gt), _binary_log_probs(zt, gt).exp(), reduction="sum")

    # keep only the K-1 non-target logits, so nothing masked ever enters a log
    other = ~gt
    zs_o, zt_o = zs[other].view(n, k - 1), zt[other].view(n, k - 1)
    nckd = F.kl_div(F.log_softmax(zs_o, dim=1), F.softmax(zt_o, dim=1), reduction="sum")

    return (alpha * tckd + beta * nckd) * T**2 / n
