"""The SAVGAE training loop (the paper's 5/1/1 schedule) and the embedding read-out.

Per iteration (paper): 5 steps of Adam(5e-4) on L_rec + L_KL, 1 step of Adam(1e-3) on L_D for
the discriminator, 1 step of Adam(1e-3) on L_G for the encoder; each step samples a fresh z.
800 iterations for link prediction, 100 for clustering; no dropout, no weight decay.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from advkt.errors import DivergenceError
from advkt.graph.peers import self_loop_target
from advkt.graph.savgae import SAVGAE, DenseTarget, Discriminator, VariationalGCNEncoder
from advkt.graph.target import SparseTarget, adjacency, dense_target, sparse_target

TARGETS = ("dense", "sparse", "adjacency")


def build_target(
    edge_index: Tensor,
    num_nodes: int,
    kind: str = "dense",
    alpha: float = 0.5,
    k_s: int = 32,
    k_t: int = 32,
) -> DenseTarget | SparseTarget:
    """The paper's dense S Sᵀ target, our top-k sparse one, or (the ablation without Rooted
    PageRank) the peers' A + I, from the training edges."""
    if kind == "dense":
        return DenseTarget.build(
            dense_target(edge_index, num_nodes, alpha), adjacency(edge_index, num_nodes).nnz
        )
    if kind == "sparse":
        return sparse_target(edge_index, num_nodes, alpha, k_s=k_s, k_t=k_t)
    if kind == "adjacency":
        return self_loop_target(edge_index, num_nodes)
    raise ValueError(f"target must be one of {TARGETS}, got {kind!r}")


def fit_savgae(
    x: Tensor,
    edge_index: Tensor,
    iterations: int = 800,
    target: str | DenseTarget | SparseTarget = "dense",
    adversarial: str = "released",
    alpha: float = 0.5,
    lr_rec: float = 5e-4,
    lr_adv: float = 1e-3,
    recon_steps: int = 5,
    num_negatives: float = 1.0,
    adversary: bool = True,
    callback: Callable[[int, dict[str, float]], None] | None = None,
) -> SAVGAE:
    """Train SAVGAE on ``x`` (N, F) and the training edges ``edge_index`` (2, E, both directions).

    ``adversary=False`` (the ablation) drops the discriminator's and the encoder's adversarial
    steps, leaving the 5 reconstruction steps of each iteration.

    ``callback(iteration, losses)`` is called after each iteration (losses: rec, d, g).
    Seed the global torch RNG before calling for a reproducible run.
    """
    n = x.size(0)
    tgt = build_target(edge_index, n, target, alpha) if isinstance(target, str) else target
    model = SAVGAE(
        VariationalGCNEncoder(x.size(1)),
        Discriminator(),
        adversarial=adversarial,
        num_negatives=num_negatives,
    )
    enc = list(model.encoder.parameters())
    opt_rec = torch.optim.Adam(enc, lr=lr_rec)
    opt_d = torch.optim.Adam(model.discriminator.parameters(), lr=lr_adv)
    opt_g = torch.optim.Adam(enc, lr=lr_adv)
    model.train()
    for it in range(iterations):
        for _ in range(recon_steps):
            opt_rec.zero_grad()
            z = model.encode(x, edge_index)
            rec = model.recon_loss(z, tgt) + (1.0 / n) * model.kl_loss()
            rec.backward()
            opt_rec.step()
        d = g = rec.new_zeros(())
        if adversary:
            opt_d.zero_grad()
            z = model.encode(x, edge_index)
            d = model.discriminator_loss(z)
            d.backward()
            opt_d.step()
            opt_g.zero_grad()
            z = model.encode(x, edge_index)
            g = model.reg_loss(z)
            g.backward()
            opt_g.step()
        if not all(torch.isfinite(v) for v in (rec, d, g)):
            bad = [k for k, v in (("rec", rec), ("d", d), ("g", g)) if not torch.isfinite(v)]
            raise DivergenceError(f"SAVGAE diverged at iteration {it}: loss {bad} is not finite")
        if callback is not None:
            callback(it, {"rec": float(rec), "d": float(d), "g": float(g)})
    return model


@torch.no_grad()
def embed(model: torch.nn.Module, x: Tensor, edge_index: Tensor) -> Tensor:
    """μ of a trained auto-encoder (eval mode: VGAE-style models return μ, not a sample)."""
    model.eval()
    return model.encode(x, edge_index)
