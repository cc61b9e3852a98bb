"""Time to decode all 60,000 CIFAR-10 JPEGs from the WebDataset shards (cold, no cache) and to
load the same uint8 tensors back from the decoded-tensor cache.

    nice -n 10 .venv/bin/python benchmarks/data_decode.py [--root ../shared/data] [--repeats 3]

Writes benchmarks/results/data-decode/results.json (via advkt.report.results.write_results) and
a README.md beside it. The cache goes to a temporary folder, never the user's cache.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch

from advkt.data.webdataset import decode_shards, find_shards, load_shards
from advkt.report.results import fmt, machine, mean_std, row, write_results

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "data-decode"


def _timed(fn) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def _cpu_seconds() -> float:
    """User + system CPU time of this process and of its finished (joined) children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default=str(HERE.parent.parent / "shared" / "data"))
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--workers", type=int, nargs="+", default=[2, 1])
    args = p.parse_args()
    torch.set_num_threads(1)
    folder = Path(args.root) / "cifar10-jpeg"
    splits = [find_shards(folder, "train"), find_shards(folder, "test")]
    shards = splits[0] + splits[1]
    rows, lines = [], []
    load_before = os.getloadavg()

    for w in args.workers:
        times, cpu = [], []
        for _ in range(args.repeats):
            c0 = _cpu_seconds()
            dt, (x, y) = _timed(lambda w=w: decode_shards(shards, "RGB", w))
            cpu.append(_cpu_seconds() - c0)  # the pool is shut down (joined) on return
            assert x.shape == (60000, 3, 32, 32) and x.dtype == torch.uint8, x.shape
            times.append(dt)
        rows.append(
            row(
                f"decode, {w} worker(s)",
                "cifar10-jpeg",
                "seconds",
                times,
                images=len(y),
                workers=w,
                images_per_s=len(y) / (sum(times) / len(times)),
            )
        )
        rows.append(row(f"decode, {w} worker(s), CPU time", "cifar10-jpeg", "cpu_seconds", cpu))

    with tempfile.TemporaryDirectory() as cache:
        os.environ["ADVKT_CACHE"] = cache
        # As the cifar10 loader does: one cache entry per split, decoded with 2 workers.
        dt_write, _ = _timed(lambda: [load_shards(s, "bench", "RGB", 2) for s in splits])
        sizes = sum(f.stat().st_size for f in Path(cache).iterdir())
        times = []
        for _ in range(args.repeats):
            # safetensors maps the file; the copy makes every byte be read, as a training run's
            # move to the device does.
            dt, parts = _timed(
                lambda: [[t.clone() for t in load_shards(s, "bench", "RGB", 2)] for s in splits]
            )
            assert sum(len(t[1]) for t in parts) == 60000
            times.append(dt)
        rows.append(
            row(
                "load from cache + copy",
                "cifar10-jpeg",
                "seconds",
                times,
                images=60000,
                cache_bytes=sizes,
                first_run_decode_and_write_s=dt_write,
            )
        )

    load_after = os.getloadavg()
    script = " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    command = f"nice -n 10 .venv/bin/python {script}"
    write_results(
        OUT,
        "data-decode",
        rows,
        command=command,
        loadavg_1m_before_after=[load_before[0], load_after[0]],
    )
    for r in rows:
        lines.append(
            f"| {r['method']} | {fmt(r['mean'], r['std'])} | "
            f"{', '.join(f'{v:.2f}' for v in r['values'])} |"
        )
    m, _ = mean_std(rows[0]["values"])
    readme = f"""# CIFAR-10 JPEG shards: decode vs. cache

All 60,000 CIFAR-10 images (5 train shards + 1 test shard of `../shared/data/cifar10-jpeg`,
JPEG quality ~75, 32x32) decoded with Pillow into one uint8 tensor (N, 3, 32, 32), one shard per
pool task; then the same tensors read back from the safetensors cache (one file per split, as
the `cifar10` loader keeps them, and copied into process memory so that every byte is read; the
file is in the OS page cache after the first pass).
Seconds per full pass, mean ± sample std over {args.repeats} repeats.

Command (from the repository root):

    {command}

Machine: {machine()}. The CPU was shared with other jobs: 1-minute load average
{load_before[0]:.1f} before and {load_after[0]:.1f} after the run, so wall times are upper bounds
of what an idle 2-core machine does. The CPU-time rows (user + system seconds of the process and
its pool workers) depend much less on that load: on an idle machine a pass with w workers takes
about CPU time / w of wall time, plus the pool's start-up.

| what | seconds | per repeat |
|---|---|---|
{chr(10).join(lines)}

Decoding with {rows[0]["workers"]} worker(s) takes {m:.1f} s a pass ({60000 / m:,.0f} images/s);
the first cached pass (decode + write) took {rows[-1]["first_run_decode_and_write_s"]:.1f} s;
the cache is {rows[-1]["cache_bytes"] / 2**20:.0f} MiB.
"""
    (OUT / "README.md").write_text(readme)
    print(readme)


if __name__ == "__main__":
    main()
