"""Decorator registries: ``@register_model``, ``@register_method``, ``@register_dataset``.

A registry maps a name to a factory. Modules register themselves on import; ``get`` imports the
package that holds the registered objects first, so a name is found without the caller importing
anything by hand.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


class UnknownNameError(KeyError):
    """A name that no registry entry has; the message lists the valid choices."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want the plain sentence
        return str(self.args[0])


class Registry:
    def __init__(self, kind: str, package: str) -> None:
        self.kind = kind
        self.package = package  # imported on first lookup so that its modules register
        self._items: dict[str, Callable[..., Any]] = {}

    def register(self, name: str | None = None) -> Callable[[Callable[..., Any]], Any]:
        def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
            key = name or fn.__name__
            if key in self._items and self._items[key] is not fn:
                raise ValueError(f"{self.kind} '{key}' is registered twice")
            self._items[key] = fn
            return fn

        return deco

    def _load(self) -> None:
        importlib.import_module(self.package)

    def names(self) -> list[str]:
        self._load()
        return sorted(self._items)

    def get(self, name: str) -> Callable[..., Any]:
        self._load()
        if name not in self._items:
            valid = ", ".join(sorted(self._items))
            raise UnknownNameError(f"unknown {self.kind} '{name}'; valid {self.kind}s: {valid}")
        return self._items[name]


MODELS = Registry("model", "advkt.models")
METHODS = Registry("method", "advkt.methods")
DATASETS = Registry("dataset", "advkt.data")

register_model = MODELS.register
register_method = METHODS.register
register_dataset = DATASETS.register
