"""File helpers shared by the loaders: reading plain-or-gzip files, the missing-files error."""

from __future__ import annotations

import gzip
import multiprocessing
import sys
import zlib
from collections.abc import Sequence
from pathlib import Path

from advkt.data.base import DataError


def read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when the name ends in ``.gz``; DataError names a bad file."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise DataError(f"{path}: corrupt or truncated gzip file ({e})") from e
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e})") from e


def first_existing(folder: Path, names: Sequence[str]) -> Path | None:
    """The first of ``folder/name`` for ``names`` that is a file, else None."""
    for n in names:
        if (folder / n).is_file():
            return folder / n
    return None


def missing_files_error(
    dataset: str, missing: Sequence[str], searched: Sequence[Path], layout: str
) -> DataError:
    where = ", ".join(str(p) for p in searched)
    return DataError(
        f"{dataset}: missing {', '.join(missing)} (searched {where}). Expected layout: {layout}. "
        "Pass download=True to fetch the public files."
    )


def pool_context() -> multiprocessing.context.BaseContext:
    """Start method for the decoding pools: "fork" on Linux, as torch's DataLoader uses there (a
    spawned worker would re-import torch, seconds per worker), "spawn" elsewhere. The workers
    only run Pillow and numpy, never torch or CUDA."""
    return multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
