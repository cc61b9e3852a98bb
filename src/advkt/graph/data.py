"""Planetoid graphs from a read-only folder, and the one link split every method shares.

PyG's ``Planetoid(root, name)`` writes ``processed/`` beside ``raw/``; the shared data are
read-only, so the raw files are linked into a cache folder of the library's own
(``cache`` argument, else ``$ADVKT_CACHE``, else ``~/.cache/advkt``) and Planetoid reads there,
one folder per content of the raw files (:func:`planetoid_cache`); processes that load the same
graph at once take turns, so none reads another's half-written ``processed/`` file.
"""

from __future__ import annotations

import collections
import hashlib
import os
import pickle
import random
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from advkt.data.base import DataError
from advkt.data.cache import cache_dir as library_cache_dir
from advkt.data.cifar import RestrictedUnpickler
from advkt.engine.lock import exclusive

PLANETOID = {"Cora": "cora", "CiteSeer": "citeseer"}
_SUFFIXES = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")


def cache_dir(cache: str | Path | None = None) -> Path:
    """The library's cache folder: ``cache``, else ``$ADVKT_CACHE``, else ``~/.cache/advkt``."""
    return Path(cache) if cache is not None else library_cache_dir()


def data_root(root: str | Path | None = None) -> Path:
    """``root``, else ``$ADVKT_DATA``, else ``./data``."""
    if root is not None:
        return Path(root)
    return Path(os.environ.get("ADVKT_DATA", "data"))


def load_planetoid(name: str, root: str | Path | None = None, cache: str | Path | None = None):
    """Cora or CiteSeer as a PyG ``Data`` (x, edge_index, y), read without network.

    ``root`` holds ``planetoid/<Name>/raw/ind.<name>.*`` (or ``<Name>/raw`` directly).
    """
    if name not in PLANETOID:
        raise DataError(f"unknown Planetoid data set {name!r}; available: {', '.join(PLANETOID)}")
    base = data_root(root)
    raw = base / "planetoid" / name / "raw"
    if not raw.is_dir():
        raw = base / name / "raw"
    stem = PLANETOID[name]
    missing = [f"ind.{stem}.{s}" for s in _SUFFIXES if not (raw / f"ind.{stem}.{s}").is_file()]
    if missing:
        raise DataError(
            f"{raw} lacks the Planetoid files {', '.join(missing)} "
            f"(expected the kimiyoung/planetoid layout ind.{stem}.{{x,tx,allx,y,ty,ally,graph,"
            f"test.index}} under <root>/planetoid/{name}/raw/)"
        )
    for s in _SUFFIXES:
        if s != "test.index":  # a text file; the others are pickles
            check_pickle(raw / f"ind.{stem}.{s}")
    from torch_geometric.datasets import Planetoid

    work = planetoid_cache(name, raw, cache)
    link = work / name / "raw"
    link.mkdir(parents=True, exist_ok=True)
    for s in _SUFFIXES:  # (re)pointed at this root every time, atomically
        dst = link / f"ind.{stem}.{s}"
        tmp = dst.with_name(f"{dst.name}.tmp{os.getpid()}")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to((raw / f"ind.{stem}.{s}").resolve())
        os.replace(tmp, dst)
    with exclusive(work / ".process.lock"):  # PyG writes processed/ in place: one at a time
        return Planetoid(str(work), name)[0]


def planetoid_cache(name: str, raw: Path, cache: str | Path | None = None) -> Path:
    """The cache folder PyG processes ``raw`` in: named by the raw files' content, so that
    another root with the same files shares it and changed files never meet a stale
    ``processed/`` of other ones."""
    digest = hashlib.sha256()
    for s in _SUFFIXES:
        f = raw / f"ind.{PLANETOID[name]}.{s}"
        digest.update(f"{f.name} {f.stat().st_size}\n".encode())
        digest.update(f.read_bytes())
    return cache_dir(cache) / "planetoid" / f"{name}-{digest.hexdigest()[:16]}"


def _planetoid_globals() -> dict:
    from scipy.sparse import csr_matrix

    found: dict = {("collections", "defaultdict"): collections.defaultdict}
    for module in ("scipy.sparse.csr", "scipy.sparse._csr"):
        found[(module, "csr_matrix")] = csr_matrix
    for module in ("__builtin__", "builtins"):
        found[(module, "list")] = list
    return found


class PlanetoidUnpickler(RestrictedUnpickler):
    """The globals of the kimiyoung/planetoid pickles (Python 2): numpy arrays, a scipy CSR
    matrix, the adjacency dict ``defaultdict(list)``; every other global is refused."""

    what = "a Planetoid file"
    _allowed = {**RestrictedUnpickler._allowed, **_planetoid_globals()}


def check_pickle(path: Path) -> None:
    """Load ``path`` once with :class:`PlanetoidUnpickler`: PyG's reader then unpickles it with
    no restriction, so a file that would run code is refused here first (DataError)."""
    try:
        with open(path, "rb") as f:
            PlanetoidUnpickler(f, encoding="latin1").load()
    except pickle.UnpicklingError as e:
        raise DataError(f"{path}: refused or corrupt Planetoid file ({e})") from e
    except (EOFError, ValueError, TypeError, AttributeError, IndexError) as e:
        raise DataError(f"{path}: corrupt or truncated Planetoid file ({e})") from e


@dataclass
class LinkSplit:
    """Edges split 85/5/10 with as many sampled non-edges for validation and test.

    ``train_edge_index``: both directions of the training edges (message passing and target);
    ``train_pos``: one direction of each training edge; the rest are (2, E) pair lists.
    """

    train_edge_index: Tensor
    train_pos: Tensor
    val_pos: Tensor
    val_neg: Tensor
    test_pos: Tensor
    test_neg: Tensor


def split_edges(data, seed: int, val: float = 0.05, test: float = 0.10) -> LinkSplit:
    """PyG's ``RandomLinkSplit`` under ``seed``: the same split for every method and process.

    PyG draws the positive edges from torch's RNG and the negative pairs from Python's
    ``random`` (``negative_sampling``), so both are seeded; their states are restored afterwards
    so that model seeding stays independent.
    """
    from torch_geometric.transforms import RandomLinkSplit

    state, py_state = torch.get_rng_state(), random.getstate()
    torch.manual_seed(seed)
    random.seed(seed)
    try:
        tr, va, te = RandomLinkSplit(
            num_val=val,
            num_test=test,
            is_undirected=True,
            split_labels=True,
            add_negative_train_samples=False,
        )(data.clone())
    finally:
        torch.set_rng_state(state)
        random.setstate(py_state)
    return LinkSplit(
        train_edge_index=tr.edge_index,
        train_pos=tr.pos_edge_label_index,
        val_pos=va.pos_edge_label_index,
        val_neg=va.neg_edge_label_index,
        test_pos=te.pos_edge_label_index,
        test_neg=te.neg_edge_label_index,
    )
