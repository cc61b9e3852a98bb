"""Structural reconstruction targets of SAVGAE: Rooted PageRank S and the target S Sᵀ.

Paper fact (Zhan et al., Applied Sciences 2021, 11(5), 2371; their released TensorFlow code):
with the training adjacency A (binary, symmetric, no self-loops),

    P = rownorm(A + I),   S = (1 − α)(I − αP)⁻¹,  α = 0.5,   T = S Sᵀ  (dense N × N, no threshold)

replaces the usual target A + I. Each row of S sums to 1 and S ≥ 0, so T_ij ∈ [0, 1].

Ours (beyond the paper): :func:`sparse_target` builds a top-k approximation of T whose memory is
linear in N·k instead of N²:

    S ≈ (1 − α) Σ_{t=0..L} α^t P^t  by sparse power iteration, each row truncated to its k_s
    largest entries after every step; then T ≈ rowwise-top-k_t(S Sᵀ), computed in row chunks.

The truncation error of the series is at most α^{L+1} per row (‖P^t‖_∞ = 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch


def _check_edges(edge_index: torch.Tensor, num_nodes: int) -> None:
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"edge_index must have shape (2, E), got {tuple(edge_index.shape)}")
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes):
        raise ValueError(
            f"edge_index refers to nodes outside 0..{num_nodes - 1} "
            f"(min {int(edge_index.min())}, max {int(edge_index.max())})"
        )


def adjacency(edge_index: torch.Tensor, num_nodes: int) -> sp.csr_matrix:
    """Binary symmetric adjacency A (no self-loops) of an edge list, as scipy CSR (float64)."""
    _check_edges(edge_index, num_nodes)
    r, c = edge_index.cpu().numpy()
    keep = r != c
    r, c = r[keep], c[keep]
    a = sp.coo_matrix(
        (np.ones(2 * r.size), (np.r_[r, c], np.r_[c, r])), shape=(num_nodes, num_nodes)
    ).tocsr()
    a.data[:] = 1.0  # duplicates and both directions collapse to one binary entry
    return a


def _transition(edge_index: torch.Tensor, num_nodes: int) -> sp.csr_matrix:
    """P = rownorm(A + I) as scipy CSR."""
    a = adjacency(edge_index, num_nodes) + sp.identity(num_nodes, format="csr")
    deg = np.asarray(a.sum(1)).ravel()
    return sp.diags(1.0 / deg) @ a


def rooted_pagerank(edge_index: torch.Tensor, num_nodes: int, alpha: float = 0.5) -> torch.Tensor:
    """Dense Rooted PageRank S = (1 − α)(I − αP)⁻¹, P = rownorm(A + I); float32 (N, N).

    Solved as (I − αP) S = (1 − α) I with a dense LU; memory about 3 N² floats.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    p = torch.from_numpy(_transition(edge_index, num_nodes).toarray()).float()
    m = torch.eye(num_nodes).sub_(p, alpha=alpha)
    del p
    rhs = torch.eye(num_nodes).mul_(1.0 - alpha)
    return torch.linalg.solve(m, rhs)


def dense_target(edge_index: torch.Tensor, num_nodes: int, alpha: float = 0.5) -> torch.Tensor:
    """The paper's reconstruction target T = S Sᵀ (dense float32, N × N)."""
    s = rooted_pagerank(edge_index, num_nodes, alpha)
    return s @ s.T


def _row_topk(m: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep the k largest entries of every row of a CSR matrix with entries in [0, 1].

    One float64 argsort on the key row + (1 − value)/2 orders by row, then by value descending
    (cheaper than a lexsort on two keys); ties are broken arbitrarily.
    """
    m = m.tocsr()
    m.eliminate_zeros()
    counts = np.diff(m.indptr)
    if counts.size == 0 or counts.max() <= k:
        return m
    rows = np.repeat(np.arange(m.shape[0]), counts)
    key = rows + 0.5 * (1.0 - np.clip(m.data, 0.0, 1.0))
    order = np.argsort(key, kind="quicksort")
    rank = np.arange(order.size) - np.repeat(m.indptr[:-1], counts)
    keep = order[rank < k]
    return sp.csr_matrix((m.data[keep], (rows[keep], m.indices[keep])), shape=m.shape)


def sparse_rooted_pagerank(
    edge_index: torch.Tensor,
    num_nodes: int,
    alpha: float = 0.5,
    k: int = 32,
    iterations: int = 10,
) -> sp.csr_matrix:
    """Top-k Rooted PageRank by power iteration (ours): S ≈ (1 − α) Σ_{t=0..L} α^t P^t.

    R_0 = I, R_{t+1} = topk_k(R_t P); S = topk_k((1 − α) Σ_t α^t R_t). Memory O(N k + nnz(A)).
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    if k < 1 or iterations < 0:
        raise ValueError(f"need k >= 1 and iterations >= 0, got k={k}, iterations={iterations}")
    p = _transition(edge_index, num_nodes)
    r = sp.identity(num_nodes, format="csr")
    s = r * (1.0 - alpha)
    coef = 1.0 - alpha
    for _ in range(iterations):
        r = _row_topk(r @ p, k)
        coef *= alpha
        s = _row_topk(s + coef * r, k)
    return s


@dataclass
class SparseTarget:
    """A sparse target T on the pairs (row[e], col[e]) with values val[e] (ours).

    Every pair outside this support is taken as T = 0. ``num_nodes`` and ``num_edges`` (ΣA of the
    binary training adjacency) fix pos_weight and norm exactly as in the dense loss.
    """

    row: torch.Tensor
    col: torch.Tensor
    val: torch.Tensor
    num_nodes: int
    num_edges: float

    @property
    def nnz(self) -> int:
        return int(self.row.numel())


def sparse_target(
    edge_index: torch.Tensor,
    num_nodes: int,
    alpha: float = 0.5,
    k_s: int = 32,
    k_t: int = 32,
    iterations: int = 10,
    chunk: int = 4096,
) -> SparseTarget:
    """Top-k_t approximation of S Sᵀ from the top-k_s sparse S, built in row chunks (ours).

    Peak memory ~ chunk · k_s² entries for one chunk of S Sᵀ plus N · (k_s + k_t) for the result.
    """
    s = sparse_rooted_pagerank(edge_index, num_nodes, alpha, k_s, iterations)
    st = s.T.tocsr()
    parts = []
    for start in range(0, num_nodes, chunk):
        block = _row_topk(s[start : start + chunk] @ st, k_t).tocoo()
        parts.append((block.row + start, block.col, block.data))
    row = np.concatenate([p[0] for p in parts])
    col = np.concatenate([p[1] for p in parts])
    val = np.concatenate([p[2] for p in parts])
    num_edges = float(adjacency(edge_index, num_nodes).nnz)
    return SparseTarget(
        row=torch.from_numpy(row.astype(np.int64)),
        col=torch.from_numpy(col.astype(np.int64)),
        val=torch.from_numpy(val.astype(np.float32)),
        num_nodes=num_nodes,
        num_edges=num_edges,
    )
