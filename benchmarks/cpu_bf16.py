"""fp32 against bf16 autocast on this CPU: one KD training step of the CIFAR-10 pair.

A step is the teacher's forward under no_grad, the student's forward and backward with
0.1·CE + 0.9·T²·KL, and an SGD update, on one batch of CIFAR-10-shaped inputs, the two precisions
interleaved in one process so that they share the machine's load. The step is the engine's
(``advkt.engine.precision.autocast_for`` gives the autocast the engine uses). Reports the median
step time of each precision and the ratio fp32 / bf16 (> 1: bf16 is faster). Usage:

    OMP_NUM_THREADS=2 python benchmarks/cpu_bf16.py --out benchmarks/results/cpu-bf16
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from advkt.engine.precision import autocast_for, cpu_has_native_bf16
from advkt.losses.kd import kd_loss
from advkt.models import build_model
from advkt.report.results import row, write_results


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--teacher", default="resnet20")
    p.add_argument("--student", default="resnet8")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    torch.manual_seed(0)
    spec = {"num_classes": 10, "in_channels": 3}
    teacher = build_model({"name": a.teacher, **spec}).eval().requires_grad_(False)
    student = build_model({"name": a.student, **spec})
    opt = torch.optim.SGD(student.parameters(), lr=0.05, momentum=0.9)
    x = torch.randn(a.batch, 3, 32, 32)
    y = torch.randint(0, 10, (a.batch,))
    device = torch.device("cpu")

    def step(amp: str) -> float:
        autocast, _ = autocast_for(device, amp)
        t0 = time.perf_counter()
        with torch.no_grad(), autocast():
            t = teacher(x)
        with autocast():
            s = student(x)
        loss = 0.1 * F.cross_entropy(s.float(), y) + 0.9 * kd_loss(s.float(), t.float(), 4.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return time.perf_counter() - t0

    times: dict[str, list[float]] = {"none": [], "bf16": []}
    for i in range(a.warmup + a.repeats):
        for amp in times:
            dt = step(amp)
            if i >= a.warmup:
                times[amp].append(dt)
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["none"] / med["bf16"]
    native = cpu_has_native_bf16()
    print(f"fp32 {med['none'] * 1e3:.1f} ms, bf16 {med['bf16'] * 1e3:.1f} ms, ratio {ratio:.2f}")
    print(f"CPU bf16 matrix instructions (AMX / AVX-512 BF16): {native}")
    rows = [
        row(
            "kd-step",
            "cifar10-shaped",
            f"step_s_{amp}",
            v,
            teacher=a.teacher,
            student=a.student,
            batch=a.batch,
            threads=torch.get_num_threads(),
        )
        for amp, v in times.items()
    ]
    write_results(
        a.out, "cpu-bf16", rows, ratio_fp32_over_bf16=ratio, cpu_native_bf16=native, **med
    )


if __name__ == "__main__":
    main()
