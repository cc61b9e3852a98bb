"""benchmarks/train_teacher.py: a committed teacher folder that recipes load as their teacher."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import torch
import yaml
from safetensors.torch import load_file

from advkt.engine.splits import load_splits
from advkt.engine.teacher import build_teacher
from advkt.recipe import load_recipe

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "train_teacher.py"


def _script():
    spec = importlib.util.spec_from_file_location("train_teacher", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_teacher_folder_is_complete_and_loads_as_a_recipe_teacher(tmp_path):
    cnn = {"model": "cnn1d", "args": {"width": 4}}
    data = {"dataset": "mnist1d", "train_subset": 300, "test_subset": 100}
    train = {"epochs": 2, "batch_size": 50, "optimizer": {"name": "adam", "lr": 0.01}}
    teacher_yaml = tmp_path / "teacher.yaml"
    tree = {"data": data, "train": train, "method": {"name": "student"}, "student": cnn}
    teacher_yaml.write_text(yaml.safe_dump(tree))
    args = [str(teacher_yaml), "train.epochs=1", "--name", "t4", "--root", str(tmp_path / "tt")]
    assert _script().main([*args, "--run-dir", str(tmp_path / "run")]) == 0
    out = tmp_path / "tt" / "t4"
    assert {p.name for p in out.iterdir()} == {
        "model.safetensors", "spec.json", "recipe.json", "metrics.jsonl", "teacher.json"
    }  # fmt: skip
    info = json.loads((out / "teacher.json").read_text())
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert info["test_acc"] == summary["test_acc"] and info["epochs"] == 1  # the override held
    assert "train.epochs=1" in info["command"]
    assert json.loads((out / "recipe.json").read_text())["train"]["epochs"] == 1

    kd_yaml = tmp_path / "recipes" / "kd.yaml"
    kd_yaml.parent.mkdir()
    kd = {"data": data, "train": train, "method": {"name": "kd"}, "student": cnn}
    kd["teacher"] = {**cnn, "checkpoint": "../tt/t4"}
    kd_yaml.write_text(yaml.safe_dump(kd))
    r = load_recipe(kd_yaml)
    teacher = build_teacher(r, load_splits(r).train)
    want = load_file(str(out / "model.safetensors"))
    for k, v in teacher.state_dict().items():
        torch.testing.assert_close(v, want[k])
