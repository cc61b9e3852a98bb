"""Two gloo processes on the CPU end with the same weights as one process on the same batch."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from .toy import toy_recipe

WORKER = Path(__file__).with_name("ddp_worker.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(tree: dict, out: Path, nproc: int) -> None:
    out.mkdir(parents=True)
    (out / "recipe.json").write_text(json.dumps(tree))
    if nproc == 1:
        cmd = [sys.executable, str(WORKER), str(out / "recipe.json"), str(out)]
    else:
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            f"--nproc_per_node={nproc}",
            "--master_addr=127.0.0.1",
            f"--master_port={_free_port()}",
            str(WORKER),
            str(out / "recipe.json"),
            str(out),
        ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]


def ddp_matches_single_process(tmp_path: Path, tree: dict) -> None:
    _run(tree, tmp_path / "single", 1)
    _run(tree, tmp_path / "ddp", 2)
    single = load_file(str(tmp_path / "single" / "rank0.safetensors"))
    r0 = load_file(str(tmp_path / "ddp" / "rank0.safetensors"))
    r1 = load_file(str(tmp_path / "ddp" / "rank1.safetensors"))
    assert set(single) == set(r0) == set(r1)
    for k in single:
        torch.testing.assert_close(r0[k], r1[k], rtol=0, atol=0)  # ranks identical
        if "running_" in k or "num_batches" in k:
            continue  # BN statistics come from half batches on each rank
        torch.testing.assert_close(r0[k], single[k], rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_kd_two_processes_equal_one(tmp_path):
    tree = toy_recipe(tmp_path, "kd", epochs=2)
    # the teacher is trained once here and reused by all three processes
    from advkt.engine.trainer import train_teacher
    from advkt.recipe import load_recipe

    r = load_recipe(base=tree)
    train_teacher(r, quiet=True)
    ddp_matches_single_process(tmp_path, tree)
