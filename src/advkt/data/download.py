"""Downloads of the public formats, with checksums. Off by default: loaders call this only when
asked with ``download=True``.

A mirror (``base_url=`` or ``$ADVKT_MIRROR``) is any HTTP(S) or file URL that serves a copy of a
data root: file ``<mirror>/<path>`` for each resource's ``path`` below (e.g.
``<mirror>/mnist/MNIST/raw/train-images-idx3-ubyte.gz``), so serving an existing data root makes
a mirror.

Checksums: the MNIST ``.gz`` MD5s are the ones torchvision's ``MNIST.resources`` lists; the MD5s
of the uncompressed IDX files are the published ones (also in ../shared/data/README.md). A gzip
file whose own MD5 differs (a mirror that recompressed the files) is accepted only when its
decompressed content has the published MD5. CIFAR tarball MD5s are torchvision's
(``CIFAR10.tgz_md5``, ``CIFAR100.tgz_md5``). The USPS MD5s are those of the Elements of
Statistical Learning files as redistributed in dgkim5360/the-elements-of-statistical-learning-
notebooks (2c13a481).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import tarfile
import tempfile
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

from advkt.data.base import DataError

MIRROR_ENV = "ADVKT_MIRROR"
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Resource:
    """One remote file: its official URL, where it lands under the data root, its checksums."""

    url: str
    path: str  # relative to the data root (and to a mirror)
    md5: str
    raw_md5: str | None = None  # MD5 of the gunzipped content, for .gz files
    extract: bool = False  # a tarball unpacked into the data root after the download


_MNIST = "https://ossci-datasets.s3.amazonaws.com/mnist/"
_ESL = "https://hastie.su.domains/ElemStatLearn/datasets/"
_KRIZ = "https://www.cs.toronto.edu/~kriz/"

RESOURCES: dict[str, tuple[Resource, ...]] = {
    "mnist": (
        Resource(
            _MNIST + "train-images-idx3-ubyte.gz",
            "mnist/MNIST/raw/train-images-idx3-ubyte.gz",
            "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "6bbc9ace898e44ae57da46a324031adb",
        ),
        Resource(
            _MNIST + "train-labels-idx1-ubyte.gz",
            "mnist/MNIST/raw/train-labels-idx1-ubyte.gz",
            "d53e105ee54ea40749a09fcbcd1e9432",
            "a25bea736e30d166cdddb491f175f624",
        ),
        Resource(
            _MNIST + "t10k-images-idx3-ubyte.gz",
            "mnist/MNIST/raw/t10k-images-idx3-ubyte.gz",
            "9fb629c4189551a2d022fa330f9573f3",
            "2646ac647ad5339dbf082846283269ea",
        ),
        Resource(
            _MNIST + "t10k-labels-idx1-ubyte.gz",
            "mnist/MNIST/raw/t10k-labels-idx1-ubyte.gz",
            "ec29112dd5afa0611ce80d1b7f02629c",
            "27ae3e4e09519cfbb04c329615203637",
        ),
    ),
    "usps": (
        Resource(_ESL + "zip.train.gz", "usps/zip.train.gz", "206835541ea704bcfb4b6eea872678bf"),
        Resource(_ESL + "zip.test.gz", "usps/zip.test.gz", "f9350e940232b89f1dc8f8eacac88625"),
    ),
    "cifar10": (
        Resource(
            _KRIZ + "cifar-10-python.tar.gz",
            "cifar-10-python.tar.gz",
            "c58f30108f718f92721af3b95e74349a",
            extract=True,
        ),
    ),
    "cifar100": (
        Resource(
            _KRIZ + "cifar-100-python.tar.gz",
            "cifar-100-python.tar.gz",
            "eb9058c3a382ffc7106e4002c42a8d85",
            extract=True,
        ),
    ),
}


def _digest(path: Path, algo: str, gunzip: bool = False) -> str:
    h = hashlib.new(algo)
    opener = gzip.open if gunzip else open
    with opener(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _verified(path: Path, sha256: str | None, md5: str | None, raw_md5: str | None) -> bool:
    ok = not (sha256 and _digest(path, "sha256") != sha256.lower())
    ok = ok and not (md5 and _digest(path, "md5") != md5.lower())
    if not ok and raw_md5:
        try:
            return _digest(path, "md5", gunzip=True) == raw_md5.lower()
        except (OSError, EOFError, zlib.error):
            return False
    return ok


def fetch(
    url: str,
    dest: str | Path,
    sha256: str | None = None,
    md5: str | None = None,
    raw_md5: str | None = None,
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Stream ``url`` to ``dest`` and verify it; return ``dest``.

    The bytes go to a temp file beside ``dest`` while their SHA-256/MD5 is computed, and are moved
    into place with ``os.replace`` only once every given checksum matches, so ``dest`` is either
    absent or complete. ``raw_md5`` (gzip files) accepts a file whose own MD5 differs when its
    decompressed content has this MD5. A ``dest`` that already verifies is not fetched again.
    Raises DataError naming the URL on a network error or a checksum mismatch.
    """
    from tqdm import tqdm

    dest = Path(dest)
    if dest.is_file() and (sha256 or md5) and _verified(dest, sha256, md5, raw_md5):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    hashes = {"sha256": hashlib.sha256(), "md5": hashlib.md5()}
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            total = int(resp.headers.get("Content-Length") or 0) or None
            with tqdm(
                total=total, unit="B", unit_scale=True, desc=dest.name, disable=not progress
            ) as bar:
                for block in iter(lambda: resp.read(_CHUNK), b""):
                    out.write(block)
                    for h in hashes.values():
                        h.update(block)
                    bar.update(len(block))
        got = {k: h.hexdigest() for k, h in hashes.items()}
        bad = [
            f"{algo} expected {want.lower()}, got {got[algo]}"
            for algo, want in (("sha256", sha256), ("md5", md5))
            if want and got[algo] != want.lower()
        ]
        if bad and raw_md5:
            try:
                raw = _digest(tmp, "md5", gunzip=True)
            except (OSError, EOFError, zlib.error) as e:
                raw = f"unreadable gzip ({e})"
            if raw == raw_md5.lower():
                bad = []
            else:
                bad.append(f"md5 of the gunzipped content expected {raw_md5.lower()}, got {raw}")
        if bad:
            raise DataError(
                f"checksum mismatch for {url}: {'; '.join(bad)}. The file was not saved to {dest}."
            )
        os.replace(tmp, dest)
    except (OSError, http.client.HTTPException) as e:  # URLError is an OSError
        raise DataError(f"could not download {url} to {dest}: {e!r}") from e
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _extract(archive: Path, into: Path) -> None:
    """Unpack a tarball, refusing members that would land outside ``into`` or are not plain."""
    try:
        with tarfile.open(archive) as tf:
            if hasattr(tarfile, "data_filter"):
                tf.extractall(into, filter="data")
                return
            root = into.resolve()
            for m in tf.getmembers():
                target = (into / m.name).resolve()
                if not (m.isfile() or m.isdir()) or not target.is_relative_to(root):
                    raise DataError(f"{archive}: refusing to extract member {m.name!r}")
            tf.extractall(into)
    except (tarfile.TarError, EOFError, OSError) as e:
        raise DataError(f"{archive}: corrupt archive ({e})") from e


def mirror_url(base_url: str | None = None) -> str | None:
    """The mirror to use: ``base_url`` if given, else ``$ADVKT_MIRROR``, else None (official)."""
    return base_url or os.environ.get(MIRROR_ENV) or None


def download(
    name: str, root: str | Path, base_url: str | None = None, progress: bool = True
) -> list[Path]:
    """Fetch (and unpack) dataset ``name`` into the data root ``root``; return the files.

    Sources: the official URLs in ``RESOURCES``, or ``<mirror>/<path>`` when a mirror is set.
    """
    if name not in RESOURCES:
        raise DataError(
            f"no download is known for dataset '{name}'; downloadable: {', '.join(RESOURCES)}"
        )
    root = Path(root)
    mirror = mirror_url(base_url)
    out = []
    for r in RESOURCES[name]:
        url = f"{mirror.rstrip('/')}/{r.path}" if mirror else r.url
        dest = fetch(url, root / r.path, md5=r.md5, raw_md5=r.raw_md5, progress=progress)
        if r.extract:
            _extract(dest, root)
        out.append(dest)
    return out
