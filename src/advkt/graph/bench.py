"""The Planetoid protocol: SAVGAE and its peers on the same splits and seeds, and the report.

For every data set and seed s: one ``split_edges(data, s)`` is shared by all methods; each method
is seeded with :func:`seed_all` (torch and Python's ``random``), trained on the training edges and
scored on the test pairs (AUC, AP); then trained afresh on the whole graph and its μ clustered
(ACC, NMI, ARI, F1).
Records go to ``records-<dataset>.jsonl`` one line per (method, seed), so runs can be split across
processes and resumed; :func:`summarise` turns them into results.json and table.md.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import torch

from advkt.graph.data import load_planetoid, split_edges
from advkt.graph.metrics import cluster_scores, link_scores
from advkt.graph.peers import PEERS, fit_peer
from advkt.graph.train import embed, fit_savgae

SAVGAE_METHODS = {
    "savgae": {"target": "dense", "adversarial": "released"},
    "savgae-natural": {"target": "dense", "adversarial": "natural"},
    "savgae-sparse": {"target": "sparse", "adversarial": "released"},
}
METHODS = (*SAVGAE_METHODS, *PEERS)
LINK_ITERATIONS, CLUSTER_ITERATIONS = 800, 100

# Published figures in %, (method, dataset, metric) -> value; none of them is ours.
PUBLISHED = {
    ("gae", "Cora", "auc"): 91.0,
    ("gae", "Cora", "ap"): 92.0,
    ("gae", "CiteSeer", "auc"): 89.5,
    ("gae", "CiteSeer", "ap"): 89.9,
    ("vgae", "Cora", "auc"): 91.4,
    ("vgae", "Cora", "ap"): 92.6,
    ("vgae", "CiteSeer", "auc"): 90.8,
    ("vgae", "CiteSeer", "ap"): 92.0,
    ("arga", "CiteSeer", "auc"): 91.9,
    ("arga", "CiteSeer", "ap"): 93.0,
    ("arga", "Cora", "acc"): 64.0,
}
PUBLISHED_SOURCE = {
    "gae": "Kipf & Welling 2016",
    "vgae": "Kipf & Welling 2016",
    "arga": "Pan et al. 2018",
}


def fit_method(method: str, x, edge_index, pos_edges, task: str, iterations: int | None = None):
    """Train ``method`` for ``task`` ("link" or "cluster"); returns the model."""
    if method in SAVGAE_METHODS:
        default = LINK_ITERATIONS if task == "link" else CLUSTER_ITERATIONS
        return fit_savgae(x, edge_index, iterations or default, **SAVGAE_METHODS[method])
    if method in PEERS:
        return fit_peer(method, x, edge_index, pos_edges, epochs=iterations)
    raise ValueError(f"unknown method {method!r}; valid methods: {', '.join(METHODS)}")


def seed_all(seed: int) -> None:
    """Seed torch and Python's ``random``, which PyG's ``negative_sampling`` draws from."""
    torch.manual_seed(seed)
    random.seed(seed)


def run_one(
    method: str,
    data,
    split,
    seed: int,
    tasks=("link", "cluster"),
    iterations: int | None = None,
    savgae_link_iterations: int = LINK_ITERATIONS,
):
    """One (method, seed) on one data set: a record with the metrics, wall times and μ.

    ``iterations`` overrides every method's length for both tasks (None: their defaults);
    ``savgae_link_iterations`` sets only SAVGAE's link-prediction length (CPU-budget runs).
    """
    rec: dict = {"method": method, "seed": seed}
    link_its = iterations
    if iterations is None and method in SAVGAE_METHODS:
        link_its = savgae_link_iterations
        if "link" in tasks:
            rec["link_iterations"] = link_its
    full = data.edge_index
    mus = {}
    if "link" in tasks:
        seed_all(seed)
        t0 = time.perf_counter()
        ei = split.train_edge_index
        model = fit_method(method, data.x, ei, split.train_pos, "link", link_its)
        rec["time_link_s"] = time.perf_counter() - t0
        mu = embed(model, data.x, split.train_edge_index)
        rec.update(link_scores(mu, split.test_pos, split.test_neg))
        val = link_scores(mu, split.val_pos, split.val_neg)
        rec.update({f"val_{k}": v for k, v in val.items()})
        mus["link"] = mu
    if "cluster" in tasks:
        seed_all(seed)
        t0 = time.perf_counter()
        model = fit_method(method, data.x, full, full, "cluster", iterations)
        rec["time_cluster_s"] = time.perf_counter() - t0
        mu = embed(model, data.x, full)
        rec.update(cluster_scores(mu, data.y, seed=seed))
        mus["cluster"] = mu
    return rec, mus


def plot_embeddings(
    mus: dict[str, torch.Tensor], y: torch.Tensor, path: Path, title: str, how: str = "tsne"
) -> None:
    """t-SNE (``how="tsne"``) or PCA (``"pca"``) of each method's μ, coloured by class."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    fig, axes = plt.subplots(1, len(mus), figsize=(5 * len(mus), 5), squeeze=False)
    for ax, (name, mu) in zip(axes[0], mus.items()):
        if how == "pca":
            xy = PCA(n_components=2).fit_transform(mu.numpy())
        else:
            xy = TSNE(n_components=2, init="pca", random_state=0).fit_transform(mu.numpy())
        ax.scatter(xy[:, 0], xy[:, 1], c=y.numpy(), s=3, cmap="tab10")
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_dataset(
    dataset: str,
    seeds: list[int],
    methods: list[str],
    out: Path,
    root=None,
    cache=None,
    tasks=("link", "cluster"),
    plot: bool = True,
    savgae_link_iterations: int = LINK_ITERATIONS,
    log=print,
) -> Path:
    """Run every (seed, method) not yet in ``out/records-<dataset>.jsonl`` and append to it."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"records-{dataset}.jsonl"
    done = set()
    if path.exists():
        for line in path.read_text().splitlines():
            r = json.loads(line)
            done.add((r["method"], r["seed"]))
    data = load_planetoid(dataset, root, cache)
    for seed in seeds:
        split = split_edges(data, seed)
        plot_mus = {}
        for method in methods:
            if (method, seed) in done:
                continue
            rec, mus = run_one(
                method, data, split, seed, tasks, savgae_link_iterations=savgae_link_iterations
            )
            rec["dataset"] = dataset
            with path.open("a") as f:
                f.write(json.dumps(rec) + "\n")
            log(json.dumps(rec))
            if plot and seed == seeds[0] and "cluster" in mus and method in ("savgae", "argva"):
                plot_mus[method] = mus["cluster"]
        if plot_mus:
            plot_embeddings(
                plot_mus,
                data.y,
                out / f"embedding-{dataset}.png",
                f"{dataset}: t-SNE of μ (clustering run, seed {seed}), coloured by class",
            )
    return path


METRICS = ("auc", "ap", "acc", "nmi", "ari", "f1")


def paired_lines(
    groups: dict[tuple[str, str], list[dict]], dataset: str, a: str = "savgae"
) -> list[str]:
    """Markdown table: ``a`` − each peer per metric on the seeds both ran, and seeds ``a`` leads."""
    from advkt.report.results import fmt, mean_std

    ra = {r["seed"]: r for r in groups.get((a, dataset), [])}
    rows = []
    for b in reversed(PEERS):  # ARGVA, the peer to beat, first
        rb = {r["seed"]: r for r in groups.get((b, dataset), [])}
        cells, seeds = [], set()
        for metric in METRICS:
            common = sorted(s for s in ra.keys() & rb.keys() if metric in ra[s] and metric in rb[s])
            seeds.update(common)
            diffs = [100 * (ra[s][metric] - rb[s][metric]) for s in common]
            ahead = sum(d > 0 for d in diffs)
            cells.append(f"{fmt(*mean_std(diffs), 1)} ({ahead}/{len(diffs)})" if diffs else "–")
        if seeds:
            rows.append(f"| {a} − {b} | {_seed_span(sorted(seeds))} | " + " | ".join(cells) + " |")
    if not rows:
        return []
    return [
        f"{a} − peer, paired by seed (mean ± std of the difference in points, and on how many "
        f"of the seeds both ran {a} is ahead):",
        "",
        "| | seeds | " + " | ".join(m.upper() for m in METRICS) + " |",
        "|---|---|" + "---|" * len(METRICS),
        *rows,
    ]


def _seed_span(seeds: list[int]) -> str:
    """[0, 1, 2, 5] -> '0-2, 5'."""
    parts, start = [], seeds[0]
    for prev, cur in zip(seeds, [*seeds[1:], None]):
        if cur is None or cur != prev + 1:
            parts.append(f"{start}-{prev}" if prev > start else f"{start}")
            start = cur
    return ", ".join(parts)


def summarise(out: Path, benchmark: str, command: str) -> tuple[Path, Path]:
    """records-*.jsonl → results.json (write_results) and table.md (mean ± std in %)."""
    from advkt.report.results import fmt, mean_std, row, write_results

    recs = []
    for p in sorted(out.glob("records-*.jsonl")):
        recs += [json.loads(line) for line in p.read_text().splitlines() if line.strip()]
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in recs:
        groups.setdefault((r["method"], r["dataset"]), []).append(r)
    rows = []
    for (method, dataset), rs in sorted(groups.items()):
        rs = sorted(rs, key=lambda r: r["seed"])
        seeds = [r["seed"] for r in rs]
        for metric in (*METRICS, "time_link_s", "time_cluster_s"):
            vals = [r[metric] for r in rs if metric in r]
            if vals:
                rows.append(row(method, dataset, metric, vals, seeds=seeds))
    write_results(out, benchmark, rows, command=command)

    datasets = sorted({d for _, d in groups}, key=lambda d: ["Cora", "CiteSeer"].index(d))
    methods = [m for m in METHODS if any(m == g[0] for g in groups)]
    lines = []
    for dataset in datasets:
        n = {
            m: "{} / {}".format(
                sum("auc" in r for r in groups.get((m, dataset), [])),
                sum("acc" in r for r in groups.get((m, dataset), [])),
            )
            for m in methods
        }
        lines += [
            f"### {dataset} (ours: mean ± std over seeds, in %; n = seeds run, link / clustering)",
            "",
            "| method | n | AUC | AP | ACC | NMI | ARI | F1 | link train s | cluster train s |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for m in methods:
            rs = groups.get((m, dataset), [])
            if not rs:
                continue
            cells = []
            for metric in METRICS:
                vals = [100 * r[metric] for r in rs if metric in r]
                if len(vals) == 1:
                    cells.append(f"{vals[0]:.1f}")  # one seed: no spread to show
                else:
                    cells.append(fmt(*mean_std(vals), 1) if vals else "–")
            for metric in ("time_link_s", "time_cluster_s"):
                vals = [r[metric] for r in rs if metric in r]
                cells.append(f"{mean_std(vals)[0]:.0f}" if vals else "–")
            lines.append(f"| {m} | {n[m]} | " + " | ".join(cells) + " |")
        pub = [m for m in PUBLISHED_SOURCE if any(k[0] == m and k[1] == dataset for k in PUBLISHED)]
        for m in pub:
            cells = [
                f"{PUBLISHED[(m, dataset, k)]:.1f}" if (m, dataset, k) in PUBLISHED else ""
                for k in METRICS
            ]
            lines.append(
                f"| {m} (**published**, {PUBLISHED_SOURCE[m]}) | | " + " | ".join(cells) + " | | |"
            )
        lines += ["", *paired_lines(groups, dataset), ""]
    table = out / "table.md"
    table.write_text("\n".join(lines))
    return out / "results.json", table
