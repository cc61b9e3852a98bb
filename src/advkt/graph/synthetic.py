"""Synthetic attributed graphs for the scaling benchmark (ours): a stochastic block model.

N nodes in C equal-probability classes; each undirected pair inside a class is an edge with
probability p_in = d_in/N·C, across classes p_out = d_out/N·C/(C−1), so the expected degree is
about d_in + d_out whatever N. Features: x_i = m_{y_i} + noise, class means m_c ~ N(0, I_F),
noise ~ N(0, σ² I_F). Edges are drawn per block pair as a Poisson count of uniform endpoint pairs,
so generation costs O(E), never O(N²).
"""

from __future__ import annotations

import torch
from torch import Tensor


def sbm_graph(
    num_nodes: int,
    num_classes: int = 5,
    num_features: int = 64,
    deg_in: float = 8.0,
    deg_out: float = 2.0,
    noise: float = 2.0,
    seed: int = 0,
) -> tuple[Tensor, Tensor, Tensor]:
    """(x (N, F) float32, edge_index (2, E) both directions without duplicates, y (N,) int64)."""
    if num_nodes < num_classes or num_classes < 2:
        raise ValueError(f"need num_nodes >= num_classes >= 2, got {num_nodes}, {num_classes}")
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, num_classes, (num_nodes,), generator=g)
    members = [torch.nonzero(y == c).flatten() for c in range(num_classes)]
    edges = []
    for a in range(num_classes):
        for b in range(a, num_classes):
            na, nb = members[a].numel(), members[b].numel()
            pairs = na * (na - 1) / 2 if a == b else na * nb
            # expected per-node degree contribution d / (N / C) per pair
            if a == b:
                p = deg_in * num_classes / num_nodes
            else:
                p = deg_out * num_classes / num_nodes / (num_classes - 1)
            m = int(torch.poisson(torch.tensor(float(p * pairs)), generator=g))
            if m == 0 or na == 0 or nb == 0:
                continue
            i = members[a][torch.randint(0, na, (m,), generator=g)]
            j = members[b][torch.randint(0, nb, (m,), generator=g)]
            edges.append(torch.stack([i, j]))
    e = torch.cat(edges, 1)
    e = e[:, e[0] != e[1]]
    e = torch.cat([e, e.flip(0)], 1)
    key = torch.unique(e[0] * num_nodes + e[1])  # sorted, duplicates dropped; O(E log E)
    e = torch.stack([key // num_nodes, key % num_nodes])
    means = torch.randn(num_classes, num_features, generator=g)
    x = means[y] + noise * torch.randn(num_nodes, num_features, generator=g)
    return x, e, y
