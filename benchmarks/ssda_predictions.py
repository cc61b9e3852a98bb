"""Where a domain-adaptation run's predictions go, domain by domain: the diagnosis of a collapse.

    ADVKT_DATA=../shared/data python benchmarks/ssda_predictions.py RUN [RUN ...]

For each run folder (its last checkpoint and its recipe's data): per split (test; train's source
and target rows), the accuracy on the labelled rows, the histogram of predicted classes, the mean
top softmax probability, and the mean cosine of each L2-normalised feature to their mean (1: all
rows' features point the same way). A method that maps every target row to one class shows it
as one full bin of the target histogram at high confidence.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from advkt.data.augment import to_float
from advkt.engine.evaluation import load_student
from advkt.engine.splits import load_splits
from advkt.recipe import recipe_from_json


@torch.no_grad()
def rows(run: str) -> list[dict]:
    model = load_student(run).eval()
    splits = load_splits(recipe_from_json(f"{run}/recipe.json"))
    out = []
    for name, d in (("test", splits.test), ("train", splits.train)):
        logits, feats = model(to_float(d.x, d.mean, d.std), features=True)
        dom = d.domain if d.domain is not None else torch.ones_like(d.y)
        for k, domain in ((0, "source"), (1, "target")):
            sel = dom == k
            if not sel.any():
                continue
            z, y, lab = logits[sel], d.y[sel], d.y[sel] >= 0
            f = F.normalize(feats.pooled[sel].float(), dim=1)
            centre = F.normalize(f.mean(0), dim=0)
            out.append({
                "split": name, "domain": domain, "rows": int(sel.sum()),
                "labelled_acc": float((z[lab].argmax(1) == y[lab]).float().mean()) if lab.any()
                else None,
                "predicted": torch.bincount(z.argmax(1), minlength=z.shape[1]).tolist(),
                "confidence": float(z.softmax(1).max(1).values.mean()),
                "cos_to_mean": float((f @ centre).mean()),
            })  # fmt: skip
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+")
    torch.set_num_threads(1)
    for run in ap.parse_args().runs:
        print(run)
        for r in rows(run):
            acc = "-" if r["labelled_acc"] is None else f"{100 * r['labelled_acc']:.1f}"
            print(f"  {r['split']:5} {r['domain']:6} rows {r['rows']:5}  labelled acc {acc:>5}  "
                  f"confidence {r['confidence']:.3f}  cos to mean {r['cos_to_mean']:.3f}  "
                  f"predicted {r['predicted']}")  # fmt: skip


if __name__ == "__main__":
    main()
