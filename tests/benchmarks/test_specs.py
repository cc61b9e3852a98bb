"""Every committed benchmark spec loads under the schema, and the student and KD recipes it names
exist among its benchmark's recipes (a renamed recipe would otherwise fail only hours into a
run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from advkt.recipe import load_recipe
from advkt.report.validity import load_spec

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "benchmarks" / "specs").glob("*.yaml"))
RECIPES = {  # spec -> the recipe folder its runs come from
    "mnist1d": "mnist1d",
    "mnist1d-demo": "mnist1d",
    "mnist": "mnist",
    "hinton-mnist": "hinton-mnist",
}


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_spec_loads_and_names_existing_recipes(path):
    spec = load_spec(path)
    assert spec["name"] == path.stem
    folder = ROOT / "recipes" / RECIPES[path.stem]
    for key in ("student", "kd"):
        recipe = folder / f"{spec[key]}.yaml"
        assert recipe.is_file(), f"{path.name}: {key} recipe {recipe} does not exist"
        assert load_recipe(recipe).name == spec[key]
