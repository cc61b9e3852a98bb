"""Distilling an image translator's generator into ½ and ¼ students (issue #19,
``advkt.translation``, ``docs/methods/gan_distill.md``), on one of two tasks:

    OMP_NUM_THREADS=1 ADVKT_DATA=../shared/data \
      python benchmarks/gan_distill.py --task usps-mnist --workers 2
    ... --task cifar10-color

- ``usps-mnist``: unpaired USPS → MNIST, a CycleGAN teacher (ResNet generator); scores on the
  2,007 USPS test digits translated to MNIST: the judge's accuracy (``acc``; the judge a LeNet-5
  trained on the real MNIST training images) and the Fréchet distance in its features to the
  10,000 real MNIST test digits (``frechet``).
- ``cifar10-color``: paired CIFAR-10 colourisation (grey → colour), a pix2pix teacher (U-Net);
  scores on the 10,000 colourised test images: the judge's accuracy (a resnet8 trained on the
  real colour training images), PSNR and SSIM against the true colours.

1. The judge (cached), then the teacher of base width ``--teacher-width`` (16 by default)
   trained on the source's training images less a fixed held-out validation part (seed 0).
2. The validation sweep at ¼ width, seed 1: each method's main weight at three values
   (``SWEEP``: the feature peer's feature weight, ours' Gram weight; pixel and scratch have
   none), chosen by the judge's accuracy on the translated validation images; the test images
   choose nothing.
3. Every method at ½ and ¼ width with its chosen value, seed 1; then seeds 2 and 3 for ours and
   the peer best on validation at ¼ width (the issue's "3 seeds for ours and the best peer").

Every method has the teacher's schedule (``--epochs``, batch 32, Adam 2e-4, the linear decay of
the second half). Each generator's parameters, MACs and CPU latency (batch 1 and 64, one
thread) against the teacher's, measured in the same process. Records under
``benchmarks/results/gan-distill-<task>/runs/`` (a rerun trains only what is missing; run
folders with epoch checkpoints in the cache, so an interrupted run continues); results.json
(rows ``method``, ``task``, ``width``, ``metric``, ``values``, ``seeds``), table.md, sweep.json
and samples.png there.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from torch import nn

ROOT = Path(__file__).resolve().parents[1]
TASKS = {  # name -> (results folder, held-out validation images, input shape for the cost)
    "usps-mnist": ("gan-distill-usps-mnist", 1000, (1, 28, 28)),
    "cifar10-color": ("gan-distill-cifar10-color", 5000, (1, 32, 32)),
}
TASK = "usps-mnist"  # set by --task
OUT = ROOT / "benchmarks" / "results" / TASKS[TASK][0]
METRICS = {"usps-mnist": ("acc", "frechet"), "cifar10-color": ("acc", "psnr", "ssim")}
# method -> (its main weight, three trial values); None: nothing to choose
SWEEP = {
    "scratch": None,
    "pixel": None,
    "feature": ("w_feat", (0.1, 1.0, 10.0)),
    "ours": ("w_gram", (1e3, 1e4, 1e5)),
}


def cache() -> Path:
    base = os.environ.get("ADVKT_CACHE") or os.path.expanduser("~/.cache/advkt")
    return Path(base) / TASKS[TASK][0]


_DATA: dict = {}


def data() -> dict:
    """The task's training / validation / test images and the judge (once a process):
    a, b (training: source and target, paired for colourisation), a_val, y_val (and c_val, the
    true colours), a_test, y_test, b_test (real target test images or true colours), judge."""
    if not _DATA:
        import torch

        from advkt.translation import tasks

        root = os.environ.get("ADVKT_DATA", ROOT.parent / "shared" / "data")
        if TASK == "usps-mnist":
            d = tasks.digit_domains(root)
            src, tgt = d["usps"], d["mnist"]
            a, y, b = src["x_train"], src["y_train"], tgt["x_train"]
            test = {"a_test": src["x_test"], "y_test": src["y_test"], "b_test": tgt["x_test"]}
            judge = tasks.train_judge(tgt["x_train"], tgt["y_train"])
        else:
            d = tasks.colour_pairs(root)
            a, y, b = d["x_train"], d["y_train"], d["c_train"]
            test = {"a_test": d["x_test"], "y_test": d["y_test"], "b_test": d["c_test"]}
            judge = tasks.train_judge(b, y, model=tasks.RESNET8, epochs=15)
        order = torch.randperm(len(a), generator=torch.Generator().manual_seed(0))
        val, train = order[: TASKS[TASK][1]], order[TASKS[TASK][1] :]
        paired = TASK != "usps-mnist"
        _DATA.update(a=a[train], b=b[train] if paired else b, a_val=a[val], y_val=y[val],
                     c_val=b[val] if paired else None, judge=judge, **test)  # fmt: skip
    return _DATA


def schedule(epochs: int):
    from advkt.translation.train import Schedule

    return Schedule(epochs=epochs, batch=32)


def teacher(width: int, epochs: int):
    from advkt.translation.train import fit_cyclegan, fit_pix2pix

    d = data()
    fit = fit_cyclegan if TASK == "usps-mnist" else fit_pix2pix
    run = cache() / f"teacher-w{width}-e{epochs}"
    return fit(d["a"], d["b"], width, schedule(epochs), seed=0, run_dir=run)


def cost(generator, reference=None) -> dict:
    """Parameters, MACs and latency of a generator (and the same of ``reference`` measured
    right after it, in the same process, for the ratio)."""
    import copy

    from advkt.models.profile import count_flops, count_params, latency_ms

    shape = TASKS[TASK][2]
    generator = copy.deepcopy(generator).cpu()  # CPU latency, wherever it was trained
    reference = None if reference is None else copy.deepcopy(reference).cpu()
    out = {"params": count_params(generator), "macs": count_flops(generator, shape) // 2,
           "latency_b1_ms": latency_ms(generator, shape, batch=1),
           "latency_b64_ms": latency_ms(generator, shape, batch=64)}  # fmt: skip
    if reference is not None:
        for b in (1, 64):
            ref = latency_ms(reference, shape, batch=b)
            out[f"latency_b{b}_over_teacher"] = out[f"latency_b{b}_ms"] / ref
    return out


def scores(generator, validation: bool) -> dict:
    """The task's test scores, or with ``validation`` the judge's accuracy on the translated
    validation images (``val_acc``), the only figure any choice reads."""
    from advkt.translation.tasks import colour_scores, translation_scores

    d = data()
    if TASK == "usps-mnist":
        if validation:
            r = translation_scores(generator, d["judge"], d["a_val"], d["y_val"], d["b_test"][:10])
            return {"val_acc": r["acc"]}
        return translation_scores(generator, d["judge"], d["a_test"], d["y_test"], d["b_test"])
    if validation:
        return {"val_acc": colour_scores(generator, d["judge"], d["a_val"], d["y_val"],
                                         d["c_val"])["acc"]}  # fmt: skip
    return colour_scores(generator, d["judge"], d["a_test"], d["y_test"], d["b_test"])


def one(method: str, width: int, seed: int, kw: dict, args, trial: bool = False) -> dict:
    """One student (trained, continued or read back) and its record."""
    import torch

    torch.set_num_threads(1)
    from advkt.atomic import write_text_atomic
    from advkt.translation.train import fit_student

    configure(args)  # a worker process: the task the main process runs
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
    write_text_atomic(record, json.dumps(out, indent=2) + "\n")
    print(json.dumps(out), file=sys.stderr, flush=True)
    return out


def _pool(workers: int, jobs: list[tuple]) -> list[dict]:
    if workers == 1:
        return [one(*j) for j in jobs]
    with ProcessPoolExecutor(workers) as pool:
        return [f.result() for f in [pool.submit(one, *j) for j in jobs]]


class Untranslated(nn.Module):
    """The reference without translation: the source image itself (grey repeated as colour)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels

    def forward(self, x):
        return x.expand(-1, self.channels, -1, -1)


def teacher_record(args) -> dict:
    """The teacher's figures, and (``untranslated``) the same scores of the source images as
    they are: what translation has to beat."""
    path = OUT / "teacher.json"
    if path.is_file():
        return json.loads(path.read_text())
    t = teacher(args.teacher_width, args.epochs)
    plain = Untranslated(data()["b_test"].shape[1])
    out = {"method": "teacher", "width": args.teacher_width, "epochs": args.epochs,
           "train_s": sum(e["seconds"] for e in t.log), **scores(t.student, validation=True),
           **scores(t.student, validation=False), **cost(t.student),
           "untranslated": scores(plain, validation=False)}  # fmt: skip
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

    metrics = METRICS[TASK]
    out = [row("teacher", TASK, m, [teach[m]], width=teach["width"], seeds=[0])
           for m in (*metrics, "params", "macs")]  # fmt: skip
    lines = [
        f"Teacher (width {teach['width']}): "
        + ", ".join(f"{m} {teach[m]:.3g}" for m in metrics)
        + f"; {teach['params']:,} parameters, {teach['macs']:,} MACs. Untranslated source "
        "images: " + ", ".join(f"{m} {teach['untranslated'][m]:.3g}" for m in metrics) + ".",
        "",
        "| method | width | " + " | ".join(metrics) + " | params | MACs | latency b64 / teacher "
        "| seeds |",
        "|---|---|" + "---|" * len(metrics) + "---|---|---|---|",
    ]
    for width in sorted({r["width"] for r in rows}, reverse=True):
        for method in SWEEP:
            rs = sorted((r for r in rows if r["method"] == method and r["width"] == width),
                        key=lambda r: r["seed"])  # fmt: skip
            if not rs:
                continue
            for metric in (*metrics, "params", "macs", "latency_b64_over_teacher"):
                out.append(row(method, TASK, metric, [r[metric] for r in rs], width=width,
                               seeds=[r["seed"] for r in rs], args=rs[0]["args"]))  # fmt: skip
            cells = [fmt(*mean_std([r[m] for r in rs]), 2) for m in metrics]
            lat = mean_std([r["latency_b64_over_teacher"] for r in rs])[0]
            lines.append(f"| {method} | {width} | " + " | ".join(cells) + f" | "
                         f"{rs[0]['params']:,} | {rs[0]['macs']:,} | {lat:.2f} | "
                         f"{len(rs)} |")  # fmt: skip
    lines += ["", f"Best peer on validation at the smallest width: {best}.", ""]
    by = {(r["method"], r["width"], r["seed"]): r for r in rows}
    for width in sorted({r["width"] for r in rows}, reverse=True):
        seeds = [s for (m, w, s) in by if m == "ours" and w == width and (best, w, s) in by]
        for metric in metrics if seeds else ():
            pairs = [by[("ours", width, s)][metric] - by[(best, width, s)][metric] for s in seeds]
            mu, sd = mean_std(pairs)
            lines.append(f"- width {width}: ours − {best}, {metric} {mu:+.3f} ± {sd:.3f} "
                         f"({sum(p > 0 for p in pairs)}/{len(pairs)} seeds higher)")  # fmt: skip
    write_results(OUT, TASKS[TASK][0], out, teacher=teach, best_peer=best)
    (OUT / "sweep.json").write_text(json.dumps({"trials": trials, "chosen": chosen}, indent=2))
    (OUT / "table.md").write_text("\n".join(lines) + "\n")


def samples(args, widths: list[int], chosen: dict) -> None:
    """input | teacher | each method's smallest student (seed 1) | (the true colours), on the
    first test image of each class."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from advkt.engine.checkpoint import load_model_weights, resolve
    from advkt.translation.networks import at_width
    from advkt.translation.tasks import translate

    d = data()
    classes = sorted(set(d["y_test"].tolist()))[:10]
    idx = torch.tensor([int((d["y_test"] == c).nonzero()[0]) for c in classes])
    x = d["a_test"][idx]
    g_t = teacher(args.teacher_width, args.epochs).student
    rows = [("input", x), ("teacher", translate(g_t, x))]
    w = min(widths)
    for method in SWEEP:
        tag = "-".join(f"{k}{v:g}" for k, v in chosen[method].items()) or "default"
        g = at_width(g_t, w)
        load_model_weights(g, resolve(cache() / "students" / f"{method}-w{w}-{tag}-s1"))
        rows.append((f"{method} (w {w})", translate(g, x)))
    if TASK != "usps-mnist":
        rows.append(("true colours", d["b_test"][idx]))
    fig, axes = plt.subplots(len(rows), len(x), figsize=(len(x), 1.1 * len(rows)), squeeze=False)
    for r, (label, imgs) in enumerate(rows):
        for c in range(len(x)):
            im = ((imgs[c].clamp(-1, 1) + 1) / 2).permute(1, 2, 0).numpy()
            ax = axes[r, c]
            ax.imshow(im[..., 0] if im.shape[-1] == 1 else im, cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "samples.png", dpi=100)


def configure(args) -> None:
    """The task (and the results folder) every function reads, in this process or a worker."""
    global TASK, OUT
    TASK = args.task
    OUT = (args.out or ROOT / "benchmarks" / "results" / TASKS[TASK][0]).resolve()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", choices=sorted(TASKS), default="usps-mnist")
    ap.add_argument("--teacher-width", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None,
                    help="default: benchmarks/results/gan-distill-<task>")  # fmt: skip
    args = ap.parse_args()
    configure(args)
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
