from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every data test caches into its own folder unless it asks for another."""
    cache = tmp_path / "advkt-cache"
    monkeypatch.setenv("ADVKT_CACHE", str(cache))
    return cache


@pytest.fixture(scope="session")
def cifar10_real(shared_data: Path):
    """CIFAR-10 train and test decoded from the real shards once per session (the default cache
    folder, or $ADVKT_CACHE as set outside the tests, keeps later sessions fast)."""
    from advkt.data import load

    # Session fixtures are set up before the function-scoped cache fixture above.
    return load("cifar10", shared_data, "train"), load("cifar10", shared_data, "test")
