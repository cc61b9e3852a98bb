"""Adversarial graph auto-encoders on PyTorch Geometric: SAVGAE and its peers (the graph extra).

See docs/methods/savgae.md. Using this package needs torch-geometric, scipy, scikit-learn. The
names load on first use, so that ``advkt`` commands without graphs do not import those.
"""

from advkt.lazy import lazy_exports

_WHERE = {
    "LinkSplit": "data",
    "load_planetoid": "data",
    "split_edges": "data",
    "cluster_scores": "metrics",
    "link_scores": "metrics",
    "PEERS": "peers",
    "build_peer": "peers",
    "fit_peer": "peers",
    "SAVGAE": "savgae",
    "DenseTarget": "savgae",
    "Discriminator": "savgae",
    "VariationalGCNEncoder": "savgae",
    "sbm_graph": "synthetic",
    "SparseTarget": "target",
    "dense_target": "target",
    "rooted_pagerank": "target",
    "sparse_rooted_pagerank": "target",
    "sparse_target": "target",
    "METHODS": "run",
    "run_one": "run",
    "build_target": "train",
    "embed": "train",
    "fit_savgae": "train",
}
__getattr__, __all__ = lazy_exports("advkt.graph", _WHERE)
