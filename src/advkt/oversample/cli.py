"""``advkt oversample bench DATA_DIR --out DIR``: the KEEL oversampling benchmark.

``advkt`` adds it with ``add_parser``/``run``; ``python -m advkt.oversample.cli bench ...`` runs
the same command without the rest of the CLI.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from advkt.data.base import DataError


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``oversample`` (with its ``bench`` subcommand) to an argparse subparsers object."""
    from advkt.oversample.bench import METHODS

    p = subparsers.add_parser("oversample", help="GAN oversampling for imbalanced data")
    sub = p.add_subparsers(dest="oversample_command", required=True)
    b = sub.add_parser(
        "bench",
        help="EWGAN vs imbalanced-learn peers on KEEL .dat files (stratified k-fold x seeds)",
    )
    b.add_argument("data_dir", type=Path, help="folder of KEEL .dat files")
    b.add_argument("--out", type=Path, required=True, help="output folder")
    b.add_argument("--datasets", nargs="+", help="file stems to run (default: every .dat)")
    b.add_argument("--folds", type=int, default=5)
    b.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    b.add_argument(
        "--methods",
        nargs="+",
        default=list(METHODS),
        choices=METHODS,
        metavar="METHOD",
        help=f"oversamplers to compare (default: all of {', '.join(METHODS)})",
    )
    b.add_argument("--ewgan-n-iter", type=int, default=None, help="generator steps (default: auto)")
    b.add_argument("--ewgan-max-time", type=float, default=None, help="seconds per EWGAN fit")
    b.add_argument("--jobs", type=int, default=1, help="data sets run in parallel processes")
    return p


def run(args: argparse.Namespace) -> int:
    from advkt.oversample.bench import BenchConfig
    from advkt.oversample.bench import run as run_bench

    if args.oversample_command != "bench":
        print(f"unknown oversample command {args.oversample_command!r}", file=sys.stderr)
        return 2
    if args.folds < 2 or args.jobs < 1:
        print("--folds must be >= 2 and --jobs >= 1", file=sys.stderr)
        return 2
    cfg = BenchConfig(
        data_dir=args.data_dir,
        out=args.out,
        datasets=args.datasets,
        folds=args.folds,
        seeds=tuple(args.seeds),
        methods=tuple(dict.fromkeys(args.methods)),
        ewgan_n_iter=args.ewgan_n_iter,
        ewgan_max_time=args.ewgan_max_time,
        jobs=args.jobs,
        command=getattr(args, "command_line", None) or shlex.join(["advkt", *sys.argv[1:]]),
    )
    try:
        path = run_bench(cfg, log=lambda s: print(s, flush=True))
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {path} and table.md, timing.md, pca.png, README.md beside it")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="advkt")
    add_parser(parser.add_subparsers(dest="command", required=True))
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(["oversample", *argv])
    args.command_line = shlex.join(["python", "-m", "advkt.oversample.cli", *argv])
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
