"""Fault injection: kill -9 training runs at random moments, resume them, check what is left.

For each recipe, one uninterrupted reference run, then one run that is killed again and again
(SIGKILL, no chance to clean up) and resumed with ``advkt train --resume`` until it finishes.
Half the kills come at a random moment, half the moment a checkpoint write is seen in progress
(a temporary folder in ``ckpt/``). After every kill the newest checkpoint is read back with the
library's own loader (weights and training state), and at the end the resumed run's weights and
summary are compared with the reference, bit for bit.

    OMP_NUM_THREADS=1 ADVKT_DATA=../shared/data python benchmarks/faults.py \\
        --kills 20 --out benchmarks/results/faults

writes ``results.json`` and ``table.md`` there: kills, corrupt checkpoints, failed resumes and
bit-exactness per recipe.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[1]
RECIPES = {
    "kd": "recipes/mnist1d/kd_cnn1d128_cnn1d32.yaml",
    "hksanc": "recipes/mnist1d/hksanc_cnn1d128_cnn1d32.yaml",
    "dense_flow": "recipes/mnist1d/dense_flow_cnn1d128_cnn1d32.yaml",
}
# short runs, a checkpoint every epoch: many writes to hit, quick to finish
OVERRIDES = ["train.epochs=6", "data.train_subset=2000", "train.save_every=1", "seed=3"]


def advkt(*args: str) -> list[str]:
    return [sys.executable, "-m", "advkt", *args]


def checkpoint_reads(run: Path) -> bool | None:
    """Whether the newest checkpoint reads back (None: none written yet)."""
    from advkt.engine import checkpoint as ckpt

    if not ckpt.has_checkpoint(run):
        return None
    try:
        where = ckpt.resolve(run)
        load_file(str(where / "model.safetensors"))
        load_file(str(where / "method.safetensors"))
        torch.load(where / "state.pt", map_location="cpu", weights_only=True)
        json.loads((where / "spec.json").read_text())
    except Exception:  # noqa: BLE001 - any failure to read is a corrupt checkpoint
        return False
    return True


def weights(run: Path) -> dict[str, torch.Tensor]:
    from advkt.engine import checkpoint as ckpt

    where = ckpt.resolve(run)
    return load_file(str(where / "model.safetensors")) | {
        f"method.{k}": v for k, v in load_file(str(where / "method.safetensors")).items()
    }


def kill_when(proc: subprocess.Popen, run: Path, during_write: bool, horizon: float) -> bool:
    """Kill ``proc`` at a random moment within ``horizon`` s, or as soon as a checkpoint write
    is seen; False if it finished first."""
    deadline = time.time() + (horizon if during_write else random.uniform(0.3, 0.8 * horizon))
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        if during_write and (run / "ckpt").is_dir():
            if any(p.name.startswith(".e") for p in (run / "ckpt").iterdir()):
                break
        time.sleep(0.001 if during_write else 0.02)
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return True


def faulted_run(recipe: str, run: Path, kills: int, horizon: float, env: dict) -> dict:
    """Start ``run``, then kill and resume it until it finishes or ``kills`` kills are spent."""
    done = corrupt = failed = 0
    fresh = True
    while True:
        if fresh:
            cmd = advkt("train", recipe, *OVERRIDES, "--run-dir", str(run), "--quiet")
        else:
            cmd = advkt("train", "--resume", str(run), "--quiet")
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        if done < kills and kill_when(proc, run, done % 2 == 1, horizon):
            done += 1
            fresh = not (run / "recipe.json").is_file()  # killed before it wrote anything
            if checkpoint_reads(run) is False:
                corrupt += 1
            continue
        err = proc.communicate()[1].decode()
        if proc.returncode == 0:
            return {"kills": done, "corrupt": corrupt, "failed": failed, "finished": True}
        failed += 1
        print(f"resume of {run.name} failed (rc {proc.returncode}): {err.strip()[-300:]}")
        if failed > 3:
            return {"kills": done, "corrupt": corrupt, "failed": failed, "finished": False}


def one_recipe(name: str, recipe: str, kills: int, work: Path, env: dict) -> dict:
    """Runs of ``recipe`` killed ``kills`` times in all, each resumed to its end and compared
    with the uninterrupted reference."""
    ref = work / f"{name}-ref"
    t0 = time.time()
    subprocess.run(
        advkt("train", recipe, *OVERRIDES, "--run-dir", str(ref), "--quiet"),
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    horizon = time.time() - t0  # one whole run, start-up included
    a = weights(ref)
    acc = json.loads((ref / "summary.json").read_text())["test_acc"]
    total = {"kills": 0, "corrupt_checkpoints": 0, "failed_resumes": 0, "runs": 0}
    exact = []
    while total["kills"] < kills:
        run = work / f"{name}-faults{total['runs']}"
        r = faulted_run(recipe, run, kills - total["kills"], horizon, env)
        total["kills"] += r["kills"]
        total["corrupt_checkpoints"] += r["corrupt"]
        total["failed_resumes"] += r["failed"]
        total["runs"] += 1
        if not r["finished"]:
            exact.append(False)
            break
        b = weights(run)
        same = a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
        same = same and json.loads((run / "summary.json").read_text())["test_acc"] == acc
        exact.append(same)
    return {
        "recipe": recipe,
        **total,
        "runs_bit_exact": sum(exact),
        "bit_exact": all(exact),
        "reference_test_acc": acc,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kills", type=int, default=20, help="kills per recipe")
    ap.add_argument("--methods", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    ap.add_argument("--out", type=Path, default=None, help="write results.json and table.md")
    ap.add_argument("--seed", type=int, default=0, help="seeds the kill times")
    args = ap.parse_args()
    random.seed(args.seed)
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    rows = []
    with tempfile.TemporaryDirectory(prefix="advkt-faults-") as tmp:
        env["ADVKT_CACHE"] = env.get("ADVKT_CACHE", str(Path(tmp) / "cache"))
        for m in args.methods:
            r = one_recipe(m, RECIPES[m], args.kills, Path(tmp), env)
            rows.append({"method": m, **r})
            print(json.dumps(rows[-1]))
    lines = [
        "| method | kills | resumed runs | corrupt checkpoints | failed resumes | "
        "bit-exact with the uninterrupted run |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['method']} | {r['kills']} | {r['runs']} | {r['corrupt_checkpoints']} | "
            f"{r['failed_resumes']} | {r['runs_bit_exact']} of {r['runs']} |"
        )
    table = "\n".join(lines) + "\n"
    print(table)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        cmd = "python benchmarks/faults.py " + " ".join(sys.argv[1:])
        meta = {"command": cmd, "overrides": OVERRIDES, "rows": rows}
        (args.out / "results.json").write_text(json.dumps(meta, indent=2) + "\n")
        (args.out / "table.md").write_text(table)
    ok = all(
        r["corrupt_checkpoints"] == 0 and r["failed_resumes"] == 0 and r["bit_exact"] for r in rows
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
