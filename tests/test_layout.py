"""The layout rules of docs/architecture.md, checked on the source: no module of the library
imports ``benchmarks``, a method never imports the engine or another method, no package imports
another one's underscore names, and the imports (module-level and late ones alike) form no
circle."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def _modules() -> dict[str, Path]:
    out = {}
    for p in (SRC / "advkt").rglob("*.py"):
        parts = list(p.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _imports(path: Path) -> list[tuple[str, str | None]]:
    """(module, name) of every import in the file, wherever it stands."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out += [(node.module, a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            out += [(a.name, None) for a in node.names]
    return out


MODULES = _modules()


def _package(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def test_no_module_imports_benchmarks_and_no_method_imports_the_engine():
    for m, p in MODULES.items():
        for mod, _ in _imports(p):
            assert not mod.startswith("benchmarks"), (m, mod)
            if m.startswith("advkt.methods."):
                assert not mod.startswith("advkt.engine"), (m, mod)
                # one method never builds on another's file: shared parts live in the bases
                if mod.startswith("advkt.methods."):
                    assert mod in ("advkt.methods.base", "advkt.methods.masked_pruning"), (m, mod)


def test_no_package_imports_another_ones_private_names():
    for m, p in MODULES.items():
        for mod, name in _imports(p):
            if not mod.startswith("advkt") or _package(mod) == _package(m):
                continue
            private = [x for x in [*mod.split(".")[1:], name or ""] if x.startswith("_")]
            assert private in ([], ["__version__"]), (m, mod, name)


def test_imports_form_no_circle():
    graph = {}
    for m, p in MODULES.items():
        targets = set()
        for mod, name in _imports(p):
            if mod.startswith("advkt"):
                full = f"{mod}.{name}"
                targets.add(full if full in MODULES else mod)
        graph[m] = {t for t in targets if t in MODULES and t != m}

    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for t in sorted(graph[m]):
            assert state.get(t) != 1, "import circle: " + " -> ".join([*path, t])
            if t not in state:
                visit(t, [*path, t])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
