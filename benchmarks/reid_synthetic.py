"""Re-ID methods on the synthetic set the library renders (issue #22; ``advkt.reid.synthetic``).

    OMP_NUM_THREADS=1 python benchmarks/reid_synthetic.py --seeds 3 --workers 2

The set: 200 identities (1-100 train, 101-200 test) seen by 6 cameras, 4 images each, 64 x 32,
seed 0, written once as a Market-1501 folder in ``$ADVKT_CACHE/reid-synthetic/data``. Each
method's recipe and overrides (``METHODS``) train on it through the engine (run folders in the
same cache; an interrupted run continues) and are evaluated by
:func:`advkt.reid.retrieval.evaluate_run` (query: one image per test identity and camera; gallery:
the rest). HorNet's captioner (``CAPTIONER``) is fitted once on the training identities' images
and captions (``captions.json``; the test identities' captions are never read) and saved in
``$ADVKT_CACHE/reid-synthetic/captioner``; the HorNet row reads it, the row without captions does
not. Each finished run's figures are recorded in ``benchmarks/results/reid-synthetic/runs/`` and
read back. Writes results.json (rows: ``method``, ``metric`` rank1 / mAP, ``values``, ``seeds``)
and table.md there.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "reid-synthetic"
# label -> (recipe, its overrides, record name); "{captioner}" is the fitted captioner's folder
METHODS = {
    "baseline (softmax + triplet)": ("recipes/reid/triplet_resnet20.yaml", (), "triplet_resnet20"),
    "baseline + random erasing": (
        "recipes/reid/triplet_erase_resnet20.yaml", (), "triplet_erase_resnet20"),
    "AAA-Net": ("recipes/reid/aaanet_resnet20.yaml", (), "aaanet_resnet20"),
    "HorNet": (
        "recipes/reid/hornet_resnet20.yaml", ("student.args.captioner={captioner}",),
        "hornet_resnet20"),
    "HorNet without captions": ("recipes/reid/hornet_resnet20.yaml", (), "hornet_nocap_resnet20"),
}  # fmt: skip
SET = {"n_ids": 200, "n_cams": 6, "per_cam": 4, "seed": 0, "train_ids": 100}
CAPTIONER = {"epochs": 30, "batch": 64, "lr": 2e-3, "seed": 0}


def cache() -> Path:
    base = os.environ.get("ADVKT_CACHE") or os.path.expanduser("~/.cache/advkt")
    return Path(base) / "reid-synthetic"


def data_root() -> Path:
    """The rendered set (written once; its parameters in ``set.json`` beside it)."""
    from advkt.reid.synthetic import render, write_market

    root = cache() / "data"
    spec = root / "set.json"
    if not (spec.is_file() and json.loads(spec.read_text()) == SET):
        kw = {k: v for k, v in SET.items() if k != "train_ids"}
        write_market(render(**kw), root, SET["train_ids"])
        spec.write_text(json.dumps(SET))
    return root


def captioner_folder() -> Path:
    """HorNet's captioner, fitted once on the training identities' images (64 x 32, in [-1, 1])
    and their captions, saved with its settings in ``settings.json`` beside it."""

    from advkt.data.reid import read_images
    from advkt.reid import layouts
    from advkt.reid.captioner import fit_captioner, save_captioner

    folder = cache() / "captioner"
    settings = {"set": SET, **CAPTIONER}
    made = folder / "settings.json"
    if made.is_file() and json.loads(made.read_text()) == settings:
        return folder
    root = data_root()
    train = layouts.market1501(root)["train"]
    texts = json.loads(next(root.rglob("captions.json")).read_text())
    x = read_images([im.path for im in train], (64, 32)).float() / 127.5 - 1
    captions = [texts[f"{im.pid:04d}"] for im in train]
    model, vocab, losses = fit_captioner(x, captions, **CAPTIONER)
    save_captioner(folder, model, vocab)
    made.write_text(json.dumps(settings) + "\n")
    print(f"captioner fitted on {len(x)} images, final loss {losses[-1]:.3f}", file=sys.stderr)
    return folder


def caption_quality() -> dict:
    """How well the fitted captioner reads people it was and was not trained on: for the
    training identities' images and for the test identities' (query and gallery), the share of
    images whose greedy caption is the true one (``exact``), and the share of the true caption's
    words it has in the same place (``words``)."""
    import torch

    from advkt.data.reid import read_images
    from advkt.reid import layouts
    from advkt.reid.captioner import load_captioner, tokenize

    root, folder = data_root(), captioner_folder()
    model, vocab = load_captioner(folder)
    texts = json.loads(next(root.rglob("captions.json")).read_text())
    lay = layouts.market1501(root)
    out = {}
    for part, images in (("train", lay["train"]), ("test", lay["query"] + lay["gallery"])):
        images = [im for im in images if f"{im.pid:04d}" in texts]
        x = read_images([im.path for im in images], (64, 32)).float() / 127.5 - 1
        said = [t for chunk in x.split(256) for t in vocab.decode(model.caption(chunk))]
        exact, words = [], []
        for im, s in zip(images, said):
            true, got = tokenize(texts[f"{im.pid:04d}"]), tokenize(s)
            exact.append(got == true)
            words.append(sum(a == b for a, b in zip(got, true)) / len(true))
        out[part] = {"images": len(images), "exact": float(torch.tensor(exact).float().mean()),
                     "words": float(torch.tensor(words).mean())}  # fmt: skip
    return out


def one(label: str, seed: int) -> dict:
    import torch

    torch.set_num_threads(1)
    from advkt.recipe import load_recipe
    from advkt.reid.retrieval import evaluate_run
    from advkt.report.compare import run_one

    path, extra, name = METHODS[label]
    record = OUT / "runs" / f"{name}-s{seed}.json"
    if record.is_file():
        return json.loads(record.read_text())
    over = [o.format(captioner=captioner_folder()) for o in extra]
    recipe = load_recipe(
        ROOT / path, [f"data.root={data_root()}", f"seed={seed}", f"name={name}", *over]
    )
    summary = run_one(recipe, cache() / "runs")
    out = {"method": label, "seed": seed, "recipe": path, "overrides": list(extra),
           "train_id_acc": summary["test_acc"], "wall_time_s": summary["wall_time_s"],
           **evaluate_run(cache() / "runs" / f"{recipe.name}-s{seed}")}  # fmt: skip
    record.parent.mkdir(parents=True, exist_ok=True)
    record.with_suffix(".tmp").write_text(json.dumps(out, indent=2) + "\n")
    record.with_suffix(".tmp").replace(record)
    print(json.dumps(out), file=sys.stderr, flush=True)
    return out


def main() -> None:
    from advkt.report.paired import fmt_paired, paired_difference
    from advkt.report.results import fmt, mean_std, row, write_results

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    data_root()  # rendered (and the captioner fitted) before the workers read them
    captioned = any(extra for _, extra, _ in METHODS.values())  # a row reads the captioner
    if captioned:
        captioner_folder()
    # seed by seed: an interrupted run leaves whole seeds of every method to compare
    jobs = [(label, s) for s in range(1, args.seeds + 1) for label in METHODS]
    with ProcessPoolExecutor(args.workers) as pool:
        done = [f.result() for f in [pool.submit(one, *j) for j in jobs]]
    rows: list[dict] = []
    lines = [
        "| method | rank-1 (%) | mAP (%) | rank-1 − baseline | mAP − baseline | seeds |",
        "|---|---|---|---|---|---|",
    ]
    base = next(iter(METHODS))  # the first row: the baseline the others are paired against
    by = {}
    for label in METHODS:
        rs = sorted((r for r in done if r["method"] == label), key=lambda r: r["seed"])
        for metric in ("rank1", "mAP"):
            by[label, metric] = row(label, "reid-synthetic", metric, [r[metric] for r in rs],
                                    seeds=[r["seed"] for r in rs])  # fmt: skip
            if label != base:
                by[label, metric]["paired"] = {
                    "baseline": paired_difference(by[label, metric], by[base, metric])
                }
            rows.append(by[label, metric])
        diffs = [
            fmt_paired(by[label, m].get("paired", {}).get("baseline")) for m in ("rank1", "mAP")
        ]
        lines.append(f"| {label} | {fmt(*mean_std([r['rank1'] for r in rs]), 1)} | "
                     f"{fmt(*mean_std([r['mAP'] for r in rs]), 1)} | {diffs[0]} | {diffs[1]} | "
                     f"{len(rs)} |")  # fmt: skip
    lines += ["", "Mean ± sample std over seeds; − baseline: the paired difference against "
              f"{base} on each shared seed, mean ± std (seeds ahead / shared seeds)."]  # fmt: skip
    captions = caption_quality() if captioned else None
    if captions:
        lines += ["", "HorNet's captioner (greedy captions against the true ones): "
                  + "; ".join(f"{part} identities' {c['images']} images: {100 * c['exact']:.1f} % "
                              f"exact, {100 * c['words']:.1f} % of the words in place"
                              for part, c in captions.items()) + "."]  # fmt: skip
    write_results(OUT, "reid-synthetic", rows, set=SET, captioner=captions)
    (OUT / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
