"""One method, one seed, one Planetoid data set: trained and scored (``advkt graph train``).

The link task trains on the split's training edges and scores μ on its test pairs (AUC, AP; the
validation pairs too, as ``val_*``); the clustering task trains afresh on the whole graph and
clusters μ (ACC, NMI, ARI, F1). Each task is seeded with :func:`seed_all` first.
"""

from __future__ import annotations

import random
import time

import torch

from advkt.graph.metrics import cluster_scores, link_scores
from advkt.graph.peers import PEERS, fit_peer
from advkt.graph.train import embed, fit_savgae

SAVGAE_METHODS = {
    "savgae": {"target": "dense", "adversarial": "released"},
    "savgae-natural": {"target": "dense", "adversarial": "natural"},
    "savgae-sparse": {"target": "sparse", "adversarial": "released"},
    # ablations: the peers' A + I instead of the Rooted PageRank target; no adversary
    "savgae-adjacency": {"target": "adjacency", "adversarial": "released"},
    "savgae-noadv": {"target": "dense", "adversarial": "released", "adversary": False},
}
METHODS = (*SAVGAE_METHODS, *PEERS)
LINK_ITERATIONS, CLUSTER_ITERATIONS = 800, 100


def fit_method(method: str, x, edge_index, task: str, iterations: int | None = None):
    """Train ``method`` for ``task`` ("link" or "cluster"); returns the model."""
    if method in SAVGAE_METHODS:
        default = LINK_ITERATIONS if task == "link" else CLUSTER_ITERATIONS
        return fit_savgae(x, edge_index, iterations or default, **SAVGAE_METHODS[method])
    if method in PEERS:
        return fit_peer(method, x, edge_index, epochs=iterations, task=task)
    raise ValueError(f"unknown method {method!r}; valid methods: {', '.join(METHODS)}")


def seed_all(seed: int) -> None:
    """Seed torch and Python's ``random``, which PyG's ``negative_sampling`` draws from."""
    torch.manual_seed(seed)
    random.seed(seed)


def run_one(
    method: str,
    data,
    split,
    seed: int,
    tasks=("link", "cluster"),
    iterations: int | None = None,
    savgae_link_iterations: int = LINK_ITERATIONS,
):
    """One (method, seed) on one data set: a record with the metrics, wall times and μ.

    ``iterations`` overrides every method's length for both tasks (None: their defaults);
    ``savgae_link_iterations`` sets only SAVGAE's link-prediction length (CPU-budget runs).
    """
    rec: dict = {"method": method, "seed": seed}
    link_its = iterations
    if iterations is None and method in SAVGAE_METHODS:
        link_its = savgae_link_iterations
        if "link" in tasks:
            rec["link_iterations"] = link_its
    full = data.edge_index
    mus = {}
    if "link" in tasks:
        seed_all(seed)
        t0 = time.perf_counter()
        ei = split.train_edge_index
        model = fit_method(method, data.x, ei, "link", link_its)
        rec["time_link_s"] = time.perf_counter() - t0
        mu = embed(model, data.x, split.train_edge_index)
        rec.update(link_scores(mu, split.test_pos, split.test_neg))
        val = link_scores(mu, split.val_pos, split.val_neg)
        rec.update({f"val_{k}": v for k, v in val.items()})
        mus["link"] = mu
    if "cluster" in tasks:
        seed_all(seed)
        t0 = time.perf_counter()
        model = fit_method(method, data.x, full, "cluster", iterations)
        rec["time_cluster_s"] = time.perf_counter() - t0
        mu = embed(model, data.x, full)
        rec.update(cluster_scores(mu, data.y, seed=seed))
        mus["cluster"] = mu
    return rec, mus
