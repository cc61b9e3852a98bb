"""The report of benchmarks/ewgan_keel.py: results.json, table.md, timing.md, pca.png, README.md."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from advkt.report.results import machine, row, write_results

GANS = (
    "ctgan",
    "ewgan-share",
    "ewgan-complement",
    "ewgan-share-support",
    "ewgan-share-safe",
    "ewgan-share-safe-mmd",
)  # see raw nominal codes, timed against SMOTE
CLASSIFIERS = ("tree", "knn", "svm", "logreg")
METRICS = ("f1", "gmean", "auc")


def seed_means(per_seed_folds: list[list[float]]) -> list[float]:
    return [float(np.mean(f)) for f in per_seed_folds if f]


def average_ranks(results: list[dict], methods: list[str]) -> dict[str, dict[str, float]]:
    """ranks[method]["clf/metric"]: rank (1 = best, ties averaged) averaged over data sets."""
    from scipy.stats import rankdata

    out: dict[str, dict[str, float]] = {m: {} for m in methods}
    for c in CLASSIFIERS:
        for k in METRICS:
            per_ds = []
            for r in results:
                means = [np.mean(seed_means(r["scores"][m][c][k])) for m in methods]
                per_ds.append(rankdata([-v for v in means]))
            avg = np.mean(per_ds, axis=0)
            for m, v in zip(methods, avg):
                out[m][f"{c}/{k}"] = float(v)
    for m in methods:
        vals = list(out[m].values())
        out[m]["mean"] = float(np.mean(vals))
        for k in METRICS:
            out[m][f"all/{k}"] = float(np.mean([out[m][f"{c}/{k}"] for c in CLASSIFIERS]))
    return out


def timing(results: list[dict], methods: list[str]) -> list[dict]:
    """Per data set: total fit_resample seconds of each method and EWGAN / SMOTE ratios."""
    out = []
    for r in results:
        t = {m: float(np.sum(r["times"][m])) for m in methods}
        entry = {"dataset": r["dataset"], "seconds": t}
        if t.get("smote"):
            entry["ratio_to_smote"] = {m: t[m] / t["smote"] for m in methods if m in GANS}
        out.append(entry)
    return out


def _rank_table(ranks: dict, methods: list[str]) -> list[str]:
    cols = [f"{c}/{k}" for c in CLASSIFIERS for k in METRICS]
    lines = [
        "| method | " + " | ".join(cols) + " | all/f1 | all/gmean | all/auc | mean |",
        "|---" * (len(cols) + 5) + "|",
    ]
    for m in sorted(methods, key=lambda m: ranks[m]["mean"]):
        vals = [ranks[m][c] for c in cols] + [ranks[m][f"all/{k}"] for k in METRICS]
        vals.append(ranks[m]["mean"])
        lines.append(f"| {m} | " + " | ".join(f"{v:.2f}" for v in vals) + " |")
    return lines


def _dataset_table(r: dict, methods: list[str]) -> list[str]:
    cols = [f"{c}/{k}" for c in CLASSIFIERS for k in METRICS]
    lines = ["| method | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for m in methods:
        vals = [np.mean(seed_means(r["scores"][m][c][k])) for c in CLASSIFIERS for k in METRICS]
        lines.append(f"| {m} | " + " | ".join(f"{v:.3f}" for v in vals) + " |")
    return lines


def write_outputs(results: list[dict], cfg, partial: bool) -> None:
    out = Path(cfg.out)
    methods = list(cfg.methods)
    results = sorted(results, key=lambda r: r["dataset"])
    rows = []
    for r in results:
        for m in methods:
            for c in CLASSIFIERS:
                for k in METRICS:
                    folds = r["scores"][m][c][k]
                    rows.append(row(m, r["dataset"], f"{c}/{k}", seed_means(folds), folds=folds))
            n_seeds = len(cfg.seeds)
            per_seed = np.reshape(r["times"][m], (n_seeds, -1)).mean(axis=1).tolist()
            rows.append(row(m, r["dataset"], "fit_resample_s", per_seed))
    ranks = average_ranks(results, methods) if results else {}
    tim = timing(results, methods)
    failures = {r["dataset"]: r["failures"] for r in results if r["failures"]}
    stopped = {r["dataset"]: r["ewgan_stopped_by_time"] for r in results}
    config = {
        "datasets": [r["dataset"] for r in results],
        "folds": cfg.folds,
        "seeds": list(cfg.seeds),
        "methods": methods,
        "ewgan_n_iter": cfg.ewgan_n_iter,
        "ewgan_steps": dict(getattr(cfg, "ewgan_steps", {})),
        "ewgan_max_time": cfg.ewgan_max_time,
        "jobs": cfg.jobs,
    }
    write_results(
        out,
        "ewgan-keel",
        rows,
        command=cfg.command,
        indent=None,  # 11 methods x 20 sets x 12 columns with their folds: 2.2 MB indented
        partial=partial,
        config=config,
        average_ranks=ranks,
        timing=tim,
        failures=failures,
        ewgan_stopped_by_time=stopped,
        **cfg.extra,
    )
    _write_tables(out, results, methods, ranks, tim, failures, cfg)
    if not partial:
        for m in methods:
            if m in GANS:
                _write_pca(out, results, m)
        _write_readme(out, cfg, len(results))


def _write_tables(out, results, methods, ranks, tim, failures, cfg) -> None:
    lines = [
        "# EWGAN vs oversampling peers on KEEL",
        "",
        f"Command: `{cfg.command}`  ",
        f"Machine: {machine()}  ",
        f"{len(results)} data sets, stratified {cfg.folds}-fold CV x seeds {list(cfg.seeds)}; "
        "figures are means over seeds of the per-seed mean over folds.",
        "",
        "## Average rank per classifier and metric (1 = best; lower is better)",
        "",
        *_rank_table(ranks, methods),
        "",
    ]
    if failures:
        lines += ["## Sampler failures (the fold then used the training data unchanged)", ""]
        for ds, f in failures.items():
            for m, msgs in f.items():
                lines.append(f"- {ds} / {m}: {len(msgs)} folds, e.g. {msgs[0][:160]}")
        lines.append("")
    for r in results:
        lines += [
            f"## {r['dataset']} (n = {r['n']}, minority {r['n_minority']}, "
            f"IR {r['imbalance_ratio']:.1f})",
            "",
            *_dataset_table(r, methods),
            "",
        ]
    (out / "table.md").write_text("\n".join(lines))

    ew = [m for m in methods if m in GANS]
    t_lines = [
        "# fit_resample time, the GANs against SMOTE (same folds, same process, side by side)",
        "",
        "Total seconds over all folds and seeds; ratio = GAN / SMOTE.",
        "",
        "| dataset | smote s | " + " | ".join(f"{m} s | {m} / smote" for m in ew) + " |",
        "|---" * (2 + 2 * len(ew)) + "|",
    ]
    ratios: dict[str, list[float]] = {m: [] for m in ew}
    for t in tim:
        cells = [t["dataset"], f"{t['seconds'].get('smote', math.nan):.3f}"]
        for m in ew:
            ratio = t.get("ratio_to_smote", {}).get(m, math.nan)
            ratios[m].append(ratio)
            cells += [f"{t['seconds'][m]:.1f}", f"{ratio:.0f}"]
        t_lines.append("| " + " | ".join(cells) + " |")
    if tim:
        geo = [f"{math.exp(np.mean(np.log(ratios[m]))):.0f}" for m in ew]
        t_lines.append("| geometric mean | | " + " | ".join(f" | {g}" for g in geo) + " |")
    if results and "smote" in methods:
        t_lines += ["", *_median_fit_lines(results, ["smote", *ew])]
    (out / "timing.md").write_text("\n".join(t_lines) + "\n")


def median_fit(results: list[dict], methods: list[str]) -> dict[str, float]:
    """Each method's median fit_resample seconds over every (data set, seed, fold)."""
    return {m: float(np.median([t for r in results for t in r["times"][m]])) for m in methods}


def _median_fit_lines(results: list[dict], methods: list[str]) -> list[str]:
    """The median fit_resample seconds of one fold (over every data set, seed and fold) of each
    method, and its ratio to SMOTE's median (the speed target: a GAN's median <= 2 s)."""
    med = median_fit(results, methods)
    n = sum(len(r["times"][methods[0]]) for r in results)
    lines = [f"Median seconds of one fold's fit_resample ({n} folds: every data set, seed and "
             "fold), one torch thread:", "", "| method | median s | / SMOTE's median |",
             "|---|---|---|"]  # fmt: skip
    for m in methods:
        lines.append(f"| {m} | {med[m]:.3f} | {med[m] / med['smote']:.0f} |")
    return lines


def _write_pca(out: Path, results: list[dict], method: str) -> None:
    """pca.png (ewgan-share) or pca-<method>.png: real vs ``method``'s generated minority rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [r for r in results if r.get("pca") and method in r["pca"]["generated"]]
    if not shown:
        return
    cols = 5
    rows_n = math.ceil(len(shown) / cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(3.2 * cols, 3.0 * rows_n), squeeze=False)
    for ax in axes.ravel()[len(shown) :]:
        ax.axis("off")
    for ax, r in zip(axes.ravel(), shown):
        p = r["pca"]
        for pts, color, size, label in (
            (p["majority"], "#bbbbbb", 4, "real majority"),
            (p["minority"], "#1f77b4", 8, "real minority"),
            (p["generated"][method], "#d62728", 6, f"{method} minority"),
        ):
            pts = np.asarray(pts)
            if len(pts):
                ax.scatter(pts[:, 0], pts[:, 1], s=size, c=color, label=label, alpha=0.6, lw=0)
        ax.set_title(r["dataset"], fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].legend(fontsize=7, loc="best")
    fig.suptitle(
        f"PCA (fitted on the real training fold, first seed, fold 0) of real vs {method} minority",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(out / ("pca.png" if method == "ewgan-share" else f"pca-{method}.png"), dpi=110)
    plt.close(fig)


def _write_readme(out: Path, cfg, n_datasets: int) -> None:
    """A first README listing the outputs; one that exists (the findings written by hand after
    a run) is left as it is."""
    if (out / "README.md").exists():
        return
    text = f"""# EWGAN on the KEEL imbalanced benchmark

Produced by `{cfg.command}` on {machine()}
(wall time {cfg.extra.get("wall_seconds", "?")} s, {cfg.jobs} worker process(es),
one torch thread each).

- `results.json`: rows (method, dataset, metric = `classifier/metric`, values = one per seed,
  each the mean over {cfg.folds} folds; `folds` holds the per-fold values), plus
  `average_ranks`, `timing` and `failures`.
- `table.md`: average rank per classifier and metric over {n_datasets} data sets, then a table
  per data set.
- `timing.md`: fit_resample seconds of each GAN and of SMOTE on the same folds, and their ratio.
- `pca.png` (EWGAN-share), `pca-<method>.png` (the other GANs): real vs generated minority rows,
  2-D PCA of one training fold per data set.
"""
    (out / "README.md").write_text(text)
