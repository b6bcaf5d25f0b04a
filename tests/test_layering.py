"""The layering the folders show: voxlens.core at the bottom, the stages (collectors, sentiment, metrics,
models) on it, the app (pipeline, scheduler, reports, CLI) on top; no import cycles; one namespace."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"voxlens": "voxlens", "voxlens.sentiment": "sentiment", "voxlens.collectors": "collectors",
            "voxlens.metrics": "metrics", "voxlens.models": "models"}
STAGES = ("voxlens.collectors", "voxlens.sentiment", "voxlens.metrics", "voxlens.models")
BARE = {"sentiment", "collectors", "metrics", "models"}


def module_files() -> dict[str, Path]:
    """Every installed module's name and file."""
    modules = {}
    for package, folder in PACKAGES.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            name = ".".join((package, *parts)).removesuffix(".__init__")
            modules[name] = path
    return modules


MODULES = module_files()


def imported_names(path: Path) -> set[str]:
    """Every module a file imports, at any depth (imports inside functions count too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def internal_imports(name: str) -> set[str]:
    """The installed modules ``name`` imports (a package's own submodules aside; the root package, which
    every subpackage's import runs, holds only the version)."""
    found = set()
    for imported in imported_names(MODULES[name]):
        while imported and imported not in MODULES:
            imported = imported.rpartition(".")[0]
        is_own_submodule = MODULES[name].name == "__init__.py" and imported.startswith(name + ".")
        if imported not in ("", "voxlens", name) and not is_own_submodule:
            found.add(imported)
    return found


GRAPH = {name: internal_imports(name) for name in MODULES}


def layer(name: str) -> int:
    if name.startswith("voxlens.core"):
        return 0
    if name.startswith(STAGES):
        return 1
    return 2


def test_no_module_imports_the_bare_stage_names():
    offenders = {name: sorted(n for n in imported_names(path) if n.split(".")[0] in BARE)
                 for name, path in MODULES.items()}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_no_import_cycles():
    order, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node: str) -> None:      # Tarjan's strongly connected components
        order[node] = low[node] = len(order)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
            if target not in order:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], order[target])
        if low[node] == order[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for name in sorted(GRAPH):
        if name not in order:
            visit(name)
    assert cycles == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_a_module_imports_nothing_from_a_layer_above_it(name):
    above = sorted(target for target in GRAPH[name] if layer(target) > layer(name))
    assert above == [], f"{name} (layer {layer(name)}) imports {above}"


def test_the_core_holds_the_store_errors_ids_and_privacy():
    assert {"voxlens.core.store", "voxlens.core.errors", "voxlens.core.ids", "voxlens.core.privacy"} <= set(MODULES)
