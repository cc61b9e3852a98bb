"""One process trains a run folder at a time.

Two commands pointed at the same run folder (two ``advkt compare`` over one ``--out``, a
``train --resume`` while the run still trains) would write the same metrics and checkpoints at
once. :func:`hold` takes an exclusive lock on ``.<run>.lock`` beside the folder (so that a failed
set-up still leaves no run folder) and fails at once with :class:`RunBusyError` if another
process holds it. The kernel drops the lock when its process ends, even by a kill, so a crashed
run never blocks the next one; the file is removed on release. :func:`exclusive` is the
waiting form, for work that others should queue behind rather than refuse (a shared cache being
written). Where ``fcntl`` is missing (Windows) nothing is locked.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux or macOS
    fcntl = None


class RunBusyError(RuntimeError):
    """Another process is training this run folder."""


def lock_path(run_dir: str | Path) -> Path:
    run_dir = Path(run_dir)
    return run_dir.parent / f".{run_dir.name}.lock"


@contextmanager
def hold(run_dir: str | Path) -> Iterator[None]:
    """Hold ``run_dir``'s lock for the duration of the block (see the module's docstring)."""
    if fcntl is None:
        yield
        return
    path = lock_path(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunBusyError(
                f"{run_dir} is being trained by another process (pid {holder}); wait for it to "
                "finish or train into another folder"
            ) from None
        try:  # the holder before us may have removed the file after we opened it: retry
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)  # releases the lock


@contextmanager
def exclusive(path: str | Path) -> Iterator[None]:
    """Block until this process holds an exclusive lock on ``path`` (created if missing, left in
    place), held for the duration of the block; the kernel drops it when the process ends."""
    if fcntl is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
