"""Eval mode for a while: every submodule's own ``training`` flag restored afterwards (a frozen
teacher inside a method stays in eval mode; ``model.train(was)`` would flip it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


@contextmanager
def eval_mode(*models: nn.Module) -> Iterator[None]:
    """Put every submodule of ``models`` in eval mode; restore each one's flag afterwards."""
    modes = [(m, m.training) for model in models for m in model.modules()]
    for model in models:
        model.eval()
    try:
        yield
    finally:
        for m, mode in modes:
            m.training = mode
