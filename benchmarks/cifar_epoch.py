"""CIFAR-10 from the JPEG shards: a resnet20 epoch through the engine, with and without
augmentation (random crop 4 + flip, batch-wise on the device), measured side by side.

Decodes the shards once (or reads the decoded-tensor cache), then times ``--steps`` training
steps of each variant, alternating ``--repeats`` times in one process, and scales the median step
time to a full epoch (50,000 images / batch 64 = 781 steps). Usage:

    OMP_NUM_THREADS=2 python benchmarks/cifar_epoch.py --steps 40 --repeats 3 \
        --out benchmarks/results/cifar10-epoch
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from advkt.engine.run import bare_run, build_method
from advkt.engine.splits import Data, load_splits
from advkt.engine.teacher import model_spec
from advkt.engine.trainer import train_epoch
from advkt.models import build_model
from advkt.recipe import load_recipe
from advkt.report.results import row, write_results


def step_time(recipe, data, method, steps: int) -> float:
    sub = data.train.subset(torch.arange(steps * recipe.train.batch_size))
    run = bare_run(recipe, method, None, Data(sub, data.test), torch.device("cpu"))
    t0 = time.perf_counter()
    train_epoch(run, 0)
    return (time.perf_counter() - t0) / steps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="benchmarks/results/cifar10-epoch")
    args = ap.parse_args()
    r_aug = load_recipe("recipes/cifar10/student_resnet20.yaml")
    r_none = load_recipe("recipes/cifar10/student_resnet20.yaml", ["data.augment={}"])
    t0 = time.perf_counter()
    data = load_splits(r_aug)
    load_s = time.perf_counter() - t0
    torch.manual_seed(0)
    model = build_model(model_spec(r_aug.student, data.train))
    method = build_method(r_aug, model, None, data.train, torch.device("cpu"))
    step_time(r_aug, data, method, 3)  # warm-up
    times = {"augment": [], "no_augment": []}
    for _ in range(args.repeats):
        times["augment"].append(step_time(r_aug, data, method, args.steps))
        times["no_augment"].append(step_time(r_none, data, method, args.steps))
    steps_per_epoch = 50_000 // r_aug.train.batch_size
    rows = []
    for k, v in times.items():
        epoch = [s * steps_per_epoch for s in v]
        print(
            f"{k:>11}: {statistics.median(v) * 1000:.1f} ms/step -> "
            f"{statistics.median(epoch):.0f} s/epoch ({steps_per_epoch} steps)"
        )
        rows.append(
            row(
                "resnet20",
                "cifar10",
                f"epoch_time_s ({k})",
                epoch,
                step_ms=[s * 1000 for s in v],
                steps_timed=args.steps,
            )
        )
    ratio = [a / b for a, b in zip(times["augment"], times["no_augment"])]
    print(f"augment / no augment: {statistics.median(ratio):.3f}")
    rows.append(row("resnet20", "cifar10", "ratio augment/no_augment", ratio))
    write_results(
        args.out, "cifar10-epoch", rows, load_time_s=load_s, threads=torch.get_num_threads()
    )


if __name__ == "__main__":
    main()
