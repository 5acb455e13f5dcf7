"""The import graph: layers only import downward (indexer < service < eval, mcp_server < the `ragsql` entry)
and no module imports itself back through others. Every import counts, those inside functions too."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

LAYERS = {"indexer": 0, "service": 1, "eval": 2, "mcp_server": 2, "ragsql": 3}


def project_modules() -> dict[str, Path]:
    modules = {"ragsql": REPO / "ragsql.py"}
    for package in ("indexer", "service", "eval", "mcp_server"):
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        found |= {name for name in names if name in modules}
    return found


def test_no_layer_imports_one_above_it() -> None:
    modules = project_modules()
    def crosses(module: str, target: str) -> bool:  # upward, or sideways into a sibling layer
        source, into = module.split(".")[0], target.split(".")[0]
        return LAYERS[into] > LAYERS[source] or (LAYERS[into] == LAYERS[source] and into != source)

    upward = [f"{module} -> {target}" for module, path in modules.items()
              for target in imports_of(path, modules) if crosses(module, target)]
    assert not upward, upward


def test_the_import_graph_has_no_cycle() -> None:
    modules = project_modules()
    graph = {m: imports_of(p, modules) - {m} for m, p in modules.items()}
    # a package's __init__ re-exporting its own submodules is not a cycle of the code's layering
    graph = {m: {t for t in targets if not (t.startswith(m + ".") and modules[m].name == "__init__.py")}
             for m, targets in graph.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target):], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, cycles
