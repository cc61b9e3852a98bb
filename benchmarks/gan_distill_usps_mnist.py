"""Distilling a CycleGAN's USPS → MNIST generator into ½ and ¼ students (issue #19,
``advkt.translation``, ``docs/methods/gan_distill.md``).

    OMP_NUM_THREADS=1 ADVKT_DATA=../shared/data \
      python benchmarks/gan_distill_usps_mnist.py --workers 2

1. The judge: LeNet-5 trained on the real MNIST training images (cached).
2. The teacher: a CycleGAN of base width ``--teacher-width`` (16 on a CPU; 32 or 64 on a GPU)
   between USPS (the training images less a fixed 1,000 held out for validation) and MNIST.
3. The validation sweep at ¼ width, seed 1: each method's main weight at three values
   (``SWEEP``: the feature peer's feature weight, ours' Gram weight; pixel and scratch have
   none), chosen by the judge's accuracy on the translated validation digits; the test digits
   choose nothing.
4. Every method at ½ and ¼ width with its chosen value, seed 1; then seeds 2 and 3 for ours and
   the peer best on validation at ¼ width (the issue's "3 seeds for ours and the best peer").

Every method has the teacher's schedule (``--epochs``, batch 32, Adam 2e-4, CycleGAN's decay).
Scores on the 2,007 USPS test digits translated to MNIST: the judge's accuracy (``acc``) and the
Fréchet distance in its features to the 10,000 real MNIST test digits (``frechet``); each
generator's parameters, MACs and CPU latency (batch 1 and 64, one thread), the teacher's
measured in the same process. Records under ``benchmarks/results/gan-distill-usps-mnist/runs/``
(a rerun trains only what is missing; run folders with epoch checkpoints in the cache, so an
interrupted run continues); results.json (rows ``method``, ``task``, ``width``, ``metric``,
``values``, ``seeds``), table.md, sweep.json and samples.png there.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "gan-distill-usps-mnist"
TASK = "usps->mnist"
VALIDATION = 1000  # USPS training digits held out (a fixed shuffle, seed 0)
# method -> (its main weight, three trial values); None: nothing to choose
SWEEP = {
    "scratch": None,
    "pixel": None,
    "feature": ("w_feat", (0.1, 1.0, 10.0)),
    "ours": ("w_gram", (1e3, 1e4, 1e5)),
}


def cache() -> Path:
    base = os.environ.get("ADVKT_CACHE") or os.path.expanduser("~/.cache/advkt")
    return Path(base) / "gan-distill-usps-mnist"


_DATA: dict = {}


def data() -> dict:
    """The domains, the training / validation split of USPS, the judge (once a process)."""
    if not _DATA:
        import torch

        from advkt.translation.digits import digit_domains, train_judge

        d = digit_domains(os.environ.get("ADVKT_DATA", ROOT.parent / "shared" / "data"))
        usps, mnist = d["usps"], d["mnist"]
        order = torch.randperm(len(usps["x_train"]), generator=torch.Generator().manual_seed(0))
        val, train = order[:VALIDATION], order[VALIDATION:]
        _DATA.update(
            a=usps["x_train"][train], b=mnist["x_train"],
            a_val=usps["x_train"][val], y_val=usps["y_train"][val],
            a_test=usps["x_test"], y_test=usps["y_test"], b_test=mnist["x_test"],
            judge=train_judge(mnist["x_train"], mnist["y_train"]),
        )  # fmt: skip
    return _DATA


def schedule(epochs: int):
    from advkt.translation.train import Schedule

    return Schedule(epochs=epochs, batch=32)


def teacher(width: int, epochs: int):
    from advkt.translation.train import fit_cyclegan

    d = data()
    run = cache() / f"teacher-w{width}-e{epochs}"
    return fit_cyclegan(d["a"], d["b"], width, schedule(epochs), seed=0, run_dir=run)


def cost(generator, reference=None) -> dict:
    """Parameters, MACs and latency of a generator (and the same of ``reference`` measured
    right after it, in the same process, for the ratio)."""
    import copy

    from advkt.models.profile import count_flops, count_params, latency_ms

    generator = copy.deepcopy(generator).cpu()  # CPU latency, wherever it was trained
    reference = None if reference is None else copy.deepcopy(reference).cpu()
    out = {"params": count_params(generator), "macs": count_flops(generator, (1, 28, 28)) // 2,
           "latency_b1_ms": latency_ms(generator, (1, 28, 28), batch=1),
           "latency_b64_ms": latency_ms(generator, (1, 28, 28), batch=64)}  # fmt: skip
    if reference is not None:
        for b in (1, 64):
            ref = latency_ms(reference, (1, 28, 28), batch=b)
            out[f"latency_b{b}_over_teacher"] = out[f"latency_b{b}_ms"] / ref
    return out


def scores(generator, validation: bool) -> dict:
    from advkt.translation.digits import translation_scores

    d = data()
    if validation:
        r = translation_scores(generator, d["judge"], d["a_val"], d["y_val"], d["b_test"][:1000])
        return {"val_acc": r["acc"]}
    return translation_scores(generator, d["judge"], d["a_test"], d["y_test"], d["b_test"])


def one(method: str, width: int, seed: int, kw: dict, args, trial: bool = False) -> dict:
    """One student (trained, continued or read back) and its record."""
    import torch

    torch.set_num_threads(1)
    from advkt.translation.train import fit_student

    tag = "-".join(f"{k}{v:g}" for k, v in kw.items()) or "default"
    name = f"{method}-w{width}-{tag}-s{seed}"
    record = OUT / ("sweep-runs" if trial else "runs") / f"{name}.json"
    if record.is_file():
        return json.loads(record.read_text())
    t = teacher(args.teacher_width, args.epochs)
    d = data()
    m = fit_student(method, t, d["a"], d["b"], width, schedule(args.epochs), seed=seed,
                    run_dir=cache() / "students" / name, **kw)  # fmt: skip
    out = {"method": method, "width": width, "seed": seed, "args": kw,
           "teacher_width": args.teacher_width, "epochs": args.epochs,
           "train_s": sum(e["seconds"] for e in m.log),
           **scores(m.student, validation=True)}  # fmt: skip
    if not trial:
        out |= scores(m.student, validation=False) | cost(m.student, t.student)
    record.parent.mkdir(parents=True, exist_ok=True)
    tmp = record.with_suffix(".tmp")
    tmp.write_text(json.dumps(out, indent=2) + "\n")
    tmp.replace(record)
    print(json.dumps(out), file=sys.stderr, flush=True)
    return out


def _pool(workers: int, jobs: list[tuple]) -> list[dict]:
    if workers == 1:
        return [one(*j) for j in jobs]
    with ProcessPoolExecutor(workers) as pool:
        return [f.result() for f in [pool.submit(one, *j) for j in jobs]]


def teacher_record(args) -> dict:
    path = OUT / "teacher.json"
    if path.is_file():
        return json.loads(path.read_text())
    t = teacher(args.teacher_width, args.epochs)
    out = {"method": "teacher", "width": args.teacher_width, "epochs": args.epochs,
           "train_s": sum(e["seconds"] for e in t.log), **scores(t.student, validation=True),
           **scores(t.student, validation=False), **cost(t.student)}  # fmt: skip
    OUT.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    return out


def choose(trials: list[dict]) -> dict[str, dict]:
    chosen = {}
    for method, spec in SWEEP.items():
        mine = [t for t in trials if t["method"] == method]
        chosen[method] = max(mine, key=lambda t: t["val_acc"])["args"] if spec else {}
    return chosen


def report(teach: dict, rows: list[dict], chosen: dict, trials: list[dict], best: str) -> None:
    from advkt.report.results import fmt, mean_std, row, write_results

    out = [row("teacher", TASK, m, [teach[m]], width=teach["width"], seeds=[0])
           for m in ("acc", "frechet", "params", "macs")]  # fmt: skip
    lines = [
        f"Teacher (width {teach['width']}): acc {teach['acc']:.2f} %, Fréchet "
        f"{teach['frechet']:.2f}, {teach['params']:,} parameters, {teach['macs']:,} MACs.",
        "",
        "| method | width | acc (%) | Fréchet | params | MACs | latency b64 / teacher | seeds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for width in sorted({r["width"] for r in rows}, reverse=True):
        for method in SWEEP:
            rs = sorted((r for r in rows if r["method"] == method and r["width"] == width),
                        key=lambda r: r["seed"])  # fmt: skip
            if not rs:
                continue
            for metric in ("acc", "frechet", "params", "macs", "latency_b64_over_teacher"):
                out.append(row(method, TASK, metric, [r[metric] for r in rs], width=width,
                               seeds=[r["seed"] for r in rs], args=rs[0]["args"]))  # fmt: skip
            acc, fd = mean_std([r["acc"] for r in rs]), mean_std([r["frechet"] for r in rs])
            lat = mean_std([r["latency_b64_over_teacher"] for r in rs])
            lines.append(f"| {method} | {width} | {fmt(*acc, 2)} | {fmt(*fd, 2)} | "
                         f"{rs[0]['params']:,} | {rs[0]['macs']:,} | {lat[0]:.2f} | "
                         f"{len(rs)} |")  # fmt: skip
    lines += ["", f"Best peer on validation at the smallest width: {best}.", ""]
    by = {(r["method"], r["width"], r["seed"]): r for r in rows}
    for width in sorted({r["width"] for r in rows}, reverse=True):
        pairs = [
            (by[("ours", width, s)]["acc"] - by[(best, width, s)]["acc"])
            for (m, w, s) in by
            if m == "ours" and w == width and (best, width, s) in by
        ]
        if pairs:
            mu, sd = mean_std(pairs)
            lines.append(f"- width {width}: ours − {best}, acc {mu:+.2f} ± {sd:.2f} "
                         f"({sum(p > 0 for p in pairs)}/{len(pairs)} seeds ahead)")  # fmt: skip
    write_results(OUT, "gan-distill-usps-mnist", out, teacher=teach, best_peer=best)
    (OUT / "sweep.json").write_text(json.dumps({"trials": trials, "chosen": chosen}, indent=2))
    (OUT / "table.md").write_text("\n".join(lines) + "\n")


def samples(args, widths: list[int], chosen: dict) -> None:
    """input | teacher | each method's smallest student (seed 1), on 10 USPS test digits."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from advkt.engine.checkpoint import load_model_weights, resolve
    from advkt.translation.digits import translate
    from advkt.translation.networks import ResnetGenerator

    d = data()
    classes = sorted(set(d["y_test"].tolist()))[:10]  # the first test digit of each class
    x = d["a_test"][torch.tensor([int((d["y_test"] == c).nonzero()[0]) for c in classes])]
    rows = [("USPS input", x), ("teacher", translate(teacher(args.teacher_width, args.epochs)
                                                      .student, x))]  # fmt: skip
    w = min(widths)
    for method in SWEEP:
        tag = "-".join(f"{k}{v:g}" for k, v in chosen[method].items()) or "default"
        run = cache() / "students" / f"{method}-w{w}-{tag}-s1"
        g = ResnetGenerator(1, 1, w)
        load_model_weights(g, resolve(run))
        rows.append((f"{method} (w {w})", translate(g, x)))
    fig, axes = plt.subplots(len(rows), len(x), figsize=(len(x), 1.1 * len(rows)), squeeze=False)
    for r, (label, imgs) in enumerate(rows):
        for c in range(len(x)):
            ax = axes[r, c]
            ax.imshow(imgs[c, 0].numpy(), cmap="gray", vmin=-1, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "samples.png", dpi=100)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--teacher-width", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None,
                    help="default: benchmarks/results/gan-distill-usps-mnist")  # fmt: skip
    args = ap.parse_args()
    if args.out is not None:  # every function reads the module's folder
        global OUT
        OUT = args.out.resolve()
    os.environ.setdefault("ADVKT_DATA", str(ROOT.parent / "shared" / "data"))
    teach = teacher_record(args)  # the teacher first: every student needs it
    print(f"teacher: {teach}", file=sys.stderr, flush=True)
    widths = [args.teacher_width // 2, args.teacher_width // 4]
    quarter = widths[-1]
    trial_jobs = [
        (m, quarter, 1, {key: v}, args, True)
        for m, spec in SWEEP.items()
        if spec
        for key, vals in [spec]
        for v in vals
    ]
    trials = _pool(args.workers, trial_jobs)
    chosen = choose(trials)
    first = _pool(args.workers, [(m, w, 1, chosen[m], args) for w in widths for m in SWEEP])
    peers = [r for r in first if r["method"] != "ours" and r["width"] == quarter]
    best = max(peers, key=lambda r: r["val_acc"])["method"]
    more = _pool(args.workers, [(m, w, s, chosen[m], args) for s in (2, 3) for w in widths
                                for m in ("ours", best)])  # fmt: skip
    report(teach, first + more, chosen, trials, best)
    samples(args, widths, chosen)
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
