"""The library's own cache folder and a decoded-tensor cache in it.

Decoding JPEG shards (or generating MNIST-1D) is slow next to reading raw uint8 tensors, so the
decoded tensors are kept in ``$ADVKT_CACHE`` (else ``~/.cache/advkt``) as safetensors files named
by a key over the source files' names, sizes and mtimes: touching or replacing a source file
changes the key, so a stale entry is never read. Nothing is ever written beside the data.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import torch

CACHE_ENV = "ADVKT_CACHE"


def cache_dir() -> Path:
    """``$ADVKT_CACHE`` if set, else ``~/.cache/advkt`` (not created here)."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "advkt"


def source_key(files: Iterable[str | Path], extra: str = "") -> str:
    """A hex key over each file's name, size and mtime (ns), plus ``extra`` (loader options)."""
    parts = []
    for f in files:
        st = Path(f).stat()
        parts.append([Path(f).name, st.st_size, st.st_mtime_ns])
    blob = json.dumps({"files": parts, "extra": extra}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def atomic_save(tensors: dict[str, torch.Tensor], path: Path, metadata: dict | None = None) -> None:
    """Write a safetensors file through a temp file in the same folder and ``os.replace``."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        contiguous = {k: v.contiguous() for k, v in tensors.items()}
        save_file(contiguous, tmp, metadata={k: str(v) for k, v in (metadata or {}).items()})
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # safetensors writes 0600; a cache entry is a plain file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cached_tensors(
    name: str,
    key: str,
    build: Callable[[], dict[str, torch.Tensor]],
    use_cache: bool = True,
) -> dict[str, torch.Tensor]:
    """Return ``build()``'s tensors, read from ``cache_dir()/name-key.safetensors`` when there.

    An unreadable entry is rebuilt; a cache folder that cannot be written only warns, since the
    tensors are still correct without it.
    """
    if not use_cache:
        return build()
    from safetensors.torch import load_file

    path = cache_dir() / f"{name}-{key}.safetensors"
    if path.is_file():
        try:
            return load_file(path)
        except Exception as e:  # a torn or foreign file: rebuilding is always safe
            warnings.warn(f"ignoring unreadable cache file {path}: {e}", stacklevel=2)
    tensors = build()
    try:
        atomic_save(tensors, path)
    except OSError as e:
        warnings.warn(f"could not write the cache file {path}: {e}", stacklevel=2)
    return tensors
