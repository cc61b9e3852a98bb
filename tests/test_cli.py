"""The advkt command: clear one-line errors with a non-zero exit, list, profile, compare."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from advkt.cli import main
from tests.engine.toy import toy_recipe


def _write(tmp_path, tree, name="r.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(tree))
    return str(p)


def test_unknown_key_is_one_line_and_exit_2(tmp_path, capsys):
    path = _write(tmp_path, toy_recipe(tmp_path, "kd"))
    assert main(["train", path, "train.lrr=1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("advkt: error: unknown recipe key 'train.lrr'; valid keys under 'train'")
    assert "\n" not in err


def test_unknown_method_model_dataset_name_the_valid_choices(tmp_path, capsys):
    path = _write(tmp_path, toy_recipe(tmp_path, "student"))
    for override, expected in [
        ("method.name=kdd", "unknown method 'kdd'; valid methods: "),
        ("student.model=resnet21", "unknown model 'resnet21'; valid models: cnn1d"),
        (
            "data.dataset=mnist2",
            "unknown dataset 'mnist2'; valid datasets: amazon_reviews, cifar10",
        ),
    ]:
        assert main(["train", path, override, "--quiet"]) == 2
        err = capsys.readouterr().err
        assert expected in err, err


def test_missing_data_files_name_the_file(tmp_path, capsys):
    tree = toy_recipe(tmp_path, "student")
    tree["data"] = {"dataset": "mnist", "root": str(tmp_path / "nowhere")}
    assert main(["train", _write(tmp_path, tree), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "advkt: error:" in err and "train-images-idx3-ubyte" in err


def test_list_and_profile(capsys):
    assert main(["list", "methods"]) == 0
    methods = capsys.readouterr().out.split()
    assert {"student", "kd", "fitnet", "at", "fsp", "dkd", "hksanc"} <= set(methods)
    assert main(["profile", "resnet8", "--input", "3x32x32", "--teacher", "resnet20"]) == 0
    out = capsys.readouterr().out
    assert "78.04k" in out and "3.49x" in out  # resnet8: 78,042 params, 272,474 / 78,042


def test_compare_writes_table_plot_curves_and_results(tmp_path):
    tree = toy_recipe(tmp_path, "kd", epochs=1)
    kd = _write(tmp_path, tree, "kd.yaml")
    st = toy_recipe(tmp_path, "student", epochs=1)
    student = _write(tmp_path, st, "student.yaml")
    out = tmp_path / "cmp"
    # the toy dataset is registered by tests/engine/toy.py: run in-process
    code = main(["compare", student, kd, "--seeds", "2", "--out", str(out), "train.epochs=1"])
    assert code == 0
    res = json.loads((out / "results.json").read_text())
    assert {"benchmark", "command", "machine", "rows"} <= set(res)
    assert [r["method"] for r in res["rows"]] == ["student", "kd"]
    for r in res["rows"]:
        assert len(r["values"]) == 2 and r["seeds"] == [1, 2]
        assert abs(r["mean"] - sum(r["values"]) / 2) < 1e-9
    assert "| student |" in (out / "table.md").read_text()
    assert (out / "plot.png").stat().st_size > 1000
    curves = json.loads((out / "curves.json").read_text())
    assert {k: list(v) for k, v in curves.items()} == {r["recipe"]: ["1", "2"] for r in res["rows"]}


def test_module_entry_point_runs():
    res = subprocess.run(
        [sys.executable, "-m", "advkt", "list", "datasets"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0 and "mnist1d" in res.stdout.split()


def test_graph_command_is_wired_and_the_benchmark_harnesses_are_not_commands(capsys):
    import pytest

    with pytest.raises(SystemExit) as ex:
        main(["graph", "train", "--help"])
    assert ex.value.code == 0
    assert "advkt graph train" in capsys.readouterr().out
    for argv in (["oversample", "bench", "--help"], ["graph", "bench", "--help"]):
        with pytest.raises(SystemExit) as ex:  # benchmarks/ewgan_keel.py, savgae_planetoid.py
            main(argv)
        assert ex.value.code == 2


def test_train_command_does_not_import_the_extras_stacks():
    """`advkt train` builds only its own parser: imbalanced-learn and PyTorch Geometric (seconds
    of import each) load only for the commands that use them, while --help still lists them."""
    code = (
        "import sys; from advkt.cli import build_parser; build_parser('train'); "
        "print(sorted(m for m in ('imblearn', 'torch_geometric', 'sklearn') if m in sys.modules)); "
        "p = build_parser(None); print('graph' in p.format_help(), 'viz' in p.format_help())"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    lines = res.stdout.split("\n")
    assert lines[0] == "[]", res.stdout
    assert lines[1] == "True True", res.stdout
