"""mlotel's packages form layers: each imports only packages below it (lazy imports
included), so no two packages import each other and lower layers never import the monitor.

Modules at the top of the package (``mlotel._faults``, ``mlotel._semconv``, ...) are shared
plumbing any layer may use; the public ``mlotel`` namespace itself is imported by none.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: Lowest first. A package may import packages of a lower rank only.
RANKS = {
    "sketches": 0,
    "data": 1,
    "performance": 2,
    "engines": 2,
    "export": 2,
    "resources": 2,
    "drift": 3,
    "outcomes": 3,
    "monitor": 4,
    "report": 4,
    "sensitivity": 4,
    "instrumentation": 5,
    "demo": 6,
    "cli": 7,
}
#: Packages that use mlotel as an application does, through its public namespace.
APPLICATIONS = {"demo", "cli"}


def _modules() -> dict[str, Path]:
    mods = {}
    for path in (SRC / "mlotel").rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        mods[name] = path
    return mods


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """Every mlotel module ``path`` imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "mlotel":
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "mlotel")
    return found


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in RANKS) else None


def test_every_package_has_a_layer():
    packages = {p.parent.name for p in (SRC / "mlotel").glob("*/__init__.py")}
    assert packages <= set(RANKS), f"give {sorted(packages - set(RANKS))} a rank in RANKS"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _package(m) is not None))
def test_imports_only_lower_layers(module):
    own = _package(module)
    upward = []
    for imported in _imports(MODULES[module]):
        if imported == "mlotel" and own not in APPLICATIONS:
            upward.append("mlotel (the public namespace)")
            continue
        other = _package(imported)
        if other is not None and other != own and RANKS[other] >= RANKS[own]:
            upward.append(imported)
    assert not upward, f"{module} ({own}, rank {RANKS[own]}) imports {sorted(upward)}"


def test_no_module_cycles():
    graph = {m: {i for i in _imports(p) if i in MODULES} for m, p in MODULES.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    assert not cycles, f"modules importing each other: {cycles}"
