"""WebDataset-style tar shards: a directory or glob of ``.tar``/``.tar.gz`` files whose members
are samples ``KEY.jpg|jpeg|png`` (the image) + ``KEY.cls`` (the class index as text).

Shards are decoded with Pillow in a process pool (one shard per task) into one uint8 tensor
(N, C, H, W), in sorted shard order and tar order within a shard, and cached in the library's
cache folder (see ``advkt.data.cache``): an epoch never touches a JPEG decoder.
"""

from __future__ import annotations

import glob
import io
import posixpath
import tarfile
import zlib
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch

from advkt.data._files import pool_context
from advkt.data.base import DataError, TensorData
from advkt.data.cache import cached_tensors, source_key
from advkt.registry import register_dataset

IMAGE_EXTS = ("jpg", "jpeg", "png")
SHARD_EXTS = (".tar", ".tar.gz", ".tgz")


def _split_member(name: str) -> tuple[str, str]:
    """WebDataset's rule: the key is the path up to the first dot of the base name."""
    folder, base = posixpath.split(name)
    stem, _, ext = base.partition(".")
    return posixpath.join(folder, stem), ext.lower()


def _decode_image(data: bytes, mode: str, shard: str, member: str) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert(mode))
    except Exception as e:  # Pillow raises OSError, SyntaxError, ValueError... for bad bytes
        raise DataError(f"{shard}: member {member}: cannot decode image ({e})") from e


def decode_shard(path: str, mode: str = "RGB") -> tuple[np.ndarray, np.ndarray]:
    """Decode one shard: uint8 images (n, H, W, C) and int64 labels (n,), in tar order.

    Raises DataError naming the shard (and the member) for a corrupt archive, an undecodable
    image, a bad ``.cls``, a sample missing its image or class, or images of different sizes.
    """
    images: dict[str, np.ndarray] = {}
    labels: dict[str, int] = {}
    order: list[str] = []
    try:
        with tarfile.open(path, "r:*") as tf:
            for m in tf:
                if not m.isfile():
                    continue
                key, ext = _split_member(m.name)
                if ext not in IMAGE_EXTS and ext != "cls":
                    continue
                f = tf.extractfile(m)
                data = f.read() if f is not None else b""
                if key not in images and key not in labels:
                    order.append(key)
                if ext == "cls":
                    try:
                        labels[key] = int(data.decode("ascii").strip())
                    except (UnicodeDecodeError, ValueError) as e:
                        raise DataError(
                            f"{path}: member {m.name}: class must be an integer ({e})"
                        ) from e
                else:
                    images[key] = _decode_image(data, mode, path, m.name)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
        raise DataError(f"{path}: corrupt shard ({e})") from e
    if not order:
        raise DataError(f"{path}: no samples (expected members KEY.jpg|png + KEY.cls)")
    for key in order:
        if key not in images:
            raise DataError(f"{path}: sample '{key}' has a .cls but no .jpg/.jpeg/.png image")
        if key not in labels:
            raise DataError(f"{path}: sample '{key}' has an image but no .cls label")
    shapes = {images[k].shape for k in order}
    if len(shapes) > 1:
        raise DataError(f"{path}: images of different sizes {sorted(shapes)}; expected one size")
    x = np.stack([images[k] for k in order])
    if x.ndim == 3:  # single-channel modes decode to (H, W)
        x = x[..., None]
    return x, np.array([labels[k] for k in order], dtype=np.int64)


def decode_shards(
    paths: Sequence[str | Path], mode: str = "RGB", workers: int = 2
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode shards in a process pool of ``workers``: (uint8 (N, C, H, W), int64 (N,)).

    The pool's start method is ``_files.pool_context()``'s.
    """
    paths = [str(p) for p in paths]
    if workers <= 1 or len(paths) == 1:
        parts = [decode_shard(p, mode) for p in paths]
    else:
        ctx = pool_context()
        with ProcessPoolExecutor(min(workers, len(paths)), mp_context=ctx) as pool:
            parts = list(pool.map(decode_shard, paths, [mode] * len(paths)))
    shapes = {p[0].shape[1:] for p in parts}
    if len(shapes) > 1:
        raise DataError(f"shards hold images of different sizes {sorted(shapes)}: {paths}")
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(y)


def _is_shard(p: Path) -> bool:
    return p.is_file() and p.name.endswith(SHARD_EXTS)


def find_shards(root: str | Path, split: str | None = "train") -> list[Path]:
    """Shards for ``split``: a glob (``root`` with * ? [) or one shard file as given, else the
    files ``<root>/<split>-*.tar[.gz]`` (every shard in ``root`` when ``split`` is empty)."""
    text = str(root)
    if any(c in text for c in "*?["):
        found = sorted(p for p in map(Path, glob.glob(text)) if _is_shard(p))
        if not found:
            raise DataError(f"webdataset: no .tar/.tar.gz shards match {text}")
        return found
    folder = Path(root)
    if _is_shard(folder):
        return [folder]
    if not folder.is_dir():
        raise DataError(f"webdataset: {folder} is not a folder of shards")
    prefixes = (f"{split}-", f"{split}_", f"{split}.")
    found = sorted(
        p for p in folder.iterdir() if _is_shard(p) and (not split or p.name.startswith(prefixes))
    )
    if not found:
        raise DataError(
            f"webdataset: no shards for split '{split}' in {folder}; expected files "
            f"{split}-00000.tar[.gz], ... holding KEY.jpg|png + KEY.cls samples"
        )
    return found


def load_shards(
    shards: Sequence[Path],
    name: str,
    mode: str = "RGB",
    workers: int = 2,
    cache: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decoded (x, y) of ``shards``, from the cache when the shards are unchanged."""

    def build() -> dict[str, torch.Tensor]:
        x, y = decode_shards(shards, mode, workers)
        return {"x": x, "y": y}

    key = source_key(shards, extra=f"webdataset:{mode}")
    t = cached_tensors(name, key, build, use_cache=cache)
    return t["x"], t["y"]


def read_classes(folder: Path) -> list[str] | None:
    """Class names from ``folder/classes.txt`` (one a line), if there is one."""
    f = folder / "classes.txt"
    if not f.is_file():
        return None
    return [line.strip() for line in f.read_text().splitlines() if line.strip()]


@register_dataset("webdataset")
def webdataset(
    root: str | Path,
    split: str = "train",
    download: bool = False,
    mode: str = "RGB",
    num_classes: int | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    augment: dict | None = None,
    workers: int = 2,
    cache: bool = True,
) -> TensorData:
    """Generic shards as uint8 (N, C, H, W) with labels in [0, num_classes).

    ``num_classes``: given, else the lines of ``classes.txt`` beside the shards, else max(y) + 1.
    ``mean``/``std`` default to 0.5 per channel (inputs mapped to [-1, 1]); they are never
    measured on the split being loaded, so train and test share one normalisation.
    """
    if download:
        raise DataError("webdataset: a generic shard folder has no public download")
    shards = find_shards(root, split)
    x, y = load_shards(shards, f"webdataset-{split or 'all'}", mode, workers, cache)
    if num_classes is None:
        classes = read_classes(shards[0].parent)
        num_classes = len(classes) if classes else int(y.max()) + 1
    bad = (y < 0) | (y >= num_classes)
    if bad.any():
        raise DataError(
            f"webdataset: label {int(y[bad][0])} outside [0, {num_classes}) in {shards[0].parent}"
        )
    c = x.shape[1]
    mean = tuple(mean) if mean is not None else (0.5,) * c
    std = tuple(std) if std is not None else (0.5,) * c
    return TensorData(x, y, num_classes, mean, std, dict(augment or {}), "webdataset")
