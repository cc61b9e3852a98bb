"""Re-ID retrieval figures of a trained run: the network's pooled features of the query and
gallery images of its layout, Euclidean distances, CMC rank-1/5/10 and mAP
(:func:`advkt.reid.evaluate.evaluate`, with the same-identity same-camera exclusion).

    from advkt.reid.retrieval import evaluate_run
    evaluate_run("runs/<run>")   # {"rank1", "rank5", "rank10", "mAP", "queries"}
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from advkt.reid.evaluate import evaluate


@torch.no_grad()
def features(model: torch.nn.Module, x: torch.Tensor, mean, std, batch: int = 256) -> np.ndarray:
    """Pooled features (N, D) of uint8 images x, in eval mode, plus those of their mirror
    images (the usual flip averaging of re-ID evaluation)."""
    from advkt.data.augment import to_float

    model.eval()
    out = []
    for i in range(0, len(x), batch):
        xb = to_float(x[i : i + batch], mean, std)
        f = model(xb, features=True)[1].pooled + model(xb.flip(-1), features=True)[1].pooled
        out.append(f.float() / 2)
    return torch.cat(out).numpy()


def evaluate_run(run: str | Path, which: str = "last") -> dict:
    """CMC and mAP of the run's student on its recipe's re-ID layout (``data.dataset: reid``)."""
    from advkt.data import resolve_root
    from advkt.data.reid import IMAGENET_MEAN, IMAGENET_STD, read_images
    from advkt.engine.evaluation import load_student
    from advkt.recipe import recipe_from_json
    from advkt.reid import layouts

    recipe = recipe_from_json(Path(run) / "recipe.json")
    if recipe.data.dataset != "reid":
        raise ValueError(f"{run}: a re-ID evaluation needs data.dataset reid, not "
                         f"{recipe.data.dataset}")  # fmt: skip
    args = recipe.data.args
    layout, size = args.get("layout", "market1501"), tuple(args.get("size", (128, 64)))
    split = getattr(layouts, layout)(resolve_root(recipe.data.root))
    model = load_student(run, which)
    feats = {}
    for part in ("query", "gallery"):
        x = read_images([im.path for im in split[part]], size)
        feats[part] = features(model, x, IMAGENET_MEAN, IMAGENET_STD)
    q, g = feats["query"], feats["gallery"]
    dist = (q**2).sum(1)[:, None] + (g**2).sum(1)[None] - 2 * q @ g.T
    res = evaluate(
        dist, *(np.array([getattr(im, k) for im in split[p]]) for k, p in
                (("pid", "query"), ("pid", "gallery"), ("camid", "query"), ("camid", "gallery")))
    )  # fmt: skip
    cmc = res["cmc"]
    return {"rank1": float(cmc[0]), "rank5": float(cmc[4]), "rank10": float(cmc[9]),
            "mAP": float(res["mAP"]), "queries": int(res["queries"])}  # fmt: skip
