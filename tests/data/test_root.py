from __future__ import annotations

from pathlib import Path

import pytest

from advkt.data import resolve_root
from advkt.data.cache import cache_dir, source_key
from advkt.registry import DATASETS, UnknownNameError


def test_resolve_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ADVKT_DATA", raising=False)
    assert resolve_root(None) == Path("data")
    monkeypatch.setenv("ADVKT_DATA", "/srv/data")
    assert resolve_root(None) == Path("/srv/data")
    assert resolve_root("/mine") == Path("/mine")


def test_every_loader_registered() -> None:
    names = set(DATASETS.names())
    assert {"mnist", "usps", "cifar10", "cifar100", "webdataset", "imagefolder", "mnist1d"} <= names
    with pytest.raises(UnknownNameError, match="unknown dataset 'mnits'"):
        DATASETS.get("mnits")


def test_cache_dir_and_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVKT_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("ADVKT_CACHE")
    assert cache_dir() == Path.home() / ".cache" / "advkt"
    f = tmp_path / "a.tar"
    f.write_bytes(b"1234")
    k1 = source_key([f])
    assert source_key([f]) == k1 and source_key([f], extra="L") != k1
    f.write_bytes(b"12345")
    assert source_key([f]) != k1
