"""What the advkt loop costs over bare PyTorch, and what HKSANC costs over KD.

1. One epoch of KD through the engine (``advkt.engine.trainer.train_epoch``) against a bare
   PyTorch loop doing the same computation (teacher forward under no_grad, student forward,
   0.1·CE + 0.9·T²·KL, SGD step) on the same in-memory tensors, alternating in one process.
2. One epoch of HKSANC against one epoch of KD through the engine, same pair, same data: with
   the teacher run on every batch, and, for a pair whose recipe trains without augmentation
   (mnist1d), also as its benchmark trains them, reading the teacher table
   (:class:`advkt.engine.batches.TeacherTable`: KD the teacher's logits, HKSANC the logits and
   its squeezed teacher descriptors, computed once).

Reports medians over the repeats and their ratios (targets: engine/bare <= 1.10,
HKSANC/KD <= 1.5). Usage:

    OMP_NUM_THREADS=1 python benchmarks/overhead.py --pair mnist1d --repeats 5
    OMP_NUM_THREADS=1 python benchmarks/overhead.py --pair cifar10 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time
from contextlib import nullcontext

import torch
import torch.nn.functional as F

from advkt.data.augment import to_float
from advkt.engine.batches import TeacherTable
from advkt.engine.run import bare_run, build_method
from advkt.engine.splits import load_splits
from advkt.engine.teacher import model_spec
from advkt.engine.trainer import train_epoch
from advkt.losses.kd import kd_loss
from advkt.models import build_model
from advkt.recipe import load_recipe
from advkt.report.results import row, write_results

# the engine's update must match the bare loop's: plain SGD, no schedule, no augmentation
SAME_UPDATE = [
    "train.optimizer.name=sgd",
    "train.optimizer.lr=0.01",
    "train.optimizer.weight_decay=0.0005",
    "train.schedule.name=constant",
    "data.augment={}",
]
PAIRS = {  # recipe, overrides, whether its training reads a teacher table (no augmentation)
    "mnist1d": ("recipes/mnist1d/kd_cnn1d128_cnn1d32.yaml", [], True),
    # 1,280 CIFAR-10 training images: 20 steps an epoch
    "cifar10": (
        "recipes/cifar10/budget/kd_resnet20_resnet8.yaml",
        ["data.train_subset=1280"],
        False,
    ),
}


def setup(recipe_path: str, overrides: list[str], method: str, batch: int):
    r = load_recipe(
        recipe_path,
        [
            *overrides,
            f"method.name={method}",
            "method.args={}",
            f"train.batch_size={batch}",
            "train.epochs=1",
        ],
    )
    data = load_splits(r)
    teacher = build_model(model_spec(r.teacher, data.train)).eval()
    teacher.requires_grad_(False)
    torch.manual_seed(0)
    student = build_model(model_spec(r.student, data.train))
    m = build_method(r, student, teacher, data.train, torch.device("cpu"))
    return r, data, teacher, m


def engine_epoch(r, data, teacher, m, table=None) -> float:
    run = bare_run(r, m, teacher, data, torch.device("cpu"))
    run.table = table
    t0 = time.perf_counter()
    train_epoch(run, 0)
    return time.perf_counter() - t0


def bare_epoch(r, data, teacher, student) -> float:
    opt = torch.optim.SGD(
        student.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4, foreach=True
    )
    x_all, y_all, b = data.train.x, data.train.y, r.train.batch_size
    order = torch.randperm(len(y_all), generator=torch.Generator().manual_seed(0))
    student.train()
    t0 = time.perf_counter()
    for i in range(len(y_all) // b):
        idx = order[i * b : (i + 1) * b]
        x, y = to_float(x_all[idx], data.train.mean, data.train.std), y_all[idx]
        with torch.no_grad():
            t = teacher(x)
        s = student(x)
        loss = 0.1 * F.cross_entropy(s, y) + 0.9 * kd_loss(s, t, 4.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--pair", choices=sorted(PAIRS), default="mnist1d")
    ap.add_argument("--out", default=None, help="default: benchmarks/results/overhead-<pair>")
    args = ap.parse_args()
    recipe, extra, tabled = PAIRS[args.pair]
    r, data, teacher, kd = setup(recipe, [*extra, *SAME_UPDATE], "kd", args.batch)
    _, _, _, hk = setup(recipe, [*extra, *SAME_UPDATE], "hksanc", args.batch)
    hk.prepare(lambda e: [])  # teacher-side estimators stay as initialised: same cost per step
    tables = {}
    if tabled:  # as run.setup builds them (after prepare: HKSANC's rows read its teacher side)
        tables["kd"] = TeacherTable.build(teacher, data.train, False, nullcontext, 1024)
        hk_table = TeacherTable.build(teacher, data.train, True, nullcontext, 1024)
        tables["hksanc"] = hk_table.with_rows(hk, 1024)
    times = {"bare": [], "engine_kd": [], "engine_hksanc": []}
    times.update({f"engine_{k}_table": [] for k in tables})
    engine_epoch(r, data, teacher, kd)  # warm-up
    bare_epoch(r, data, teacher, kd.student)
    for _ in range(args.repeats):
        times["bare"].append(bare_epoch(r, data, teacher, kd.student))
        times["engine_kd"].append(engine_epoch(r, data, teacher, kd))
        times["engine_hksanc"].append(engine_epoch(r, data, teacher, hk))
        for k, m in (("kd", kd), ("hksanc", hk)):
            if k in tables:
                times[f"engine_{k}_table"].append(engine_epoch(r, data, teacher, m, tables[k]))
    med = {k: statistics.median(v) for k, v in times.items()}

    def over(a: str, b: str) -> list[float]:
        return [x / y for x, y in zip(times[a], times[b])]

    ratios = {
        "engine_over_bare": over("engine_kd", "bare"),
        "hksanc_over_kd": over("engine_hksanc", "engine_kd"),
    }
    if tables:
        ratios["hksanc_over_kd_table"] = over("engine_hksanc_table", "engine_kd_table")
    for k, v in med.items():
        print(f"{k:>14}: median epoch {v:.3f} s over {args.repeats} repeats")
    for k, v in ratios.items():
        print(
            f"{k:>16}: median ratio {statistics.median(v):.3f}  (each: "
            + ", ".join(f"{x:.3f}" for x in v)
            + ")"
        )
    steps = len(data.train) // args.batch
    ds = r.data.dataset
    rows = [row(k, ds, "epoch_time_s", v, steps=steps) for k, v in times.items()]
    rows += [row(k, ds, "ratio", v) for k, v in ratios.items()]
    pair = f"{r.teacher.model} {r.teacher.args} -> {r.student.model} {r.student.args}"
    write_results(
        args.out or f"benchmarks/results/overhead-{args.pair}",
        "overhead",
        rows,
        pair=pair,
        batch=args.batch,
        threads=torch.get_num_threads(),
    )


if __name__ == "__main__":
    main()
