"""Adversarial graph auto-encoders on PyTorch Geometric: SAVGAE and its peers (the graph extra).

See docs/methods/savgae.md. Importing this package needs torch-geometric, scipy, scikit-learn.
"""

from advkt.graph.data import LinkSplit, load_planetoid, split_edges
from advkt.graph.metrics import cluster_scores, link_scores
from advkt.graph.peers import PEERS, build_peer, fit_peer
from advkt.graph.savgae import SAVGAE, DenseTarget, Discriminator, VariationalGCNEncoder
from advkt.graph.synthetic import sbm_graph
from advkt.graph.target import (
    SparseTarget,
    dense_target,
    rooted_pagerank,
    sparse_rooted_pagerank,
    sparse_target,
)
from advkt.graph.train import build_target, embed, fit_savgae

__all__ = [
    "PEERS",
    "SAVGAE",
    "DenseTarget",
    "Discriminator",
    "LinkSplit",
    "SparseTarget",
    "VariationalGCNEncoder",
    "build_peer",
    "build_target",
    "cluster_scores",
    "dense_target",
    "embed",
    "fit_peer",
    "fit_savgae",
    "link_scores",
    "load_planetoid",
    "rooted_pagerank",
    "sbm_graph",
    "sparse_rooted_pagerank",
    "sparse_target",
    "split_edges",
]
