"""Feature distillation losses: FitNet, attention transfer (AT) and FSP.

Features follow :class:`advkt.models.base.Features`: (N, C, *S) with spatial dims S = (H, W) for
images, (L,) for 1-D signals and (1,) for MLP layers. Every function here flattens dims 2.. so the
same code serves all of them; where two maps must be compared position by position and their
spatial sizes differ, the larger is average-pooled to the smaller (adaptive average pooling, as
RepDistiller and mdistiller do for AT and FSP). The loss weights (FitNet 100, AT 1000, FSP 50) are
applied by the methods, not here.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

_POOL = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}


def _check_feature(f: torch.Tensor, name: str) -> None:
    if f.ndim < 3:
        raise ValueError(
            f"{name} must be a feature map (N, C, *S) with at least one spatial dim (use (N, C, 1) "
            f"for a vector); got shape {tuple(f.shape)}"
        )


def match_spatial(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Average-pool whichever of two (N, C, *S) maps is larger to the other's spatial size.

    Each spatial dim is brought to ``min`` of the two sizes, so (8, 8) vs (4, 4) pools the first
    to (4, 4), and the (unusual) (8, 4) vs (4, 8) pools both to (4, 4). Equal sizes pass through.
    """
    _check_feature(a, "first feature")
    _check_feature(b, "second feature")
    if a.ndim != b.ndim:
        raise ValueError(
            f"features must have the same number of spatial dims; got shapes {tuple(a.shape)} "
            f"and {tuple(b.shape)}"
        )
    if a.shape[2:] == b.shape[2:]:
        return a, b
    rank = a.ndim - 2
    if rank not in _POOL:
        raise ValueError(f"pooling supports 1 to 3 spatial dims; got shape {tuple(a.shape)}")
    size = tuple(min(x, y) for x, y in zip(a.shape[2:], b.shape[2:]))
    pool = _POOL[rank]
    if a.shape[2:] != size:
        a = pool(a, size)
    if b.shape[2:] != size:
        b = pool(b, size)
    return a, b


def fitnet_loss(s_feat_regressed: torch.Tensor, t_feat: torch.Tensor) -> torch.Tensor:
    r"""FitNet hint loss, Romero et al. (ICLR 2015).

    .. math:: L_{hint} = \frac{1}{N C |S|} \sum (r(F_s) - F_t)^2,

    the mean squared error over every element, as mdistiller (``F.mse_loss``) and RepDistiller
    (``HintLoss``); the paper's :math:`\tfrac12\|\cdot\|^2` differs only by a constant that the
    weight (beta = 100, applied by the method) absorbs. ``r`` is the method's 1x1 conv regressor,
    already applied: both inputs must have the same shape.
    """
    if s_feat_regressed.shape != t_feat.shape:
        raise ValueError(
            f"FitNet needs the regressed student feature and the teacher feature to have the "
            f"same shape; got {tuple(s_feat_regressed.shape)} and {tuple(t_feat.shape)}"
        )
    return F.mse_loss(s_feat_regressed, t_feat)


def attention_map(f: torch.Tensor, p: float = 2) -> torch.Tensor:
    r"""Spatial attention map of Zagoruyko & Komodakis (ICLR 2017), as in RepDistiller/mdistiller.

    .. math:: a = \frac{Q}{\|Q\|_2},\quad Q = \mathrm{vec}\Big(\frac{1}{C}\sum_c |F_c|^p\Big),

    one map per sample: (N, C, *S) → (N, |S|), each row of unit L2 norm (a zero row stays zero).
    Mean rather than sum over channels, which the normalisation cancels anyway; |F| rather than
    RepDistiller's F, which agrees for p = 2 and for post-ReLU features.
    """
    _check_feature(f, "feature")
    return F.normalize(f.abs().pow(p).mean(dim=1).flatten(1), dim=1)


def at_loss(
    s_feats: Sequence[torch.Tensor], t_feats: Sequence[torch.Tensor], p: float = 2
) -> torch.Tensor:
    r"""Attention transfer loss (Zagoruyko & Komodakis 2017), RepDistiller/mdistiller convention.

    .. math::
        L_{AT} = \sum_{j} \frac{1}{N |S_j|} \sum_{n, x} \big(a^s_{j}(n, x) - a^t_{j}(n, x)\big)^2,

    with :math:`a` from :func:`attention_map` (L2-normalised per sample), i.e. for each pair j of
    student/teacher features the squared difference is *averaged* over the batch and the
    positions, and the pairs are *summed*. The paper's form, :math:`\tfrac{\beta}{2}\sum_j
    \|a^s_j - a^t_j\|_p` per sample, is not what the reference code optimises; this one is, and
    it is what beta = 1000 (applied by the method, not here) is tuned for. Channel counts may
    differ between student and teacher; if spatial sizes differ the larger map is pooled to the
    smaller before the attention maps are taken.

    Args:
        s_feats, t_feats: equally long sequences of (N, C, *S) features (a single tensor each is
            also accepted).
        p: the power on |F| (standard 2).
    """
    if isinstance(s_feats, torch.Tensor):
        s_feats = [s_feats]
    if isinstance(t_feats, torch.Tensor):
        t_feats = [t_feats]
    if len(s_feats) != len(t_feats) or not s_feats:
        raise ValueError(
            f"AT needs the same non-zero number of student and teacher features; got "
            f"{len(s_feats)} and {len(t_feats)}"
        )
    total = s_feats[0].new_zeros(())
    for fs, ft in zip(s_feats, t_feats):
        fs, ft = match_spatial(fs, ft)
        total = total + (attention_map(fs, p) - attention_map(ft, p)).pow(2).mean()
    return total


def fsp_matrix(f1: torch.Tensor, f2: torch.Tensor) -> torch.Tensor:
    r"""Flow of solution procedure matrix, Yim et al. (CVPR 2017).

    .. math:: G_{n,i,j} = \frac{1}{|S|} \sum_{x \in S} F^1_{n,i}(x)\, F^2_{n,j}(x),

    for f1 (N, C1, *S1) and f2 (N, C2, *S2) → G (N, C1, C2). When S1 ≠ S2 the larger map is
    average-pooled to the smaller (RepDistiller); any spatial rank, including (N, C, 1).
    (RepDistiller's matrix is the transpose, (N, C2, C1); the FSP loss is the same either way.)
    """
    if f1.shape[0] != f2.shape[0]:
        raise ValueError(
            f"FSP needs two features of the same batch; got shapes {tuple(f1.shape)} and "
            f"{tuple(f2.shape)}"
        )
    f1, f2 = match_spatial(f1, f2)
    a, b = f1.flatten(2), f2.flatten(2)
    return torch.bmm(a, b.transpose(1, 2)) / a.shape[2]


def fsp_loss(
    pairs_s: Sequence[tuple[torch.Tensor, torch.Tensor]],
    pairs_t: Sequence[tuple[torch.Tensor, torch.Tensor]],
) -> torch.Tensor:
    r"""FSP loss, Yim et al. (CVPR 2017), RepDistiller convention.

    .. math:: L_{FSP} = \sum_j \frac{1}{N C_1 C_2} \sum_{n,i,k} (G^s_{j} - G^t_{j})_{n,i,k}^2,

    with :math:`G_j` = :func:`fsp_matrix` of the j-th pair (typically a stage's input and
    output). The paper weights pairs equally (lambda_i = 1) and sums the squared Frobenius norm
    per sample; the mean over entries here is the reference code's, for which beta = 50
    (applied by the method) is tuned. Student and teacher pairs must give matrices of the same
    size, i.e. the same channel counts.
    """
    if len(pairs_s) != len(pairs_t) or not pairs_s:
        raise ValueError(
            f"FSP needs the same non-zero number of student and teacher pairs; got "
            f"{len(pairs_s)} and {len(pairs_t)}"
        )
    total = None
    for j, ((s1, s2), (t1, t2)) in enumerate(zip(pairs_s, pairs_t)):
        shape_s, shape_t = (
            (s1.shape[0], s1.shape[1], s2.shape[1]),
            (t1.shape[0], t1.shape[1], t2.shape[1]),
        )
        if shape_s != shape_t:
            raise ValueError(
                f"FSP pair {j}: student and teacher matrices differ in shape, {shape_s} vs "
                f"{shape_t}; FSP needs equal channel counts (add a channel transform)"
            )
        c1, c2 = shape_s[1:]
        use_gram = False
        if s1.shape[0] == s2.shape[0] and t1.shape[0] == t2.shape[0]:  # else fsp_matrix says why
            (s1, s2), (t1, t2) = match_spatial(s1, s2), match_spatial(t1, t2)
            n_pos = s1[0, 0].numel()
            # few positions, many channels, the same positions on both sides: the Gram form
            use_gram = n_pos == t1[0, 0].numel() and n_pos * n_pos < c1 * c2
        if use_gram:
            term = _fsp_sqdist_gram(s1, s2, t1, t2) / (s1.shape[0] * c1 * c2)
        else:
            term = (fsp_matrix(s1, s2) - fsp_matrix(t1, t2)).pow(2).mean()
        total = term if total is None else total + term
    return total


def _fsp_sqdist_gram(s1, s2, t1, t2) -> torch.Tensor:
    r"""Σ_n ‖G^s_n − G^t_n‖²_F without forming the C1 x C2 matrices.

    With A = F^1 (C1 x S) and B = F^2 (C2 x S) of one sample, G = A Bᵀ / |S| and
    ‖A_s B_sᵀ − A_t B_tᵀ‖² = Σ(P_ss ⊙ Q_ss) − 2 Σ(P_st ⊙ Q_st) + Σ(P_tt ⊙ Q_tt), where
    P_xy = A_xᵀ A_y and Q_xy = B_xᵀ B_y are |S| x |S| Gram matrices: O(C |S|²) instead of
    O(C1 C2 |S|) per sample, the same value. In float64, as the three terms nearly cancel once
    the student matches the teacher.
    """
    a_s, b_s, a_t, b_t = (f.flatten(2).double() for f in (s1, s2, t1, t2))

    def gram(x, y):
        return torch.bmm(x.transpose(1, 2), y)

    dist = (
        (gram(a_s, a_s) * gram(b_s, b_s)).sum()
        - 2 * (gram(a_s, a_t) * gram(b_s, b_t)).sum()
        + (gram(a_t, a_t) * gram(b_t, b_t)).sum()
    )
    return (dist / a_s.shape[2] ** 2).clamp(min=0).to(s1.dtype)
