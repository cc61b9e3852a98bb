"""Train a re-ID method through the engine on a small synthetic Market-1501 folder, and evaluate
it: the set-up the method tests share."""

from __future__ import annotations

from advkt.recipe import load_recipe
from advkt.reid.synthetic import render, write_market


def train_and_evaluate(tmp_path, method: str, ids: int, per_cam: int, epochs: int, p: int, k: int):
    """(summary, retrieval figures) of ``method`` trained on ``ids`` identities (half of them
    training ones) seen by 3 cameras, ``per_cam`` images each, in batches of P x K."""
    from advkt.engine.trainer import train
    from advkt.reid.retrieval import evaluate_run

    write_market(render(ids, 3, per_cam, seed=0), tmp_path / "data", train_ids=ids // 2)
    tree = {
        "data": {"dataset": "reid", "root": str(tmp_path / "data"), "args": {"size": [64, 32]}},
        "student": {"model": "resnet8"},
        "method": {"name": method},
        "train": {"epochs": epochs, "batch_size": p * k, "images_per_identity": k,
                  "schedule": {"name": "constant"}},
    }  # fmt: skip
    summary = train(load_recipe(base=tree), run_dir=tmp_path / "run", quiet=True)
    return summary, evaluate_run(tmp_path / "run")
