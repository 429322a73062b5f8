"""The package's shape: layers import only downward and no module imports another in a cycle.

Every import statement counts, those inside functions and under ``if TYPE_CHECKING`` included, since a
hidden import still ties two modules together. Imports inside functions are allowed only for optional
dependencies (``OPTIONAL``), and must say so in a comment on the line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "nstr"

#: Layers from the bottom up; a module may import its own layer (without cycles) and any layer below.
LAYERS = [("core",), ("nn",), ("render",), ("models",), ("signals",), ("train",), ("inspect", "fresh", "bench"),
          ("cli",)]
#: Third-party packages that are optional extras: imported inside the function that needs them.
OPTIONAL = {"ray", "tinycudann", "siren_pytorch", "tensorboard", "torch.utils.tensorboard"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def rank(module: str) -> int:
    """The layer of ``nstr.<layer>...``; the top-level package (the public API) sits above everything."""
    parts = module.split(".")
    if len(parts) == 1:
        return len(LAYERS)
    return next(i for i, names in enumerate(LAYERS) if parts[1] in names)


def imported_modules(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The nstr modules an import statement loads (``from pkg import sub`` names the submodule)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "nstr"]
    base = node.module or ""
    if node.level:  # relative import
        package = module.split(".")[: len(module.split(".")) - node.level + (MODULES[module].name == "__init__.py")]
        base = ".".join(package + ([node.module] if node.module else []))
    if base.split(".")[0] != "nstr":
        return []
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]


def all_imports() -> dict[str, list[tuple[str, int, bool]]]:
    """module -> [(imported nstr module, line, inside a function)]."""
    found: dict[str, list[tuple[str, int, bool]]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text())
        nested = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                  for n in ast.walk(f)}
        found[module] = [(target, node.lineno, id(node) in nested) for node in ast.walk(tree)
                         if isinstance(node, (ast.Import, ast.ImportFrom))
                         for target in imported_modules(module, node)]
    return found


def test_the_scan_sees_the_package_and_imports_inside_functions():
    imports = all_imports()
    assert len(MODULES) > 50 and "nstr.core.errors" in MODULES and "nstr.cli.main" in MODULES
    assert any(target == "nstr.core.errors" for target, _, _ in imports["nstr.train.fit"])


def test_layers_import_only_downward():
    upward = [f"{module}:{line} imports {target}" for module, targets in all_imports().items()
              for target, line, _ in targets if rank(target) > rank(module)]
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_no_import_cycles():
    graph = {module: {t for t, _, _ in targets if t != module} for module, targets in all_imports().items()}
    cycles = [c for c in strongly_connected(graph) if len(c) > 1]
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(sorted(c)) for c in cycles)


def test_imports_inside_functions_only_for_optional_dependencies():
    offenders = []
    for module, path in MODULES.items():
        lines = path.read_text().splitlines()
        for f in ast.walk(ast.parse(path.read_text())):
            if not isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(f):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    name = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                    if name not in OPTIONAL or "optional" not in lines[node.lineno - 1]:
                        offenders.append(f"{module}:{node.lineno} {name}")
    assert not offenders, "imports inside functions (move them to the top):\n" + "\n".join(sorted(set(offenders)))


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            components.append(component)

    for v in graph:
        if v not in index:
            visit(v)
    return components


@pytest.mark.parametrize("graph,expected", [
    ({"a": {"b"}, "b": {"a"}, "c": {"a"}}, [{"a", "b"}]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"d"}}, [{"a", "b", "c"}]),
])
def test_cycle_finder_on_hand_made_graphs(graph, expected):
    assert [c for c in strongly_connected(graph) if len(c) > 1] == expected
