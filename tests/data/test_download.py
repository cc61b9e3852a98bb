from __future__ import annotations

import functools
import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from advkt.data import DataError, load
from advkt.data.download import RESOURCES, download, fetch

RAW = "mnist/MNIST/raw"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def mirror(shared_data: Path) -> Iterator[str]:
    """A local HTTP server on 127.0.0.1 (free port) serving ../shared/data read-only."""
    handler = functools.partial(_QuietHandler, directory=str(shared_data))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_fetch_streams_and_verifies(mirror: str, shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / RAW / "train-labels-idx1-ubyte.gz"
    dest = tmp_path / "sub" / "labels.gz"
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    out = fetch(f"{mirror}/{RAW}/{src.name}", dest, sha256=sha, md5=_md5(src), progress=False)
    assert out == dest and dest.read_bytes() == src.read_bytes()
    assert [p.name for p in dest.parent.iterdir()] == ["labels.gz"]  # no temp file left


def test_fetch_wrong_checksum_raises_and_saves_nothing(mirror: str, tmp_path: Path) -> None:
    dest = tmp_path / "t10k-labels-idx1-ubyte.gz"
    pattern = r"checksum mismatch for http://127\.0\.0\.1:\d+/.*md5 expected 0{32}, got \w{32}"
    with pytest.raises(DataError, match=pattern):
        fetch(f"{mirror}/{RAW}/{dest.name}", dest, md5="0" * 32, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_fetch_missing_url(mirror: str, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"could not download .*nope\.gz.*404"):
        fetch(f"{mirror}/nope.gz", tmp_path / "nope.gz", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_mnist_download_from_mirror(mirror: str, shared_data: Path, tmp_path: Path) -> None:
    """The mirror's .gz files are recompressed (their MD5 is not torchvision's), so they pass
    on the published MD5 of their uncompressed content."""
    files = download("mnist", tmp_path, base_url=mirror, progress=False)
    assert [f.name for f in files] == [Path(r.path).name for r in RESOURCES["mnist"]]
    for f in files:
        assert f.read_bytes() == (shared_data / RAW / f.name).read_bytes()
    d = load("mnist", tmp_path, "test")
    assert d.x.shape == (10000, 1, 28, 28) and d.x.dtype == torch.uint8


def test_mnist_download_rejects_other_content(
    mirror: str, shared_data: Path, tmp_path: Path
) -> None:
    """Serve a data root whose 'MNIST' train labels are the test labels: both checks fail."""
    fake = tmp_path / "fake" / RAW
    fake.mkdir(parents=True)
    (fake / "train-labels-idx1-ubyte.gz").write_bytes(
        (shared_data / RAW / "t10k-labels-idx1-ubyte.gz").read_bytes()
    )
    handler = functools.partial(_QuietHandler, directory=str(tmp_path / "fake"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{RAW}/train-labels-idx1-ubyte.gz"
        r = RESOURCES["mnist"][1]
        with pytest.raises(DataError, match="md5 of the gunzipped content expected a25bea73"):
            fetch(url, tmp_path / "out.gz", md5=r.md5, raw_md5=r.raw_md5, progress=False)
    finally:
        server.shutdown()
        server.server_close()
    assert not (tmp_path / "out.gz").exists()


def test_loader_download_flag_uses_env_mirror(
    mirror: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADVKT_MIRROR", mirror)
    with pytest.raises(DataError, match="missing"):
        load("usps", tmp_path, "test")  # off by default: nothing is fetched
    d = load("usps", tmp_path, "test", download=True)
    assert len(d) == 2007 and (tmp_path / "usps" / "zip.test.gz").is_file()


def test_official_table() -> None:
    urls = {r.url for rs in RESOURCES.values() for r in rs}
    assert all(u.startswith("https://") for u in urls)
    assert {r.md5 for r in RESOURCES["mnist"]} == {
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "d53e105ee54ea40749a09fcbcd1e9432",
        "9fb629c4189551a2d022fa330f9573f3",
        "ec29112dd5afa0611ce80d1b7f02629c",
    }
    with pytest.raises(DataError, match="no download is known for dataset 'imagenet'"):
        download("imagenet", "unused")
