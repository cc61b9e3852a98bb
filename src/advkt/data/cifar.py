"""CIFAR-10 / CIFAR-100 (Krizhevsky, 2009) from the official python batches, and CIFAR-10 from
WebDataset JPEG shards.

Layouts (under the data root):

- ``cifar-10-batches-py/data_batch_1..5`` + ``test_batch``; ``cifar-100-python/train``, ``test``:
  pickles of a dict with ``data`` (uint8 ndarray (n, 3072): 1024 red, then green, then blue values
  of a 32x32 image, row by row) and ``labels`` (CIFAR-10) or ``fine_labels`` (CIFAR-100);
- ``cifar10-jpeg/{train,test}-*.tar[.gz]`` shards of ``KEY.jpg`` + ``KEY.cls`` (CIFAR-10 only).

The batches are read by an unpickler that resolves no global except the three numpy needs to
rebuild an array, so a tampered batch cannot run code.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from advkt.data.base import DataError, TensorData, check_split
from advkt.data.webdataset import find_shards, load_shards, read_classes
from advkt.registry import register_dataset

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR100_MEAN = (0.5071, 0.4865, 0.4409)
CIFAR100_STD = (0.2673, 0.2564, 0.2762)
AUGMENT = {"crop": 4, "flip": True}

_BATCHES = {
    "cifar10": (
        "cifar-10-batches-py",
        {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]},
        "labels",
    ),
    "cifar100": ("cifar-100-python", {"train": ["train"], "test": ["test"]}, "fine_labels"),
}
_SHARDS = "cifar10-jpeg"
# the classes in label order (the official batches.meta and the shards' classes.txt)
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                   "truck")  # fmt: skip


def _numpy_globals() -> dict[tuple[str, str], Any]:
    try:  # numpy >= 2 keeps the implementation in numpy._core; numpy.core is an alias
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct
    return {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,  # the same, as numpy 2 names it
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler for CIFAR batches: dicts, lists, str/bytes, ints and numpy arrays only.

    ``find_class`` resolves exactly ``numpy.core.multiarray._reconstruct`` (also spelt
    ``numpy._core.multiarray._reconstruct``, the same function), ``numpy.ndarray`` and
    ``numpy.dtype``, and refuses every other global, so a pickle that would call e.g.
    ``os.system`` fails before anything runs.
    """

    _allowed = _numpy_globals()
    what = "a CIFAR batch"  # for the error; subclasses widen ``_allowed`` for other formats

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"global '{module}.{name}' is not allowed in {self.what}"
            ) from None


def read_batch(path: Path, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    """One batch file: uint8 images (n, 3, 32, 32) and int64 labels (n,)."""
    try:
        with open(path, "rb") as f:
            # latin1 turns the Python 2 strs of the official batches into str, as numpy expects
            batch = RestrictedUnpickler(f, encoding="latin1").load()
    except pickle.UnpicklingError as e:
        raise DataError(f"{path}: refused or corrupt CIFAR batch ({e})") from e
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, OSError) as e:
        raise DataError(f"{path}: corrupt or truncated CIFAR batch ({e})") from e
    if not isinstance(batch, dict):
        raise DataError(f"{path}: expected a dict in a CIFAR batch, found {type(batch).__name__}")
    batch = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    missing = [k for k in ("data", label_key) if k not in batch]
    if missing:
        raise DataError(f"{path}: CIFAR batch lacks key(s) {', '.join(missing)}")
    data = np.asarray(batch["data"])
    labels = np.asarray(batch[label_key], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise DataError(
            f"{path}: 'data' is {data.dtype} {data.shape}, expected uint8 (n, 3072) = 3x32x32"
        )
    if labels.shape != (data.shape[0],):
        raise DataError(f"{path}: {data.shape[0]} images but {labels.size} labels")
    return data.reshape(-1, 3, 32, 32), labels


def _read_batches(folder: Path, files: list[str], label_key: str, num_classes: int):
    parts = [read_batch(folder / f, label_key) for f in files]
    x = torch.from_numpy(np.concatenate([p[0] for p in parts]))
    y = torch.from_numpy(np.concatenate([p[1] for p in parts]))
    if len(y) and (y.min() < 0 or y.max() >= num_classes):
        raise DataError(f"{folder}: labels outside [0, {num_classes})")
    return x, y


def _layout_error(name: str, root: Path, split: str) -> DataError:
    folder, files, _ = _BATCHES[name]
    layouts = [f"{root / folder}/{{{','.join(files[split])}}} (official python batches)"]
    if name == "cifar10":
        layouts.append(f"{root / _SHARDS}/{split}-*.tar[.gz] (WebDataset JPEG shards)")
    return DataError(
        f"{name}: no {split} data under {root}; expected one of: {'; or '.join(layouts)}. "
        "Pass download=True to fetch the official python batches."
    )


def _batches_present(name: str, root: Path, split: str) -> bool:
    folder, files, _ = _BATCHES[name]
    return all((root / folder / f).is_file() for f in files[split])


def _shards_present(root: Path, split: str) -> bool:
    d = root / _SHARDS
    return d.is_dir() and any(p.name.startswith(f"{split}-") for p in d.iterdir())


def _load(name: str, root: str | Path, split: str, download: bool, workers: int, cache: bool):
    check_split(name, split, ("train", "test"))
    root = Path(root)
    num_classes = 10 if name == "cifar10" else 100
    folder, files, label_key = _BATCHES[name]
    shards_ok = name == "cifar10" and _shards_present(root, split)
    if not _batches_present(name, root, split) and not shards_ok and download:
        from advkt.data.download import download as fetch_dataset

        fetch_dataset(name, root)
    if _batches_present(name, root, split):
        return _read_batches(root / folder, files[split], label_key, num_classes)
    if shards_ok:
        shards = find_shards(root / _SHARDS, split)
        classes = read_classes(root / _SHARDS)
        if classes is not None and len(classes) != num_classes:
            raise DataError(
                f"{root / _SHARDS / 'classes.txt'}: {len(classes)} classes, expected {num_classes}"
            )
        x, y = load_shards(shards, f"cifar10-jpeg-{split}", "RGB", workers, cache)
        if x.shape[1:] != (3, 32, 32):
            raise DataError(f"{root / _SHARDS}: images are {tuple(x.shape[1:])}, expected 3x32x32")
        if len(y) and (y.min() < 0 or y.max() >= num_classes):
            raise DataError(f"{root / _SHARDS}: labels outside [0, {num_classes})")
        return x, y
    raise _layout_error(name, root, split)


@register_dataset("cifar10")
def cifar10(
    root: str | Path,
    split: str = "train",
    download: bool = False,
    workers: int = 2,
    cache: bool = True,
    exclude: list[str | int] | None = None,
) -> TensorData:
    """CIFAR-10 ``split`` (50,000 / 10,000) as uint8 (N, 3, 32, 32), labels 0-9.

    Reads the python batches when present, else the JPEG shards (decoded once, then cached).
    ``exclude`` (class names or indices) drops those classes and numbers the rest 0..K-1 in
    their CIFAR-10 order: the seen-class network of a zero-shot split.
    """
    x, y = _load("cifar10", root, split, download, workers, cache)
    if not exclude:
        return TensorData(x, y, 10, CIFAR10_MEAN, CIFAR10_STD, dict(AUGMENT), "cifar10")
    drop = set()
    for c in exclude:
        if c not in CIFAR10_CLASSES and c not in range(10):
            raise DataError(f"cifar10: cannot exclude {c!r}: expected one of {CIFAR10_CLASSES}")
        drop.add(CIFAR10_CLASSES.index(c) if isinstance(c, str) else c)
    kept = [c for c in range(10) if c not in drop]
    if not kept:
        raise DataError("cifar10: every class excluded")
    new = torch.full((10,), -1, dtype=torch.long)
    new[kept] = torch.arange(len(kept))
    rows = new[y.long()] >= 0
    return TensorData(x[rows], new[y.long()[rows]], len(kept), CIFAR10_MEAN, CIFAR10_STD,
                      dict(AUGMENT), "cifar10")  # fmt: skip


@register_dataset("cifar100")
def cifar100(root: str | Path, split: str = "train", download: bool = False) -> TensorData:
    """CIFAR-100 ``split`` (50,000 / 10,000) as uint8 (N, 3, 32, 32), fine labels 0-99."""
    x, y = _load("cifar100", root, split, download, 1, False)
    return TensorData(x, y, 100, CIFAR100_MEAN, CIFAR100_STD, dict(AUGMENT), "cifar100")
