"""Helpers for the tests of ``benchmarks/``: import a script by its name, as
``python benchmarks/<name>.py`` sees its siblings (the folder first on ``sys.path``), and a
stand-in for a script's process pool."""

from __future__ import annotations

import importlib
import sys
from concurrent.futures import Future
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load(name: str) -> ModuleType:
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    return importlib.import_module(name)


class SerialPool:
    """A stand-in for ``concurrent.futures.ProcessPoolExecutor``: the same calls (``map``,
    ``submit``), run in this process, so that a test can patch a script's pool with it."""

    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def map(self, fn, *iterables):
        return [fn(*args) for args in zip(*iterables)]

    def submit(self, fn, *args, **kwargs):
        future: Future = Future()
        future.set_result(fn(*args, **kwargs))
        return future
