"""``advkt graph train`` (also ``python -m advkt.graph.cli``): one method on one data set.

advkt graph train --dataset Cora --method savgae --task link --seed 0

The Planetoid benchmark over seeds is ``benchmarks/savgae_planetoid.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from advkt.data.base import DataError

_METHODS = ("savgae", "savgae-natural", "savgae-sparse", "gae", "vgae", "arga", "argva")


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``graph`` command with its ``train`` subcommand."""
    p = subparsers.add_parser("graph", help="SAVGAE and its peers on PyTorch Geometric")
    sub = p.add_subparsers(dest="graph_command", required=True)

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("--data-root", default=None, help="holds planetoid/<Name>/raw")
        q.add_argument("--cache", default=None, help="cache folder (default $ADVKT_CACHE)")
        q.add_argument("--threads", type=int, default=1, help="torch CPU threads")

    t = sub.add_parser("train", help="train one method on one data set and print its scores")
    t.add_argument("--dataset", default="Cora", choices=("Cora", "CiteSeer"))
    t.add_argument("--method", default="savgae", choices=_METHODS)
    t.add_argument("--task", default="link", choices=("link", "cluster"))
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--iterations", type=int, default=None, help="default: 800 link / 100 cluster")
    t.add_argument("--out", default=None, help="write metrics.json here")
    common(t)

    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    import torch

    torch.set_num_threads(args.threads)
    try:
        return _train(args)
    except (DataError, ValueError, FloatingPointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _train(args: argparse.Namespace) -> int:
    from advkt.graph.data import load_planetoid, split_edges
    from advkt.graph.run import run_one

    data = load_planetoid(args.dataset, args.data_root, args.cache)
    split = split_edges(data, args.seed)
    rec, _ = run_one(args.method, data, split, args.seed, (args.task,), args.iterations)
    rec["dataset"] = args.dataset
    print(json.dumps(rec, indent=2))
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(rec, indent=2) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="advkt")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_parser(subparsers)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
