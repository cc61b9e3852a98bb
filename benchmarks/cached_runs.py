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
    """The summary of ``recipe`` with ``overrides`` trained into ``where`` (once). A record holds
    the resolved recipe beside the summary (``"recipe"``) and is read back only for that recipe:
    one made by another recipe (a changed default, a chosen weight put into the recipe) stops
    with a ValueError naming the difference, instead of standing for a run it is not. Records
    written before the recipe was kept are read as they are."""
    from advkt.engine.trainer import train
    from advkt.recipe import load_recipe
    from advkt.report.compare import recipe_differences

    r = load_recipe(recipe, [*overrides, f"out={where.parent}"])
    if record is not None and record.is_file():
        kept = json.loads(record.read_text())
        diff = recipe_differences(kept["recipe"], r) if "recipe" in kept else []
        if diff:
            raise ValueError(
                f"{record} was made by another recipe ({'; '.join(diff[:3])}); delete it to "
                "train this one"
            )
        return kept
    cached, made_by = where / "summary.json", where / "recipe.json"
    if (
        cached.is_file()
        and made_by.is_file()
        and not recipe_differences(json.loads(made_by.read_text()), r)
    ):
        summary = json.loads(cached.read_text())
    else:
        summary = train(r, run_dir=where, quiet=True)
    if record is not None:
        record.parent.mkdir(parents=True, exist_ok=True)
        tmp = record.with_suffix(".tmp")
        kept = {**summary, "recipe": r.model_dump(mode="json")}
        tmp.write_text(json.dumps(kept, indent=1) + "\n")
        os.replace(tmp, record)  # a kill never leaves half a record
    return summary
