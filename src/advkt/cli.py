"""The ``advkt`` command. Thin: parses arguments, loads a recipe, calls the library."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
from pathlib import Path

from advkt import __version__


def _cmd_train(args: argparse.Namespace) -> int:
    from advkt.engine.trainer import train
    from advkt.recipe import load_recipe

    if args.resume:
        if args.recipe or args.overrides or args.run_dir:
            given = " ".join([args.recipe or "", *args.overrides]).strip() or "--run-dir"
            raise ValueError(
                f"--resume continues {args.resume} with its own recipe.json; {given!r} would "
                "be ignored (to change a run, start a new one from its recipe)"
            )
        summary = train(None, resume=args.resume, quiet=args.quiet)
    else:
        if not args.recipe:
            raise ValueError("advkt train needs a RECIPE (or --resume RUN)")
        recipe = load_recipe(args.recipe, args.overrides)
        if args.run_dir and (Path(args.run_dir) / "recipe.json").is_file():
            raise ValueError(
                f"--run-dir {args.run_dir} already holds a run; resume it with --resume "
                f"{args.run_dir}, or choose another folder"
            )
        summary = train(recipe, run_dir=args.run_dir, quiet=args.quiet)
    print(
        json.dumps(
            {
                k: summary[k]
                for k in ("name", "test_acc", "val_acc", "teacher_acc", "params", "wall_time_s")
            },
            indent=2,
        )
    )
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from advkt.report.compare import compare

    result = compare(
        args.recipes,
        args.seeds,
        args.out,
        args.overrides,
        quiet=not args.verbose,
        benchmark_spec=args.benchmark,
        jobs=args.jobs,
    )
    print(result["table"])
    print(f"wrote {args.out}/table.md, results.json, curves.json and plot.png", file=sys.stderr)
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from advkt.engine.evaluation import evaluate_run

    result = evaluate_run(
        args.run,
        attack=args.attack,
        eps=args.eps,
        steps=args.steps,
        step_size=args.step_size,
        limit=args.limit,
        which=args.which,
    )
    print(json.dumps(result, indent=2))
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from advkt.registry import DATASETS, METHODS, MODELS

    reg = {"methods": METHODS, "models": MODELS, "datasets": DATASETS}[args.what]
    print("\n".join(reg.names()))
    return 0


def _cmd_profile(args: argparse.Namespace) -> int:
    from advkt.models.profile import format_profile, profile

    shape = tuple(int(v) for v in args.input.lower().split("x"))
    print(
        format_profile(
            profile(args.model, shape, teacher=args.teacher, num_classes=args.num_classes)
        )
    )
    return 0


# command -> (module with add_parser, the package its extra installs)
EXTRA_COMMANDS = {
    "graph": ("advkt.graph.cli", "torch_geometric"),
    "viz": ("advkt.report.attention", None),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; ``command`` (the first argument, if known) skips the extra
    commands' parsers, whose modules import heavy packages, when another command runs."""
    p = argparse.ArgumentParser(
        prog="advkt",
        description="Adversarial knowledge transfer: train, compare, evaluate and profile.",
    )
    p.add_argument("--version", action="version", version=f"advkt {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a recipe (or --resume a run)")
    t.add_argument("recipe", nargs="?", help="YAML recipe")
    t.add_argument("overrides", nargs="*", help="key=value overrides, e.g. train.epochs=3 seed=1")
    t.add_argument("--resume", metavar="RUN", help="continue the run in this folder exactly")
    t.add_argument("--run-dir", help="run folder (default: <out>/<name>-s<seed>-<time>)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(fn=_cmd_train)

    c = sub.add_parser("compare", help="run recipes side by side over seeds")
    c.add_argument("recipes", nargs="+", help="YAML recipes, then key=value overrides")
    c.add_argument("--seeds", default="3", help="N for seeds 1..N, or a list like 2,3")
    c.add_argument(
        "--out", required=True, help="folder for table.md, plot.png, results.json, curves.json"
    )
    c.add_argument(
        "--benchmark",
        metavar="FILE",
        help="benchmark spec (YAML): name, teacher anchor, validity thresholds "
        "(docs/benchmarks.md)",
    )
    c.add_argument(
        "--jobs", type=int, default=1, help="trainings at a time, in worker processes (default 1)"
    )
    c.add_argument("--verbose", action="store_true", help="progress bars for every run")
    c.set_defaults(fn=_cmd_compare)

    e = sub.add_parser("eval", help="clean (and robust) accuracy of a saved run")
    e.add_argument("run")
    e.add_argument("--attack", choices=["none", "fgsm", "pgd"], default="none")
    e.add_argument("--eps", type=float, default=None, help="L-inf radius in pixel units [0, 1]")
    e.add_argument("--steps", type=int, default=20)
    e.add_argument("--step-size", type=float, default=None)
    e.add_argument("--limit", type=int, default=None, help="evaluate the first N test samples")
    e.add_argument("--which", choices=["last", "best"], default="last")
    e.set_defaults(fn=_cmd_eval)

    ls = sub.add_parser("list", help="registered methods, models or datasets")
    ls.add_argument("what", choices=["methods", "models", "datasets"])
    ls.set_defaults(fn=_cmd_list)

    pr = sub.add_parser("profile", help="parameters, FLOPs and CPU latency of a model")
    pr.add_argument("model")
    pr.add_argument("--input", default="3x32x32", help="input shape without batch, e.g. 1x28x28")
    pr.add_argument("--teacher", help="a teacher model, for the compression ratio")
    pr.add_argument("--num-classes", type=int, default=10)
    pr.set_defaults(fn=_cmd_profile)

    for name, (mod, needs) in EXTRA_COMMANDS.items():
        if command not in (None, name):  # `advkt train` does not import the graph stack
            continue
        if needs and importlib.util.find_spec(needs) is None:  # an extra that is not installed
            continue
        module = importlib.import_module(mod)
        parser = module.add_parser(sub)
        if parser is not None and hasattr(module, "run"):
            parser.set_defaults(fn=module.run)
    return p


def main(argv: list[str] | None = None) -> int:
    from advkt.data.base import DataError
    from advkt.engine.checkpoint import CheckpointError
    from advkt.engine.lock import RunBusyError
    from advkt.errors import DivergenceError
    from advkt.recipe import RecipeError
    from advkt.registry import UnknownNameError

    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv[0] if argv and not argv[0].startswith("-") else None)
    # compare takes overrides after its recipes: split them off by their '='
    if argv and argv[0] == "compare":
        recipes = [a for a in argv[1:] if "=" not in a or a.startswith("-")]
        overrides = [a for a in argv[1:] if "=" in a and not a.startswith("-")]
        args = parser.parse_args(["compare", *recipes])
        args.overrides = overrides
    else:
        args = parser.parse_args(argv)
    if os.environ.get("ADVKT_DEBUG"):  # full tracebacks for developers
        return args.fn(args)
    try:
        return args.fn(args)
    except (
        RecipeError,
        UnknownNameError,
        DataError,
        CheckpointError,
        DivergenceError,
        RunBusyError,
        ValueError,
        FileNotFoundError,
    ) as exc:
        print(f"advkt: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
