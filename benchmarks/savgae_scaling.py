"""Memory and time of SAVGAE's dense target S Sᵀ (paper) against the scalable top-k one (ours).

    nice -n 10 .venv/bin/python benchmarks/savgae_scaling.py                # all sizes
    nice -n 10 .venv/bin/python benchmarks/savgae_scaling.py --sizes 1000 2000 --dense-max 2000

Graphs: stochastic block model with class-dependent Gaussian features
(:func:`advkt.graph.synthetic.sbm_graph`: 5 classes, 64 features, mean degree about 10).
Every (kind, N) runs in a fresh subprocess that reports its own peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``), the peak before the target was built (graph and
imports), the wall and CPU seconds of building the target, and of one reconstruction step
(forward + backward of L_rec + L_KL). The dense target's peak is fitted as a + c·N² on the sizes
run; sizes whose predicted peak exceeds ``--max-gib`` (default 12, the machine is shared) are not
run. The largest N whose predicted peak fits 24 GiB is reported twice, for the target alone and
for the target plus one training step, and the scalable target is also run at those two sizes.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "savgae-scaling"
SIZES = [1000, 2000, 5000, 10000, 20000, 50000, 100000]
GIB = 1024**3


def _rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def one(kind: str, n: int, step: bool) -> dict:
    """Measure in this process (called in a fresh subprocess)."""
    import torch

    torch.set_num_threads(1)
    from advkt.graph.savgae import SAVGAE, Discriminator, VariationalGCNEncoder
    from advkt.graph.synthetic import sbm_graph
    from advkt.graph.train import build_target

    x, ei, _ = sbm_graph(n, seed=0)
    rec = {"kind": kind, "n": n, "edges": int(ei.size(1)), "base_rss": _rss()}
    t0, c0 = time.perf_counter(), _cpu()
    target = build_target(ei, n, kind)
    rec.update(target_s=time.perf_counter() - t0, target_cpu_s=_cpu() - c0, target_rss=_rss())
    if step:
        torch.manual_seed(0)
        model = SAVGAE(VariationalGCNEncoder(x.size(1)), Discriminator())
        t0, c0 = time.perf_counter(), _cpu()
        z = model.encode(x, ei)
        loss = model.recon_loss(z, target) + model.kl_loss() / n
        loss.backward()
        rec.update(step_s=time.perf_counter() - t0, step_cpu_s=_cpu() - c0, step_rss=_rss())
    return rec


def spawn(kind: str, n: int, step: bool, max_gib: float) -> dict:
    """Measure (kind, n) in a fresh subprocess; print and return its record."""
    cmd = [sys.executable, __file__, "--one", kind, str(n), "--max-gib", str(max_gib)]
    if step:
        cmd.append("--step")
    p = subprocess.run(cmd, capture_output=True, text=True)
    lines = [line for line in p.stdout.splitlines() if line.startswith("{")]
    if p.returncode != 0 or not lines:
        rec = {"kind": kind, "n": n, "error": (p.stderr.strip().splitlines() or ["?"])[-1]}
    else:
        rec = json.loads(lines[-1])
    print(json.dumps(rec), flush=True)
    return rec


def fit_quadratic(recs: list[dict], key: str = "target_rss") -> tuple[float, float]:
    """Least squares peak ``key`` ≈ a + c·N² over the dense runs."""
    import numpy as np

    n = np.array([r["n"] for r in recs], float)
    y = np.array([r[key] for r in recs], float)
    a, c = np.linalg.lstsq(np.c_[np.ones_like(n), n**2], y, rcond=None)[0]
    return float(a), float(c)


def cora_table(folder: Path) -> str:
    """Sparse against dense SAVGAE link prediction on Cora, both run in one process per seed."""
    from advkt.report.results import fmt, mean_std

    path = folder / "records-Cora.jsonl"
    recs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    by = {m: {r["seed"]: r for r in recs if r["method"] == m} for m in ("savgae", "savgae-sparse")}
    common = sorted(by["savgae"].keys() & by["savgae-sparse"].keys())
    its = sorted({by[m][s]["link_iterations"] for m in by for s in common})
    lines = [
        f"Cora link prediction, seeds {common}, SAVGAE link iterations {its}, the same split "
        "for both targets on each seed (ours; mean ± std in %)",
        "",
        "| target | n | AUC | AP | link train s (wall) |",
        "|---|---|---|---|---|",
    ]
    for name, m in (("dense S Sᵀ (paper)", "savgae"), ("sparse top-k (ours)", "savgae-sparse")):
        rs = [by[m][s] for s in common]
        auc = fmt(*mean_std([100 * r["auc"] for r in rs]), 1)
        ap = fmt(*mean_std([100 * r["ap"] for r in rs]), 1)
        t = mean_std([r["time_link_s"] for r in rs])[0]
        lines.append(f"| {name} | {len(rs)} | {auc} | {ap} | {t:.0f} |")
    diff = [100 * (by["savgae-sparse"][s]["auc"] - by["savgae"][s]["auc"]) for s in common]
    ratio = [by["savgae-sparse"][s]["time_link_s"] / by["savgae"][s]["time_link_s"] for s in common]
    lines += [
        "",
        f"Paired sparse − dense AUC: {fmt(*mean_std(diff), 1)} points; link time sparse / dense "
        f"per seed: {', '.join(f'{x:.2f}' for x in ratio)}",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    ap.add_argument("--dense-max", type=int, default=10000, help="largest N to run dense (time)")
    ap.add_argument("--max-gib", type=float, default=12.0, help="never run above this peak")
    ap.add_argument("--dense-step-max", type=int, default=5000)
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument(
        "--cora-table",
        action="store_true",
        help="only write cora-link/table.md from its records",
    )
    ap.add_argument("--one", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    ap.add_argument("--step", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        limit = int(args.max_gib * GIB)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        print(json.dumps(one(args.one[0], int(args.one[1]), args.step)), flush=True)
        return 0

    from advkt.report.results import row, write_results

    if args.cora_table:
        text = cora_table(Path(args.out) / "cora-link")
        (Path(args.out) / "cora-link" / "table.md").write_text(text)
        print(text)
        return 0

    recs: list[dict] = []
    dense: list[dict] = []
    for n in sorted(args.sizes):
        if n <= args.dense_max:
            ok = True
            if len(dense) >= 2:
                a, c = fit_quadratic(dense)
                ok = a + c * n * n < args.max_gib * GIB * 0.8
            if ok:
                r = spawn("dense", n, n <= args.dense_step_max, args.max_gib)
                recs.append(r)
                if "error" not in r:
                    dense.append(r)
        recs.append(spawn("sparse", n, True, args.max_gib))

    def largest_in_24gib(key: str) -> tuple[float, float, int | None]:
        runs = [r for r in dense if key in r]
        a, c = fit_quadratic(runs, key) if len(runs) >= 2 else (float("nan"), float("nan"))
        return a, c, int(((24 * GIB - a) / c) ** 0.5) if c == c and c > 0 else None

    a, c, n24 = largest_in_24gib("target_rss")
    sa, sc, s24 = largest_in_24gib("step_rss")
    # the scalable target at the sizes where the dense one stops fitting 24 GiB
    for n in sorted({m for m in (n24, s24) if m and m not in args.sizes}):
        recs.append(spawn("sparse", n, True, args.max_gib))
    recs.sort(key=lambda r: (r["n"], r["kind"]))
    rows = []
    for r in recs:
        if "error" in r:
            continue
        for key in ("target_s", "target_cpu_s", "target_rss", "step_s", "step_cpu_s", "step_rss"):
            if key in r:
                rows.append(row(f"savgae-{r['kind']}", f"sbm-{r['n']}", key, [r[key]], n=r["n"]))
    out = Path(args.out)
    write_results(
        out,
        "savgae-scaling",
        rows,
        command="python benchmarks/savgae_scaling.py " + " ".join(sys.argv[1:]),
        records=recs,
        dense_fit={"a_bytes": a, "c_bytes_per_n2": c, "largest_n_in_24gib": n24},
        dense_step_fit={"a_bytes": sa, "c_bytes_per_n2": sc, "largest_n_in_24gib": s24},
    )
    lines = [
        "| kind | N | edges (directed) | target build s (wall / CPU) | peak RSS GiB "
        "| one rec. step s (wall / CPU) | peak RSS after step GiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in recs:
        if "error" in r:
            lines.append(f"| {r['kind']} | {r['n']} | – | failed: {r['error']} | | | |")
            continue
        step = f"{r['step_s']:.2f} / {r['step_cpu_s']:.2f}" if "step_s" in r else "–"
        step_rss = f"{r['step_rss'] / GIB:.2f}" if "step_rss" in r else "–"
        lines.append(
            f"| {r['kind']} | {r['n']:,} | {r['edges']:,} | {r['target_s']:.2f} / "
            f"{r['target_cpu_s']:.2f} | {r['target_rss'] / GIB:.2f} | {step} | {step_rss} |"
        )
    lines.append("")
    for what, (fa, fc, fn) in (
        ("target", (a, c, n24)),
        ("target + one training step", (sa, sc, s24)),
    ):
        lines.append(
            f"Dense peak fit, {what}: {fa / GIB:.2f} GiB + {fc:.1f} B · N²; largest N whose "
            f"predicted peak fits 24 GiB: {fn:,}"
            if fn
            else f"Dense peak fit, {what}: unavailable (fewer than two sizes)."
        )
    (out / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
