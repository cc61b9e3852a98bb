from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    """The tiny forwards here run faster on one thread, and far faster on a shared, loaded box
    (two OpenMP threads on busy cores made one forward 100x slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
