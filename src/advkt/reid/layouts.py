"""The standard person re-ID folders, read into ``{"train", "query", "gallery"}`` lists of
:class:`Image` (path, person id, camera id), as their benchmarks define them.

- **Market-1501** (Zheng et al. 2015): ``<root>/Market-1501-v15.09.15/`` (or ``market1501/``) with
  ``bounding_box_train``, ``query``, ``bounding_box_test``; names ``0002_c1s1_000451_03.jpg``
  (person 2, camera 1). Person ``-1`` marks junk images (kept with id -1: the evaluation skips
  them), ``0000`` distractors (kept: wrong matches); neither is a training identity.
- **DukeMTMC-reID** (Zheng et al. 2017): ``<root>/DukeMTMC-reID/`` with the same three folders;
  names ``0001_c2_f0046182.jpg``.
- **CUHK03**, the new protocol (Zhong et al. 2017): ``<root>/cuhk03/`` with
  ``cuhk03_new_protocol_config_{labeled,detected}.mat`` (``filelist``, ``labels``, ``camId``,
  ``train_idx``, ``query_idx``, ``gallery_idx``, 1-based) and the images in
  ``images_{labeled,detected}/``.

Training identities are relabelled 0..n-1 (``Image.label``) for a classifier; query and gallery
keep the original ids. Camera ids are 0-based.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from advkt.data.base import DataError

_MARKET = re.compile(r"^(-1|\d+)_c(\d)s\d_\d+_\d+\.jpg$")
_DUKE = re.compile(r"^(\d+)_c(\d)_f\d+\.jpg$")
FOLDERS = {"train": "bounding_box_train", "query": "query", "gallery": "bounding_box_test"}


@dataclass(frozen=True)
class Image:
    path: Path
    pid: int  # the benchmark's person id (-1: junk)
    camid: int  # 0-based
    label: int = -1  # training identity 0..n-1 (train split only)


def _first_dir(root: Path, names: tuple[str, ...], dataset: str) -> Path:
    for n in names:
        if (root / n).is_dir():
            return root / n
    raise DataError(f"{dataset}: none of {', '.join(str(root / n) for n in names)} is a folder")


def _relabel(images: list[Image]) -> list[Image]:
    ids = sorted({im.pid for im in images})
    index = {p: i for i, p in enumerate(ids)}
    return [Image(im.path, im.pid, im.camid, index[im.pid]) for im in images]


def _bbox_folders(base: Path, pattern: re.Pattern, dataset: str) -> dict[str, list[Image]]:
    out = {}
    for split, folder in FOLDERS.items():
        d = base / folder
        if not d.is_dir():
            raise DataError(f"{dataset}: missing folder {d}")
        images = []
        for p in sorted(d.glob("*.jpg")):
            m = pattern.match(p.name)
            if m is None:
                raise DataError(
                    f"{dataset}: {p} does not follow the {dataset} file-name convention"
                )
            pid, cam = int(m.group(1)), int(m.group(2)) - 1
            if split == "train" and pid in (-1, 0):
                continue  # junk and distractors are no training identity
            images.append(Image(p, pid, cam))
        if not images:
            raise DataError(f"{dataset}: no images in {d}")
        out[split] = _relabel(images) if split == "train" else images
    return out


def market1501(root: str | Path) -> dict[str, list[Image]]:
    base = _first_dir(
        Path(root), ("Market-1501-v15.09.15", "market1501", "Market-1501"), "market1501"
    )
    return _bbox_folders(base, _MARKET, "market1501")


def dukemtmc(root: str | Path) -> dict[str, list[Image]]:
    base = _first_dir(Path(root), ("DukeMTMC-reID", "dukemtmc-reid", "dukemtmcreid"), "dukemtmc")
    return _bbox_folders(base, _DUKE, "dukemtmc")


def _string(f) -> str:
    """A MATLAB cell entry (nested arrays around one string) as a str."""
    while isinstance(f, np.ndarray):
        f = f.reshape(-1)[0]
    return str(f)


def cuhk03(root: str | Path, kind: str = "labeled") -> dict[str, list[Image]]:
    """CUHK03's new protocol (767 training / 700 test identities), ``kind`` labeled or detected."""
    if kind not in ("labeled", "detected"):
        raise DataError(f"cuhk03: kind must be 'labeled' or 'detected', got '{kind}'")
    try:
        from scipy.io import loadmat
    except ImportError:  # pragma: no cover - scipy comes with the da/graph extras
        raise DataError(
            "reading CUHK03's .mat protocol needs scipy: pip install 'advkt[da]'"
        ) from None
    base = _first_dir(Path(root), ("cuhk03", "CUHK03", "cuhk03-np"), "cuhk03")
    cfg_path = base / f"cuhk03_new_protocol_config_{kind}.mat"
    if not cfg_path.is_file():
        raise DataError(f"cuhk03: missing {cfg_path} (the new protocol of Zhong et al. 2017)")
    cfg = loadmat(str(cfg_path))
    need = ("filelist", "labels", "camId", "train_idx", "query_idx", "gallery_idx")
    missing = [k for k in need if k not in cfg]
    if missing:
        raise DataError(f"cuhk03: {cfg_path} lacks {', '.join(missing)}")
    names = [_string(f) for f in cfg["filelist"].reshape(-1)]
    pids = cfg["labels"].reshape(-1).astype(int)
    cams = cfg["camId"].reshape(-1).astype(int) - 1
    folder = base / f"images_{kind}"

    def split(key: str) -> list[Image]:
        idx = cfg[key].reshape(-1).astype(int) - 1
        if idx.size and (idx.min() < 0 or idx.max() >= len(names)):
            raise DataError(f"cuhk03: {key} indexes outside the {len(names)} files")
        return [Image(folder / names[i], int(pids[i]), int(cams[i])) for i in idx]

    return {
        "train": _relabel(split("train_idx")),
        "query": split("query_idx"),
        "gallery": split("gallery_idx"),
    }
