"""The run cache the benchmark scripts share: each run trains once into
``$ADVKT_CACHE/<benchmark>/<run>`` (else ~/.cache/advkt), and a finished run (its
``summary.json``) is read back instead, so an interrupted benchmark continues where it stopped."""

from __future__ import annotations

import json
import os
from pathlib import Path


def runs_dir(benchmark: str) -> Path:
    base = os.environ.get("ADVKT_CACHE") or os.path.expanduser("~/.cache/advkt")
    return Path(base) / benchmark


def train_once(recipe: Path, overrides: list[str], where: Path) -> dict:
    """The summary of ``recipe`` with ``overrides`` trained into ``where`` (once)."""
    from advkt.engine.trainer import train
    from advkt.recipe import load_recipe

    if (where / "summary.json").is_file():
        return json.loads((where / "summary.json").read_text())
    return train(
        load_recipe(recipe, [*overrides, f"out={where.parent}"]), run_dir=where, quiet=True
    )
