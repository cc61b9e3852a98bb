"""The bad-input matrix: each bad argument or file is one line on stderr and exit 2, never a
traceback, and a run that fails in its set-up leaves no folder behind."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from advkt.cli import main
from tests.engine.toy import toy_recipe

RECIPE = str(Path(__file__).resolve().parents[1] / "recipes" / "mnist1d" / "student_cnn1d32.yaml")


def _recipe(tmp_path, method="student", **data):
    tree = toy_recipe(tmp_path, method, epochs=1)
    tree["data"].update(data)
    path = tmp_path / f"{method}.yaml"
    path.write_text(yaml.safe_dump(tree))
    return str(path)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished one-epoch run folder of the toy student."""
    tmp = tmp_path_factory.mktemp("finished")
    run = tmp / "run"
    assert main(["train", _recipe(tmp), "--run-dir", str(run), "--quiet"]) == 0
    return run


def _one_line_exit_2(capsys, argv, expected):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.startswith("advkt: error:") and "\n" not in err, err
    assert "Traceback" not in err and "weights_only=False" not in err
    assert expected in err, err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["compare", RECIPE, "--seeds", "0", "--out", "o"], "--seeds '0'"),
        (["compare", RECIPE, "--seeds", "-1", "--out", "o"], "--seeds '-1'"),
        (["compare", RECIPE, "--seeds", "1,1", "--out", "o"], "--seeds '1,1'"),
        (["eval", "RUN", "--steps", "0", "--attack", "pgd"], "--steps"),
        (["eval", "RUN", "--limit", "0"], "--limit"),
        (["eval", "RUN", "--limit", "-5"], "--limit"),
        (["eval", "RUN", "--step-size", "0", "--attack", "pgd"], "--step-size"),
    ],
    ids=["seeds-0", "seeds-neg", "seeds-dup", "steps-0", "limit-0", "limit-neg", "step-size-0"],
)
def test_bad_arguments(capsys, argv, expected):
    _one_line_exit_2(capsys, argv, expected)


def test_recipe_errors(tmp_path, capsys):
    path = _recipe(tmp_path)
    _one_line_exit_2(capsys, ["train", path, "train.lrr=1"], "unknown recipe key 'train.lrr'")
    _one_line_exit_2(capsys, ["train", path, "train.epochs=many"], "train.epochs")
    _one_line_exit_2(capsys, ["train", str(tmp_path / "none.yaml")], "none.yaml")
    _one_line_exit_2(capsys, ["train", path, "method.name=kdd"], "unknown method 'kdd'")


def test_resume_takes_no_recipe_overrides_or_run_dir(finished, capsys):
    for extra in (["train.epochs=4"], [str(finished / "recipe.json")], ["--run-dir", "x"]):
        _one_line_exit_2(capsys, ["train", "--resume", str(finished), *extra], "--resume continues")
    _one_line_exit_2(
        capsys,
        ["train", str(finished / "recipe.json"), "--resume", str(finished)],
        "--resume continues",
    )


def test_run_dir_onto_an_existing_run_is_refused(tmp_path, finished, capsys):
    before = (finished / "summary.json").read_text()
    _one_line_exit_2(
        capsys,
        ["train", _recipe(tmp_path), "--run-dir", str(finished), "--quiet"],
        "already holds a run",
    )
    assert (finished / "summary.json").read_text() == before


@pytest.mark.parametrize("broken", ["state.pt", "model.safetensors"])
def test_a_corrupt_checkpoint_on_resume_is_one_line(tmp_path, finished, capsys, broken):
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    (run / "ckpt" / (run / "ckpt" / "last").read_text().strip() / broken).write_bytes(b"\x00junk")
    _one_line_exit_2(capsys, ["train", "--resume", str(run), "--quiet"], broken)


def test_a_run_that_fails_in_its_set_up_leaves_no_folder(tmp_path, capsys):
    tree = toy_recipe(tmp_path, "student", epochs=1)
    tree["data"] = {"dataset": "mnist", "root": str(tmp_path / "nowhere")}
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(tree))
    run = tmp_path / "run"
    _one_line_exit_2(
        capsys, ["train", str(path), "--run-dir", str(run), "--quiet"], "train-images-idx3-ubyte"
    )
    assert not run.exists()


def test_a_truncated_planetoid_file_is_one_line(shared_data, tmp_path, capsys):
    from advkt.graph.cli import main as graph_main  # noqa: F401  (the graph extra is installed)

    raw = tmp_path / "planetoid" / "Cora" / "raw"
    shutil.copytree(shared_data / "planetoid" / "Cora" / "raw", raw)
    (raw / "ind.cora.x").write_bytes((raw / "ind.cora.x").read_bytes()[:100])
    argv = ["graph", "train", "--data-root", str(tmp_path), "--cache", str(tmp_path / "c")]
    code = main([*argv, "--iterations", "1"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "Traceback" not in err, err
    assert "ind.cora.x" in err and "truncated" in err, err
