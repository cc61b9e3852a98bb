"""The compare plot: per-seed accuracies beside the teacher, and test accuracy over epochs.

Left: each row's final test accuracy on every seed as a point (jittered a little sideways), the
mean as a short horizontal bar, the teacher's accuracy as a dashed line; the y range covers every
point and the teacher with a margin, so the spread is never hidden by a cut axis. Right: the test
accuracy of each epoch, mean over seeds, from the comparison's curves (``curves.json``,
:mod:`advkt.report.curves`).
matplotlib is optional (the ``plot`` extra): without it no plot is written.
"""

from __future__ import annotations

from pathlib import Path

from advkt.report.curves import mean_curve


def plot(rows: list[dict], path: Path, curves: dict | None = None, teacher: float | None = None):
    """Write the two-panel plot to ``path``; returns the path, or None without matplotlib.

    ``curves``: the curves.json mapping ({recipe: {seed: curve}}); without it, no curve panel
    lines."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np
    except ImportError:  # the plot extra is optional; the table and JSON are the record
        return None
    fig, (ax, bx) = plt.subplots(
        1, 2, figsize=(4.5 + 0.7 * len(rows), 4.0), gridspec_kw={"width_ratios": [1.1, 1]}
    )
    colors = plt.get_cmap("tab10").colors
    rng = np.random.default_rng(0)
    points: list[float] = []
    for x, r in enumerate(rows):
        grey = r.get("convergence_check")
        c = "0.55" if grey else colors[x % len(colors)]
        vals = r["values"]
        points += vals
        ax.hlines(r["mean"], x - 0.25, x + 0.25, color="k" if not grey else "0.4", lw=1.5, zorder=3)
        ax.scatter(x + rng.uniform(-0.12, 0.12, len(vals)), vals, s=16, color=c, zorder=4)
    if teacher is not None:
        ax.axhline(teacher, ls="--", color="0.3", lw=1)
        ax.text(len(rows) - 0.5, teacher, " teacher", va="bottom", ha="right", fontsize=8)
        points.append(teacher)
    if points:
        lo, hi = min(points), max(points)
        pad = 0.08 * (hi - lo) + 0.5
        ax.set_ylim(max(0.0, lo - pad), min(100.0, hi + pad))
    ax.set_xlim(-0.6, len(rows) - 0.4)
    ax.set_xticks(range(len(rows)), [_label(r) for r in rows], rotation=30, ha="right")
    ax.tick_params(axis="x", labelsize=7)
    ax.set_ylabel("final test accuracy (%)")
    n = len(rows[0]["values"]) if rows else 0
    dataset = rows[0]["dataset"] if rows else ""
    ax.set_title(f"{dataset}: each seed, mean bar ({n} seeds)", fontsize=9)

    drawn = 0
    if curves:
        for x, r in enumerate(rows):
            epochs, accs = mean_curve(curves, r["recipe"], r.get("seeds", []))
            if not epochs:  # no curve recorded for this row
                continue
            grey = r.get("convergence_check")
            bx.plot(
                epochs,
                accs,
                color="0.55" if grey else colors[x % len(colors)],
                ls=":" if grey else "-",
                marker="o" if len(epochs) < 4 else None,
                ms=3,
                lw=1.2,
                label=_label(r),
            )
            drawn += 1
    if teacher is not None:
        bx.axhline(teacher, ls="--", color="0.3", lw=1, label="teacher")
    bx.set_xlabel("epoch")
    bx.set_ylabel("test accuracy (%), mean over seeds")
    bx.set_title("test accuracy over epochs", fontsize=9)
    if drawn or teacher is not None:
        bx.legend(fontsize=6, loc="lower right")
    if not drawn:
        bx.text(0.5, 0.5, "no curves recorded", transform=bx.transAxes, ha="center")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _label(r: dict) -> str:
    """A row's name on the plot; a convergence-check row says so, with its epochs and seeds."""
    if r.get("convergence_check"):
        return f"{r['recipe']} (check: {r.get('epochs')} ep, {len(r['values'])} seeds)"
    return r["recipe"]
