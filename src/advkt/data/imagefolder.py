"""ImageNet-style image folders: ``<root>/<split>/<class>/*.jpg|jpeg|png``, classes sorted by name.

Images are decoded once into one uint8 tensor (N, C, size, size): optionally the shorter side is
resized to ``resize`` (bilinear) and the centre ``size`` x ``size`` is cut out, so images of mixed
sizes fit one tensor. Decoding runs in a process pool and is cached like the shards.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch

from advkt.data._files import pool_context
from advkt.data.base import DataError, TensorData
from advkt.data.cache import cached_tensors, source_key
from advkt.registry import register_dataset

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def decode_file(path: str, mode: str, resize: int | None, size: int | None) -> np.ndarray:
    """One image as uint8 (H, W, C): shorter side to ``resize``, then centre crop to ``size``.

    The crop's top-left corner is ``(round((H - size) / 2), round((W - size) / 2))``.
    """
    from PIL import Image

    try:
        with Image.open(path) as im:
            im = im.convert(mode)
            if resize:
                w, h = im.size
                s = resize / min(w, h)
                im = im.resize(
                    (max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.BILINEAR
                )
            if size:
                w, h = im.size
                if w < size or h < size:
                    raise DataError(f"{path}: image is {w}x{h}, smaller than the crop {size}")
                left, top = round((w - size) / 2), round((h - size) / 2)
                im = im.crop((left, top, left + size, top + size))
            a = np.asarray(im)
    except DataError:
        raise
    except Exception as e:  # Pillow raises OSError, SyntaxError, ValueError... for bad bytes
        raise DataError(f"{path}: cannot decode image ({e})") from e
    return a[..., None] if a.ndim == 2 else a


def _decode_chunk(paths: list[str], mode: str, resize: int | None, size: int | None):
    images = [decode_file(p, mode, resize, size) for p in paths]
    shapes = {a.shape for a in images}
    if len(shapes) > 1:
        raise DataError(
            f"images of different sizes {sorted(shapes)} (e.g. {paths[0]}); "
            "pass size= (and resize=) to crop them to one size"
        )
    return np.stack(images)


def list_images(folder: Path) -> tuple[list[str], list[Path], list[int]]:
    """Sorted class names, image paths (by class, then name) and their class indices."""
    if not folder.is_dir():
        raise DataError(
            f"imagefolder: {folder} is not a folder; expected layout "
            "<root>/<split>/<class>/*.jpg|jpeg|png"
        )
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    files: list[Path] = []
    labels: list[int] = []
    for i, c in enumerate(classes):
        found = sorted(
            p for p in (folder / c).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
        )
        files += found
        labels += [i] * len(found)
    if not files:
        raise DataError(
            f"imagefolder: no .jpg/.jpeg/.png images in class folders under {folder}; "
            "expected layout <root>/<split>/<class>/*.jpg"
        )
    return classes, files, labels


@register_dataset("imagefolder")
def imagefolder(
    root: str | Path,
    split: str = "train",
    download: bool = False,
    size: int | None = None,
    resize: int | None = None,
    mode: str = "RGB",
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    augment: dict | None = None,
    workers: int = 2,
    cache: bool = True,
) -> TensorData:
    """``<root>/<split>`` as uint8 (N, C, size, size) with labels = sorted class index.

    ``size`` alone resizes the shorter side to ``size`` then centre-crops (``resize`` defaults
    to ``size``); neither: every image must already have one size.
    """
    if download:
        raise DataError("imagefolder: an image folder has no public download")
    if resize and not size:
        raise DataError("imagefolder: resize= needs size= (the centre crop) so images share a size")
    if size and not resize:
        resize = size
    folder = Path(root) / split
    classes, files, labels = list_images(folder)

    def build() -> dict[str, torch.Tensor]:
        paths = [str(p) for p in files]
        n_chunks = max(1, min(len(paths) // 256, 64)) if workers > 1 else 1
        chunks = [c.tolist() for c in np.array_split(np.array(paths, dtype=object), n_chunks)]
        args = (mode, resize, size)
        if n_chunks == 1:
            parts = [_decode_chunk(paths, *args)]
        else:
            ctx = pool_context()
            with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
                parts = list(pool.map(_decode_chunk, chunks, *([a] * n_chunks for a in args)))
        if len({p.shape[1:] for p in parts}) > 1:
            raise DataError(f"imagefolder: images of different sizes under {folder}; pass size=")
        x = torch.from_numpy(np.concatenate(parts)).permute(0, 3, 1, 2).contiguous()
        return {"x": x}

    rel = [str(p.relative_to(folder)) for p in files]
    key = source_key(files, extra=f"imagefolder:{mode}:{resize}:{size}:{rel}")
    x = cached_tensors(f"imagefolder-{split}", key, build, use_cache=cache)["x"]
    y = torch.tensor(labels, dtype=torch.int64)
    c = x.shape[1]
    if len(mean) not in (1, c) or len(std) not in (1, c):
        raise DataError(f"imagefolder: mean/std need 1 or {c} values, got {len(mean)}/{len(std)}")
    aug = dict(augment or {})
    return TensorData(x, y, len(classes), tuple(mean), tuple(std), aug, "imagefolder")
