"""EWGAN against imbalanced-learn's oversamplers and CTGAN on the KEEL binary data sets.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ewgan_keel.py --jobs 2

writes benchmarks/results/ewgan-keel/ (results.json, table.md, timing.md, pca*.png, README.md);
``--help`` for a subset of data sets, methods or seeds, and another data folder.

Protocol (spec ``papers/ewgan.md``): stratified 5-fold cross-validation repeated over seeds; each
oversampler is fitted on the training folds only; classifiers decision tree, k-NN (k = 5), SVM
(RBF) and logistic regression (each after a StandardScaler fitted on the resampled training
data) are scored on the untouched test fold by minority-class F1, G-mean = sqrt(TPR * TNR) and
ROC AUC. A seed's figure is the mean over its folds; ranks (1 = best, ties averaged) are taken
per data set, classifier and metric on the mean over seeds, then averaged over data sets.

Nominal columns: the imbalanced-learn peers see them one-hot encoded (the declared KEEL
categories); the GANs (EWGAN, CTGAN) see the category codes with ``categorical_features`` and
their output is one-hot encoded the same way before the classifier. CTGAN (the ``ctgan`` extra)
is fitted per minority class with as many generator steps as EWGAN gets (``ctgan_peer``).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from ewgan_keel_report import CLASSIFIERS, GANS, METRICS, write_outputs  # sibling script

from advkt.data.base import DataError
from advkt.data.keel import KeelData, read_keel

METHODS = (
    "none",
    "ros",
    "smote",
    "borderline-smote",
    "adasyn",
    "ctgan",
    "ewgan-share",
    "ewgan-complement",
    "ewgan-share-support",  # ours: the share weighting, candidates filtered by their neighbours
    "ewgan-share-safe",  # ours: the same, only candidates in another class's region dropped
    "ewgan-share-safe-mmd",  # ours: the safe form stopped at its best MMD to held-out rows
)


@dataclass
class BenchConfig:
    data_dir: Path
    out: Path
    datasets: list[str] | None = None  # file stems; None: every .dat in data_dir
    folds: int = 5
    seeds: tuple[int, ...] = (0, 1, 2)
    methods: tuple[str, ...] = METHODS
    ewgan_n_iter: int | None = None
    ewgan_steps: dict[str, int] = field(default_factory=dict)  # per-method generator steps
    ewgan_max_time: float | None = None
    jobs: int = 1
    command: str = ""
    extra: dict = field(default_factory=dict)


def dataset_paths(cfg: BenchConfig) -> list[Path]:
    root = Path(cfg.data_dir)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder (expected KEEL .dat files)")
    if cfg.datasets:
        paths = [root / f"{name}.dat" for name in cfg.datasets]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise DataError(f"missing KEEL files: {', '.join(missing)}")
        return paths
    paths = sorted(root.glob("*.dat"))
    if not paths:
        raise DataError(f"{root}: no KEEL .dat files")
    return paths


def _onehot(data: KeelData, X: np.ndarray) -> np.ndarray:
    """Numeric columns as they are, nominal codes as one-hot over the declared categories."""
    parts = []
    for j, a in enumerate(data.features):
        if a.kind == "nominal":
            codes = np.rint(X[:, j]).astype(int)
            parts.append(np.eye(len(a.categories))[codes.clip(0, len(a.categories) - 1)])
        else:
            parts.append(X[:, j : j + 1])
    return np.concatenate(parts, axis=1)


def make_sampler(method: str, seed: int, nominal: list[int], cfg: BenchConfig):
    from imblearn.over_sampling import ADASYN, SMOTE, BorderlineSMOTE, RandomOverSampler

    from advkt.oversample.ewgan import EWGANOverSampler

    if method == "none":
        return None
    if method == "ros":
        return RandomOverSampler(random_state=seed)
    if method == "smote":
        return SMOTE(random_state=seed)
    if method == "borderline-smote":
        return BorderlineSMOTE(random_state=seed)
    if method == "adasyn":
        return ADASYN(random_state=seed)
    if method == "ctgan":
        from advkt.oversample.ctgan_peer import CTGANOverSampler

        # batch 130: the multiple of CTGAN's pac (10) nearest EWGAN's 128 rows per step
        return CTGANOverSampler(
            categorical_features=nominal, n_iter=cfg.ewgan_n_iter, batch_size=130, random_state=seed
        )
    if method.startswith("ewgan-"):
        weighting, _, rest = method.removeprefix("ewgan-").partition("-")
        filt, _, stop = rest.partition("-")
        return EWGANOverSampler(
            weighting=weighting,
            filter=filt or "none",
            stop=stop or "none",
            categorical_features=nominal or None,
            n_iter=cfg.ewgan_steps.get(method, cfg.ewgan_n_iter),
            max_time=cfg.ewgan_max_time,
            random_state=seed,
            device="cpu",
        )
    raise ValueError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")


def make_classifier(name: str, seed: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    clf = {
        "tree": lambda: DecisionTreeClassifier(random_state=seed),
        "knn": lambda: KNeighborsClassifier(n_neighbors=5),
        "svm": lambda: SVC(kernel="rbf", gamma="scale"),
        "logreg": lambda: LogisticRegression(max_iter=2000),
    }[name]()
    return make_pipeline(StandardScaler(), clf)


def score(model, X_te: np.ndarray, y_te: np.ndarray) -> dict[str, float]:
    """Minority (label 1) F1, G-mean and AUC of a fitted binary classifier."""
    from sklearn.metrics import f1_score, roc_auc_score

    pred = model.predict(X_te)
    tpr = float(np.mean(pred[y_te == 1] == 1))
    tnr = float(np.mean(pred[y_te == 0] == 0))
    if hasattr(model, "decision_function"):
        s = model.decision_function(X_te)
    else:
        s = model.predict_proba(X_te)[:, 1]
    return {
        "f1": float(f1_score(y_te, pred, pos_label=1, zero_division=0)),
        "gmean": float(np.sqrt(tpr * tnr)),
        "auc": float(roc_auc_score(y_te, s)),
    }


def run_dataset(path: Path, cfg: BenchConfig) -> dict:
    """Every (seed, fold, method, classifier) of one data set; returns plain lists for JSON."""
    import torch
    from sklearn.model_selection import StratifiedKFold

    torch.set_num_threads(1)
    data = read_keel(path)
    X = data.X
    y = (data.y == data.minority).astype(np.int64)  # 1 = minority (KEEL "positive")
    nominal = data.nominal
    X_enc = _onehot(data, X)
    # scores[method][clf][metric][seed] = per-fold values
    scores: dict = {m: {c: {k: [] for k in METRICS} for c in CLASSIFIERS} for m in cfg.methods}
    times: dict = {m: [] for m in cfg.methods}
    failures: dict = {m: [] for m in cfg.methods}
    stopped: dict = {m: 0 for m in cfg.methods if m.startswith("ewgan-")}
    pca: dict = {}
    plot_fold = any(m in GANS for m in cfg.methods)
    for seed in cfg.seeds:
        for c in CLASSIFIERS:
            for m in cfg.methods:
                for k in METRICS:
                    scores[m][c][k].append([])
        skf = StratifiedKFold(n_splits=cfg.folds, shuffle=True, random_state=seed)
        for fold, (tr, te) in enumerate(skf.split(X, y)):
            # the PCA plots: first seed, first fold, one projection for the real and every GAN
            first = plot_fold and seed == cfg.seeds[0] and fold == 0
            proj = _pca(X_enc[tr]) if first else None
            if proj is not None:
                maj = X_enc[tr][y[tr] == 0]
                maj = maj[np.random.default_rng(0).permutation(len(maj))[:500]]  # legible plots
                real_min = X_enc[tr][y[tr] == 1]
                pca = {"majority": proj(maj), "minority": proj(real_min), "generated": {}}
            for m in cfg.methods:
                is_gan = m in GANS
                X_tr = X[tr] if is_gan else X_enc[tr]
                sampler = make_sampler(m, seed, nominal, cfg)
                t0 = time.perf_counter()
                if sampler is None:
                    X_res, y_res = X_tr, y[tr]
                else:
                    try:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            X_res, y_res = sampler.fit_resample(X_tr, y[tr])
                    except (ValueError, RuntimeError) as e:
                        failures[m].append(f"seed {seed} fold {fold}: {e}")
                        X_res, y_res = X_tr, y[tr]
                times[m].append(time.perf_counter() - t0)
                if is_gan:
                    if m in stopped:
                        stopped[m] += int(getattr(sampler, "stopped_by_time_", False))
                    if proj is not None:
                        new_rows = X_res[len(tr) :]
                        pca["generated"][m] = proj(_onehot(data, new_rows)) if len(new_rows) else []
                    X_res = _onehot(data, X_res)
                for c in CLASSIFIERS:
                    model = make_classifier(c, seed)
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        model.fit(X_res, y_res)
                    for k, v in score(model, X_enc[te], y[te]).items():
                        scores[m][c][k][-1].append(v)
    counts = np.bincount(y, minlength=2)
    return {
        "dataset": path.stem,
        "n": int(len(y)),
        "n_minority": int(counts[1]),
        "imbalance_ratio": float(counts[0] / counts[1]),
        "scores": scores,
        "times": times,
        "failures": {m: f for m, f in failures.items() if f},
        "ewgan_stopped_by_time": stopped,
        "pca": pca if pca.get("generated") else None,
    }


def _protocol(cfg: BenchConfig) -> dict:
    """What a set's record depends on besides the data: a record made otherwise is rerun."""
    return {
        "folds": cfg.folds,
        "seeds": list(cfg.seeds),
        "methods": list(cfg.methods),
        "ewgan_n_iter": cfg.ewgan_n_iter,
        "ewgan_steps": dict(sorted(cfg.ewgan_steps.items())),
        "ewgan_max_time": cfg.ewgan_max_time,
    }


def recorded_dataset(path: Path, cfg: BenchConfig) -> dict:
    """:func:`run_dataset`, recorded under ``OUT/sets/`` and read back when the protocol matches,
    so that an interrupted run continues where it stopped. Where only methods differ (some
    missing from the record, or one whose own generator steps changed), only those run (every
    method's figures depend on the seed, fold and its own settings alone), and the merged record
    replaces it; a change shared by every method (folds, seeds, the default steps) reruns all."""
    record = Path(cfg.out) / "sets" / f"{path.stem}.json"
    result = None
    if record.is_file():
        kept = json.loads(record.read_text())
        was = kept.get("protocol", {})
        if was == _protocol(cfg):
            return kept["result"]
        old = kept.get("result", {}).get("scores", {})
        steps = was.get("ewgan_steps", {})
        held = [m for m in cfg.methods if m in old and steps.get(m) == cfg.ewgan_steps.get(m)]
        shared = ("folds", "seeds", "ewgan_n_iter", "ewgan_max_time")
        if held and all(was.get(k) == _protocol(cfg)[k] for k in shared):
            missing = tuple(m for m in cfg.methods if m not in held)
            new = run_dataset(path, replace(cfg, methods=missing)) if missing else None
            result = _merge(kept["result"], new, cfg.methods)
    if result is None:
        result = run_dataset(path, cfg)
    record.parent.mkdir(parents=True, exist_ok=True)
    tmp = record.with_suffix(".tmp")
    tmp.write_text(json.dumps({"protocol": _protocol(cfg), "result": result}) + "\n")
    tmp.replace(record)
    return result


def _merge(old: dict, new: dict | None, methods: tuple[str, ...]) -> dict:
    """One set's record holding ``methods``: each from ``new`` where it ran there, else ``old``."""
    new = new or {"scores": {}, "times": {}, "failures": {}, "ewgan_stopped_by_time": {}}
    src = {m: new if m in new["scores"] else old for m in methods}
    pca = old.get("pca") or new.get("pca")
    if pca is not None:
        gen = {**(old.get("pca") or {}).get("generated", {}), **(new.get("pca") or {}).get(
            "generated", {})}  # fmt: skip
        pca = {**pca, "generated": {m: gen[m] for m in methods if m in gen}}
    stopped = {**old["ewgan_stopped_by_time"], **new["ewgan_stopped_by_time"]}
    return {
        **old,
        "scores": {m: src[m]["scores"][m] for m in methods},
        "times": {m: src[m]["times"][m] for m in methods},
        "failures": {m: src[m]["failures"][m] for m in methods if m in src[m]["failures"]},
        "ewgan_stopped_by_time": {m: stopped[m] for m in methods if m in stopped},
        "pca": pca,
    }


def _pca(X_tr_enc: np.ndarray):
    """The 2-D PCA projection (after standard scaling) fitted on a real training fold."""
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(X_tr_enc)
    p = PCA(n_components=2, random_state=0).fit(scaler.transform(X_tr_enc))
    return lambda A: p.transform(scaler.transform(A)).round(4).tolist()


def run(cfg: BenchConfig, log=print) -> Path:
    """Run the benchmark and write results.json, table.md, timing.md, pca.png, README.md."""
    paths = dataset_paths(cfg)
    # biggest first so that parallel workers finish together
    paths.sort(key=lambda p: p.stat().st_size, reverse=True)
    cfg.out = Path(cfg.out)
    cfg.out.mkdir(parents=True, exist_ok=True)
    results: list[dict] = []
    start = time.perf_counter()
    if cfg.jobs <= 1:
        for p in paths:
            results.append(recorded_dataset(p, cfg))
            log(f"[{time.perf_counter() - start:7.0f}s] {p.stem} done")
            write_outputs(results, cfg, partial=True)
    else:
        with ProcessPoolExecutor(max_workers=cfg.jobs) as pool:
            futures = {pool.submit(recorded_dataset, p, cfg): p for p in paths}
            for fut in as_completed(futures):
                results.append(fut.result())
                log(f"[{time.perf_counter() - start:7.0f}s] {futures[fut].stem} done")
                write_outputs(results, cfg, partial=True)
    results.sort(key=lambda r: r["dataset"])
    cfg.extra["wall_seconds"] = round(time.perf_counter() - start, 1)
    write_outputs(results, cfg, partial=False)
    return cfg.out / "results.json"


ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "data_dir",
        type=Path,
        nargs="?",
        default=Path(os.path.relpath(ROOT.parent / "shared" / "data" / "keel")),
        help="folder of KEEL .dat files (default: ../shared/data/keel)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path(os.path.relpath(ROOT / "benchmarks" / "results" / "ewgan-keel")),
        help="output folder (default: benchmarks/results/ewgan-keel)",
    )
    p.add_argument("--datasets", nargs="+", help="file stems to run (default: every .dat)")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument(
        "--methods",
        nargs="+",
        default=list(METHODS),
        choices=METHODS,
        metavar="METHOD",
        help=f"oversamplers to compare (default: all of {', '.join(METHODS)})",
    )
    p.add_argument("--ewgan-n-iter", type=int, default=None, help="generator steps (default: auto)")
    p.add_argument(
        "--ewgan-steps",
        nargs="+",
        default=[],
        metavar="METHOD=N",
        help="generator steps of one EWGAN variant (overrides --ewgan-n-iter for it), e.g. "
        "ewgan-share-support=100",
    )
    p.add_argument("--ewgan-max-time", type=float, default=None, help="seconds per EWGAN fit")
    p.add_argument("--jobs", type=int, default=1, help="data sets run in parallel processes")
    args = p.parse_args(argv)
    if args.folds < 2 or args.jobs < 1:
        print("--folds must be >= 2 and --jobs >= 1", file=sys.stderr)
        return 2
    steps = {}
    for item in args.ewgan_steps:
        name, _, n = item.partition("=")
        if not name.startswith("ewgan-") or name not in METHODS or not n.isdigit() or int(n) < 1:
            print(f"--ewgan-steps: expected ewgan-VARIANT=N with N >= 1, got {item!r}",
                  file=sys.stderr)  # fmt: skip
            return 2
        steps[name] = int(n)
    cfg = BenchConfig(
        data_dir=args.data_dir,
        out=args.out,
        datasets=args.datasets,
        folds=args.folds,
        seeds=tuple(args.seeds),
        methods=tuple(dict.fromkeys(args.methods)),
        ewgan_n_iter=args.ewgan_n_iter,
        ewgan_steps=steps,
        ewgan_max_time=args.ewgan_max_time,
        jobs=args.jobs,
        command=shlex.join(["python", "benchmarks/ewgan_keel.py", *argv]),
    )
    try:
        path = run(cfg, log=lambda s: print(s, flush=True))
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {path} and table.md, timing.md, pca.png, README.md beside it")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
