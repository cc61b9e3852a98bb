from __future__ import annotations

import pytest

from advkt.recipe import RecipeError, load_recipe, parse_overrides

BASE = {"method": {"name": "kd"}, "student": {"model": "mlp"}, "data": {"dataset": "mnist1d"}}


def test_overrides_are_typed_by_yaml():
    assert parse_overrides(["a.b=3", "c=0.5", "d=true", "e=[1, 2]", "f=resnet20"]) == [
        ("a.b", 3),
        ("c", 0.5),
        ("d", True),
        ("e", [1, 2]),
        ("f", "resnet20"),
    ]


def test_override_applies_and_digest_changes():
    a = load_recipe(base=BASE)
    b = load_recipe(base=BASE, overrides=["train.epochs=3", "method.args.T=2"])
    assert (b.train.epochs, b.method.args) == (3, {"T": 2})
    assert a.digest() != b.digest()


@pytest.mark.parametrize(
    "override, message",
    [
        (
            "train.lrr=1",
            "unknown recipe key 'train.lrr'; valid keys under 'train': adversarial, amp",
        ),
        ("bogus=1", "unknown recipe key 'bogus'; valid keys: data, method"),
        ("train.optimizer.nme=sgd", "valid keys under 'train.optimizer': betas, lr"),
        ("train.epochs=many", "recipe key 'train.epochs'"),
        ("train.schedule.name=linear", "'constant', 'step' or 'cosine'"),
        ("data.labelled_fraction=0", "recipe key 'data.labelled_fraction'"),
    ],
)
def test_bad_keys_and_values_name_the_key(override, message):
    with pytest.raises(RecipeError) as err:
        load_recipe(base=BASE, overrides=[override])
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_key_and_bad_override_syntax():
    with pytest.raises(RecipeError, match="'student' is required"):
        load_recipe(base={"method": {"name": "kd"}, "data": {"dataset": "x"}})
    with pytest.raises(RecipeError, match="key=value"):
        load_recipe(base=BASE, overrides=["train.epochs"])


def test_base_file_is_merged_and_overridden(tmp_path):
    (tmp_path / "base.yaml").write_text(
        "data: {dataset: mnist1d}\ntrain: {epochs: 7, batch_size: 16}\n"
    )
    (tmp_path / "r.yaml").write_text(
        "base: base.yaml\nmethod: {name: kd}\nstudent: {model: mlp}\ntrain: {epochs: 3}\n"
        "teacher: {model: mlp, recipe: t.yaml}\n"
    )
    r = load_recipe(tmp_path / "r.yaml")
    assert (r.name, r.train.epochs, r.train.batch_size) == ("r", 3, 16)
    assert r.teacher.recipe == str(tmp_path / "t.yaml")  # relative to the recipe's folder


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(RecipeError, match="not found"):
        load_recipe(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("a: [1, 2\n")
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(tmp_path / "bad.yaml")


def test_every_committed_recipe_validates():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "recipes"
    files = [p for p in root.rglob("*.yaml") if "_base" not in p.parts]
    assert files
    for p in files:
        load_recipe(p)


def test_a_saved_recipe_holds_paths_relative_to_its_folder_and_reads_them_after_a_move(tmp_path):
    import json
    import shutil

    from advkt.recipe import recipe_from_json, save_recipe

    teacher = tmp_path / "repo" / "teachers" / "t"
    teacher.mkdir(parents=True)
    tree = {
        "method": {"name": "kd"},
        "student": {"model": "mlp"},
        "teacher": {"model": "mlp", "checkpoint": str(teacher)},
        "data": {"dataset": "toy"},
        "out": str(tmp_path / "repo" / "results" / "runs"),
    }
    run = tmp_path / "repo" / "results" / "runs" / "kd-s1"
    run.mkdir(parents=True)
    save_recipe(load_recipe(base=tree), run / "recipe.json")
    saved = json.loads((run / "recipe.json").read_text())
    assert saved["teacher"]["checkpoint"] == "../../../teachers/t"
    assert saved["out"] == ".."
    shutil.move(tmp_path / "repo", tmp_path / "clone")  # another checkout
    back = recipe_from_json(tmp_path / "clone" / "results" / "runs" / "kd-s1" / "recipe.json")
    assert back.teacher.checkpoint == str((tmp_path / "clone" / "teachers" / "t").resolve())
    assert back.out == str((tmp_path / "clone" / "results" / "runs").resolve())
