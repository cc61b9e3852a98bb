"""One process trains a run folder at a time (advkt.engine.lock)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from advkt.engine import lock
from advkt.engine.trainer import train
from advkt.recipe import load_recipe

from .toy import toy_recipe


def test_a_second_process_on_a_held_run_folder_stops_with_a_one_line_error(tmp_path):
    run_dir = tmp_path / "runs" / "kd-s1"
    with lock.hold(run_dir):  # a second open of the file conflicts even within one process
        with pytest.raises(lock.RunBusyError, match=r"kd-s1 is being trained by another process"):
            train(
                load_recipe(base=toy_recipe(tmp_path, "kd", epochs=1)), run_dir=run_dir, quiet=True
            )
        assert not run_dir.exists()  # nothing was written into it
    s = train(
        load_recipe(base=toy_recipe(tmp_path, "kd", epochs=1)), run_dir=run_dir, quiet=True
    )  # released: it trains now
    assert (run_dir / "summary.json").is_file() and s["epochs"] >= 1
    assert not lock.lock_path(run_dir).exists()  # the lock file goes with its release


def test_a_killed_holder_leaves_no_lock_behind(tmp_path):
    run_dir = tmp_path / "kd-s1"
    code = (
        "import sys, time; from advkt.engine import lock\n"
        f"with lock.hold({str(run_dir)!r}):\n    print('held', flush=True); time.sleep(60)\n"
    )
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    with pytest.raises(lock.RunBusyError, match=f"pid {p.pid}"):
        with lock.hold(run_dir):
            pass
    p.kill()  # SIGKILL: no clean-up runs, the file stays, the kernel drops the lock
    p.wait()
    assert lock.lock_path(run_dir).exists()
    t0 = time.perf_counter()
    with lock.hold(run_dir):
        pass
    assert time.perf_counter() - t0 < 1.0
