from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ADVKT_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only benchmark data beside the checkout (../shared/data)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"no benchmark data at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """One intra-op thread: the suite's models are tiny, and on a shared 2-core machine a second
    thread only adds contention (measured 17x slower under load)."""
    import torch

    torch.set_num_threads(1)
