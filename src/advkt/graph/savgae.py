"""SAVGAE: Structural Adversarial Variational Graph Auto-Encoder, as a PyG-style model.

Zhan, Li, Wang, Lin, Xu, "Structural Adversarial Variational Auto-Encoder for Attributed Network
Embedding", Applied Sciences 2021, 11(5), 2371. Facts below are from the authors' released
TensorFlow code (built on the ARGA code of Pan et al., IJCAI 2018); "ours" marks our additions.

Model (paper): a two-layer GCN on Â = D^-1/2 (A + I) D^-1/2 gives μ and log σ (32-d),
z = μ + ε ⊙ σ; the decoder is the inner product, logits X = Z Zᵀ. Losses, like PyG's ARGVA the
model exposes them and leaves the loop to the caller (:func:`advkt.graph.train.fit_savgae`):

- reconstruction (paper), with the target T = S Sᵀ of :mod:`advkt.graph.target`,
  pos_weight w₊ = (N² − ΣA)/ΣA and norm = N² / (2(N² − ΣA)) from the binary adjacency A:

      L_rec = norm · (1/N²) Σ_ij [ w₊ T_ij · softplus(−X_ij) + (1 − T_ij) · softplus(X_ij) ]

- KL (paper; PyG's ``kl_loss`` already carries the −½): L_KL = (1/N) · kl_loss()
  = −(0.5/N) · mean_i Σ_d (1 + 2 log σ_id − μ_id² − σ_id²).
- discriminator (paper): D sees μ as real and the sampled z as fake, no Gaussian prior samples:
  L_D = BCE(D(μ), 1) + BCE(D(z), 0).
- encoder's adversarial loss: ``adversarial="released"`` (paper's code) L_G = BCE(D(μ), 0);
  ``adversarial="natural"`` (switch) L_G = BCE(D(z), 1).

Sparse reconstruction (ours), for a :class:`~advkt.graph.target.SparseTarget` on the support Ω and
M pairs (i_m, j_m) drawn uniformly from all N² ordered pairs, where T is taken as 0:

      L_rec ≈ norm/N² · ( Σ_{(i,j)∈Ω} ℓ(X_ij, T_ij) + (N² − |Ω|)/M · Σ_m softplus(X_{i_m j_m}) )

with ℓ(x, t) = (1 − t)x + (1 + (w₊ − 1)t) softplus(−x), the same per-pair term as above. Its cost
is O(|Ω| + M) per step instead of O(N²); the small bias from samples that fall inside Ω is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import VGAE, GCNConv

from advkt.graph.target import SparseTarget

ADVERSARIAL_VARIANTS = ("released", "natural")


class VariationalGCNEncoder(nn.Module):
    """GCN(in → hidden, ReLU) then two GCN heads (hidden → out) for μ and log σ.

    The paper's code uses no bias in its graph convolutions; ``bias`` is kept as a switch.
    """

    def __init__(self, in_channels: int, hidden: int = 32, out: int = 32, bias: bool = False):
        super().__init__()
        self.conv1 = GCNConv(in_channels, hidden, cached=True, bias=bias)
        self.conv_mu = GCNConv(hidden, out, cached=True, bias=bias)
        self.conv_logstd = GCNConv(hidden, out, cached=True, bias=bias)

    def forward(self, x: Tensor, edge_index: Tensor) -> tuple[Tensor, Tensor]:
        h = self.conv1(x, edge_index).relu()
        return self.conv_mu(h, edge_index), self.conv_logstd(h, edge_index)


class Discriminator(nn.Module):
    """MLP 32 → 64 → 32 → 1 with ReLU; returns logits of shape (N,)."""

    def __init__(self, in_channels: int = 32, hidden: int = 64, hidden2: int = 32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_channels, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden2),
            nn.ReLU(),
            nn.Linear(hidden2, 1),
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).squeeze(-1)


@dataclass
class DenseTarget:
    """The paper's dense target T = S Sᵀ with the per-pair weight 1 + (w₊ − 1) T precomputed once.

    Per pair the loss is ℓ(x, t) = (1 − t)x + (1 + (w₊ − 1)t) softplus(−x) (the pos_weight
    sigmoid cross-entropy rewritten), whose gradient is (1 + (w₊ − 1)t) σ(x) − w₊ t.
    """

    target: Tensor
    weight: Tensor
    norm: float
    pos_weight: float
    symmetric: bool

    @classmethod
    def build(cls, target: Tensor, num_edges: float) -> DenseTarget:
        """``target``: (N, N) values in [0, 1]; ``num_edges``: ΣA of the binary adjacency."""
        if target.dim() != 2 or target.size(0) != target.size(1):
            raise ValueError(f"target must be square (N, N), got {tuple(target.shape)}")
        if num_edges <= 0:
            raise ValueError(f"the training graph has no edges (ΣA = {num_edges})")
        n2 = float(target.numel())
        pos_weight = (n2 - num_edges) / num_edges
        norm = n2 / (2.0 * (n2 - num_edges))
        target = target.float().contiguous()
        return cls(
            target=target,
            weight=(1.0 + (pos_weight - 1.0) * target).contiguous(),
            norm=norm,
            pos_weight=pos_weight,
            symmetric=bool(torch.equal(target, target.T)),
        )

    @property
    def num_nodes(self) -> int:
        return self.target.size(0)


class _DenseWeightedBCE(torch.autograd.Function):
    """Σ_ij ℓ(X_ij, T_ij) with X = Z Zᵀ, in as few passes over N² as we could make it.

    The N² buffers dominate the step on the CPU, fresh allocations included, so X is turned into
    log σ(X) in place and σ(X) into the gradient in place. softplus(−x) = −log σ(x), with σ
    clamped at 1e-38 so that the value saturates near 87 for x < −87 (the gradient stays exact).
    For a symmetric target (S Sᵀ is) the gradient is 2 G Z, one product with G instead of two.
    Backward overwrites the saved σ(X): a second backward through the same graph is refused.
    """

    @staticmethod
    def forward(ctx, z: Tensor, target: Tensor, weight: Tensor, pos_weight: float, sym: bool):
        x = z @ z.T
        total = x.sum() - torch.dot(target.reshape(-1), x.reshape(-1))
        s = torch.sigmoid(x)
        log_s = x.copy_(s).clamp_min_(1e-38).log_()
        total = total - torch.dot(weight.reshape(-1), log_s.reshape(-1))
        ctx.save_for_backward(z, s, target, weight)
        ctx.pos_weight, ctx.sym, ctx.used = pos_weight, sym, False
        return total

    @staticmethod
    def backward(ctx, grad: Tensor):
        if ctx.used:
            raise RuntimeError("the dense SAVGAE loss supports one backward pass per forward")
        ctx.used = True
        z, s, target, weight = ctx.saved_tensors
        # dℓ/dx = (1 + (w₊ − 1)t) σ(x) − w₊ t  =  −w₊ (t − weight·σ/w₊), written over σ
        g = torch.addcmul(target, weight, s, value=-1.0 / ctx.pos_weight, out=s)
        scale = -ctx.pos_weight * grad
        gz = 2.0 * (g @ z) if ctx.sym else g @ z + g.T @ z
        return scale * gz, None, None, None, None


def dense_recon_loss(z: Tensor, target: DenseTarget) -> Tensor:
    """L_rec = norm · (1/N²) Σ_ij ℓ(X_ij, T_ij) with X = Z Zᵀ over all N² pairs (module doc).

    With T = A + I it is the reconstruction loss of the GAE and ARGA papers' code (the peers).
    """
    if target.num_nodes != z.size(0):
        raise ValueError(f"target has {target.num_nodes} nodes, z has {z.size(0)} rows")
    total = _DenseWeightedBCE.apply(
        z, target.target, target.weight, target.pos_weight, target.symmetric
    )
    return target.norm * total / (z.size(0) ** 2)


class SAVGAE(VGAE):
    """SAVGAE on PyG's VGAE: ``encode`` samples z (μ in eval mode), losses as in the module doc.

    Args:
        encoder: returns (μ, log σ), e.g. :class:`VariationalGCNEncoder`.
        discriminator: maps (N, d) to logits (N,), e.g. :class:`Discriminator`.
        adversarial: "released" (BCE(D(μ), 0), the paper's code) or "natural" (BCE(D(z), 1)).
        num_negatives: for a sparse target, M = num_negatives · |Ω| sampled pairs per step (ours).
    """

    def __init__(
        self,
        encoder: nn.Module,
        discriminator: nn.Module,
        adversarial: str = "released",
        num_negatives: float = 1.0,
    ):
        super().__init__(encoder)
        if adversarial not in ADVERSARIAL_VARIANTS:
            raise ValueError(
                f"adversarial must be one of {ADVERSARIAL_VARIANTS}, got {adversarial!r}"
            )
        self.discriminator = discriminator
        self.adversarial = adversarial
        self.num_negatives = num_negatives

    def recon_loss(self, z: Tensor, target: DenseTarget | SparseTarget) -> Tensor:  # type: ignore[override]
        """Weighted sigmoid cross-entropy of Z Zᵀ against T (dense) or its sparse estimate."""
        if isinstance(target, DenseTarget):
            return dense_recon_loss(z, target)
        return self._sparse_recon_loss(z, target)

    def _sparse_recon_loss(self, z: Tensor, target: SparseTarget) -> Tensor:
        n = target.num_nodes
        if n != z.size(0):
            raise ValueError(f"target has {n} nodes, z has {z.size(0)} rows")
        n2 = float(n) * n
        pos_weight = (n2 - target.num_edges) / target.num_edges
        norm = n2 / (2.0 * (n2 - target.num_edges))
        x = (z[target.row] * z[target.col]).sum(-1)
        t = target.val
        support = ((1.0 - t) * x + (1.0 + (pos_weight - 1.0) * t) * F.softplus(-x)).sum()
        m = max(1, int(self.num_negatives * target.nnz))
        i = torch.randint(0, n, (m,), device=z.device)
        j = torch.randint(0, n, (m,), device=z.device)
        rest = F.softplus((z[i] * z[j]).sum(-1)).sum() * ((n2 - target.nnz) / m)
        return norm * (support + rest) / n2

    def discriminator_loss(self, z: Tensor) -> Tensor:
        """L_D = BCE(D(μ), 1) + BCE(D(z), 0); μ and z are detached (only D learns here)."""
        real = self.discriminator(self.__mu__.detach())
        fake = self.discriminator(z.detach())
        return F.binary_cross_entropy_with_logits(
            real, torch.ones_like(real)
        ) + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))

    def reg_loss(self, z: Tensor) -> Tensor:
        """The encoder's adversarial loss: BCE(D(μ), 0) ("released") or BCE(D(z), 1)."""
        if self.adversarial == "released":
            out = self.discriminator(self.__mu__)
            return F.binary_cross_entropy_with_logits(out, torch.zeros_like(out))
        out = self.discriminator(z)
        return F.binary_cross_entropy_with_logits(out, torch.ones_like(out))

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for m in self.discriminator.modules():
            if isinstance(m, nn.Linear):
                m.reset_parameters()
