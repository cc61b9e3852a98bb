"""The run cache the benchmark scripts share: each run trains once into
``$ADVKT_CACHE/<benchmark>/<run>`` (else ~/.cache/advkt), and a finished run (its
``summary.json``) is read back instead, so an interrupted benchmark continues where it stopped.
With ``record``, the summary is also kept there (a committed JSON file under
``benchmarks/results/``) and read back first: the cache does not outlive a machine, the records
do."""

from __future__ import annotations

import json
import os
from pathlib import Path


def runs_dir(benchmark: str) -> Path:
    base = os.environ.get("ADVKT_CACHE") or os.path.expanduser("~/.cache/advkt")
    return Path(base) / benchmark


def train_once(recipe: Path, overrides: list[str], where: Path, record: Path | None = None) -> dict:
    """The summary of ``recipe`` with ``overrides`` trained into ``where`` (once)."""
    from advkt.engine.trainer import train
    from advkt.recipe import load_recipe

    if record is not None and record.is_file():
        return json.loads(record.read_text())
    if (where / "summary.json").is_file():
        summary = json.loads((where / "summary.json").read_text())
    else:
        summary = train(
            load_recipe(recipe, [*overrides, f"out={where.parent}"]), run_dir=where, quiet=True
        )
    if record is not None:
        record.parent.mkdir(parents=True, exist_ok=True)
        tmp = record.with_suffix(".tmp")
        tmp.write_text(json.dumps(summary, indent=1) + "\n")
        os.replace(tmp, record)  # a kill never leaves half a record
    return summary
