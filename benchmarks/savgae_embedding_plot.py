"""Embedding plot: μ of SAVGAE and ARGVA from the clustering run on one data set and seed.

    nice -n 10 .venv/bin/python benchmarks/savgae_embedding_plot.py --dataset Cora --how pca

Retrains both as ``savgae_planetoid.py`` does (same seed, whole graph, 100 / 50 iterations), prints
their clustering scores and writes embedding-<dataset>-<how>.png into the Planetoid folder.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from savgae_planetoid import plot_embeddings  # the sibling script (sys.path[0] is benchmarks/)

from advkt.graph.data import load_planetoid, split_edges
from advkt.graph.run import run_one

ROOT = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="Cora")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--how", default="pca", choices=("pca", "tsne"))
    ap.add_argument("--methods", nargs="+", default=["savgae", "argva"])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "savgae-planetoid"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = load_planetoid(args.dataset, ROOT.parent / "shared" / "data")
    split = split_edges(data, args.seed)
    mus = {}
    for m in args.methods:
        rec, mu = run_one(m, data, split, args.seed, ("cluster",))
        print(json.dumps(rec), flush=True)
        mus[m] = mu["cluster"]
    path = Path(args.out) / f"embedding-{args.dataset}-{args.how}.png"
    title = f"{args.dataset}: {args.how.upper()} of μ (clustering run, seed {args.seed})"
    plot_embeddings(mus, data.y, path, title, args.how)
    print(path)
