"""Where EWGAN's synthetic minority samples land, against SMOTE's and CTGAN's (issue #15, part 1).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ewgan_diagnosis.py

On a few KEEL sets, 5 stratified folds (seed 0): each sampler is fitted on the training folds and
its new minority rows are compared with the real minority rows of the held-out fold, in the
space of the training fold standardised (StandardScaler fitted on it):

- ``c2st_auc``: a classifier two-sample test. A random forest tells synthetic from held-out real
  minority rows (as many synthetic rows drawn as there are real ones, pooled over the folds,
  AUC of its 5-fold cross-validated scores): 0.5 = indistinguishable, 1 = always told apart.
- ``d_min``, ``d_maj``: median distance of a synthetic row to its nearest real training minority
  and majority row; the same for the held-out real minority rows as the reference (``real``).
- ``closer_to_majority``: share of rows nearer a majority row than any minority row;
  ``in_majority``: share whose 5 nearest real training rows are at least 4 majority rows.
- for EWGAN, the same after 25, 100 and 300 generator steps and at its default length, beside
  its critic's last Wasserstein estimate (E f(x) − E f(G(z))).

Writes ``benchmarks/results/ewgan-diagnosis/`` (results.json, table.md). Nothing here is tuned
on test folds: it only describes the samplers as they are.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ("haberman", "pima", "ecoli3", "yeast4")
STEPS = (25, 100, 300, None)  # EWGAN generator steps; None: its default (n // 2, in [200, 600])


def _samplers(seed: int):
    from imblearn.over_sampling import SMOTE

    from advkt.oversample.ctgan_peer import CTGANOverSampler
    from advkt.oversample.ewgan import EWGANOverSampler

    out = {"smote": lambda: SMOTE(random_state=seed)}
    for w in ("share", "complement"):
        for n in STEPS if w == "share" else (None,):
            name = f"ewgan-{w}" + (f"@{n}" if n else "")
            out[name] = lambda w=w, n=n: EWGANOverSampler(
                weighting=w, n_iter=n, random_state=seed, device="cpu"
            )
    out["ewgan-share-support"] = lambda: EWGANOverSampler(
        filter="support", random_state=seed, device="cpu"
    )
    out["ctgan"] = lambda: CTGANOverSampler(batch_size=130, random_state=seed)
    return out


def _nn(ref: np.ndarray, x: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.neighbors import NearestNeighbors

    dist, idx = NearestNeighbors(n_neighbors=k).fit(ref).kneighbors(x)
    return dist, idx


def _geometry(X_tr: np.ndarray, y_tr: np.ndarray, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Per-row distances to the nearest real training minority / majority row, and the
    majority share of its 5 nearest real training rows."""
    d_min = _nn(X_tr[y_tr == 1], rows)[0][:, 0]
    d_maj = _nn(X_tr[y_tr == 0], rows)[0][:, 0]
    _, idx = _nn(X_tr, rows, k=5)
    maj5 = (y_tr[idx] == 0).mean(1)
    return {"d_min": d_min, "d_maj": d_maj, "maj5": maj5}


def _c2st(synth: np.ndarray, real: np.ndarray, seed: int) -> float:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    rng = np.random.default_rng(seed)
    s = synth[rng.choice(len(synth), size=len(real), replace=len(synth) < len(real))]
    X = np.concatenate([s, real])
    y = np.r_[np.ones(len(s)), np.zeros(len(real))]
    clf = RandomForestClassifier(n_estimators=200, min_samples_leaf=2, random_state=seed)
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    p = cross_val_predict(clf, X, y, cv=cv, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, p))


def diagnose(path: Path, seed: int = 0, folds: int = 5, log=print) -> dict:
    import torch
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import StandardScaler

    from advkt.data.keel import read_keel

    torch.set_num_threads(1)
    data = read_keel(path)
    if data.nominal:
        raise ValueError(f"{path.name}: nominal columns; the diagnosis takes numeric sets only")
    X, y = data.X, (data.y == data.minority).astype(np.int64)
    makers = _samplers(seed)
    pooled: dict[str, dict[str, list]] = {m: {} for m in [*makers, "real"]}
    extra: dict[str, list] = {m: [] for m in makers}
    for fold, (tr, te) in enumerate(
        StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y)
    ):
        scaler = StandardScaler().fit(X[tr])
        X_tr, y_tr = scaler.transform(X[tr]), y[tr]
        real = scaler.transform(X[te][y[te] == 1])
        for key, v in _geometry(X_tr, y_tr, real).items():
            pooled["real"].setdefault(key, []).append(v)
        pooled["real"].setdefault("rows", []).append(real)
        for name, make in makers.items():
            s = make()
            t0 = time.perf_counter()
            Xr, _ = s.fit_resample(X[tr], y[tr])
            secs = time.perf_counter() - t0
            new = scaler.transform(Xr[len(tr) :])  # imbalanced-learn appends the new rows
            for key, v in _geometry(X_tr, y_tr, new).items():
                pooled[name].setdefault(key, []).append(v)
            pooled[name].setdefault("rows", []).append(new)
            w = getattr(s, "wasserstein_", None)
            extra[name].append(
                {
                    "seconds": secs,
                    "n_new": len(new),
                    "wasserstein_last": float(w[-1]) if w is not None and len(w) else None,
                }
            )
        log(f"{path.stem} fold {fold + 1}/{folds} done")
    real_rows = np.concatenate(pooled["real"]["rows"])
    out = {"dataset": path.stem, "n": int(len(y)), "minority": int(y.sum()), "rows": {}}
    for name, p in pooled.items():
        d_min, d_maj = np.concatenate(p["d_min"]), np.concatenate(p["d_maj"])
        maj5 = np.concatenate(p["maj5"])
        rec = {
            "d_min": float(np.median(d_min)),
            "d_maj": float(np.median(d_maj)),
            "closer_to_majority": float(np.mean(d_maj < d_min)),
            "in_majority": float(np.mean(maj5 >= 0.8)),
        }
        if name != "real":
            rec["c2st_auc"] = _c2st(np.concatenate(p["rows"]), real_rows, seed)
            rec["fit_seconds"] = float(np.median([e["seconds"] for e in extra[name]]))
            ws = [e["wasserstein_last"] for e in extra[name] if e["wasserstein_last"] is not None]
            rec["wasserstein_last"] = float(np.median(ws)) if ws else None
        out["rows"][name] = rec
    return out


def write(results: list[dict], out: Path, command: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    from advkt.report.results import machine

    (out / "results.json").write_text(
        json.dumps(
            {
                "benchmark": "ewgan-diagnosis",
                "command": command,
                "machine": machine(),
                "datasets": results,
            },
            indent=2,
        )
        + "\n"
    )
    lines = [
        "# Where the synthetic minority rows land (5 folds, seed 0; standardised training space)",
        "",
        f"Command: `{command}`",
        "",
        "c2st AUC: 0.5 = synthetic rows indistinguishable from held-out real minority rows. "
        "d_min / d_maj: median distance to the nearest real training minority / majority row. "
        "closer to maj.: share nearer a majority row; in maj.: share with >= 4 of its 5 nearest "
        "real training rows majority. `real`: the held-out real minority rows themselves.",
        "",
    ]
    for r in results:
        lines += [
            f"## {r['dataset']} ({r['n']} rows, {r['minority']} minority)",
            "",
            "| rows | c2st AUC | d_min | d_maj | closer to maj. | in maj. | W (last) | fit s |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, v in r["rows"].items():
            auc = f"{v['c2st_auc']:.3f}" if "c2st_auc" in v else ""
            w = f"{v['wasserstein_last']:.3f}" if v.get("wasserstein_last") is not None else ""
            fit = f"{v['fit_seconds']:.2f}" if "fit_seconds" in v else ""
            lines.append(
                f"| {name} | {auc} | {v['d_min']:.3f} | {v['d_maj']:.3f} | "
                f"{v['closer_to_majority']:.2f} | {v['in_majority']:.2f} | {w} | {fit} |"
            )
        lines.append("")
    (out / "table.md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data" / "keel")
    p.add_argument("--datasets", nargs="+", default=list(DATASETS))
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ewgan-diagnosis")
    args = p.parse_args(argv)
    results = [
        diagnose(args.data_dir / f"{d}.dat", log=lambda s: print(s, flush=True))
        for d in args.datasets
    ]
    # the command as run from the repository root, without a machine's absolute paths
    parts = ["python", "benchmarks/ewgan_diagnosis.py", "--datasets", *args.datasets]
    for flag, path, default in (
        ("--data-dir", args.data_dir, p.get_default("data_dir")),
        ("--out", args.out, p.get_default("out")),
    ):
        if path.resolve() != Path(default).resolve():
            parts += [flag, os.path.relpath(path.resolve(), ROOT)]
    write(results, args.out, " ".join(parts))
    print((args.out / "table.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
