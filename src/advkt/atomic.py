"""Files that a kill or a power loss never leaves half-written: write aside, flush, rename."""

from __future__ import annotations

import os
from pathlib import Path


def fsync(path: str | Path) -> None:
    """Flush a file's or a folder's data to disk (a folder: its entries, after a rename)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Replace ``path`` by ``text`` in one step: readers see the old file or the new one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    fsync(tmp)
    os.replace(tmp, path)
    fsync(path.parent)
