"""Private plumbing: register a backbone factory and stamp its rebuild spec on the model.

Every public factory has the signature ``fn(num_classes=10, in_channels=3, **kw) -> nn.Module``.
:func:`model_factory` wraps it so that unknown arguments fail with a plain message and the built
model carries ``spec`` = every argument after defaults are applied (JSON-ready), which
``advkt.models.build_model`` turns back into the same architecture.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from torch import nn

from advkt.registry import register_model


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


def model_factory(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Register ``fn`` under ``name``; the returned factory validates kwargs and sets ``spec``."""

    def deco(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def factory(*args: Any, **kw: Any) -> nn.Module:
            try:
                bound = sig.bind(*args, **kw)
            except TypeError as err:
                valid = ", ".join(sig.parameters)
                raise ValueError(
                    f"model '{name}': bad arguments {sorted(kw)} ({err}); valid arguments: {valid}"
                ) from None
            bound.apply_defaults()
            for key in ("num_classes", "in_channels"):
                value = bound.arguments.get(key)
                if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                    raise ValueError(
                        f"model '{name}': {key} must be an integer >= 1, got {value!r}"
                    )
            net = fn(*bound.args, **bound.kwargs)
            net.spec = {"name": name, **{k: _jsonable(v) for k, v in bound.arguments.items()}}
            return net

        register_model(name)(factory)
        return factory

    return deco
