"""The package's shape: no import cycle in ``ltx_worker/``, no module past 400 lines.

A cycle hidden by a function-level import is still a cycle (issue 22: config <-> models.manifest,
tinymodels.ltx2 <-> tinymodels.control_ltx2), so the walk reads every import statement of every
module, at any depth, from its syntax tree; only ``if TYPE_CHECKING:`` blocks are exempt (they
never run). Nothing is imported to do it.
"""

from __future__ import annotations

import ast
from pathlib import Path

from ltx_worker.paths import PROJECT_ROOT

#: Folders whose modules must stay under `MAX_LINES` (tests/ and the tiny-weight builders, whose
#: docstrings carry the sizes' derivations, are exempt, as the developers' guide allows).
SMALL_MODULE_ROOTS = ("ltx_worker", "bench", "custom_nodes", "scripts")
SMALL_MODULE_EXEMPT = (PROJECT_ROOT / "ltx_worker" / "tinymodels",)
MAX_LINES = 400


def module_name(path: Path, root: Path = PROJECT_ROOT) -> str:
    """``<root>/ltx_worker/models/manifest.py`` -> ``ltx_worker.models.manifest`` (a package's
    ``__init__.py`` is the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imported_modules(path: Path, modules: set[str], root: Path = PROJECT_ROOT) -> set[str]:
    """The package modules that `path` imports anywhere (module level, functions, classes),
    outside ``if TYPE_CHECKING:`` blocks. ``from .x import y`` counts as importing ``x.y`` when
    that is a module, else ``x``."""
    name = module_name(path, root)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.orelse:
                    visit_one(stmt)
                continue
            visit_one(child)

    def visit_one(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in modules:
                    found.add(sub)
                elif target in modules:
                    found.add(target)
        visit(node)

    visit(ast.parse(path.read_text(), str(path)))
    found.discard(name)
    return found


def import_graph(root: Path = PROJECT_ROOT) -> dict[str, set[str]]:
    """Module -> the package modules it imports, for every module of ``<root>/ltx_worker``."""
    paths = {module_name(p, root): p for p in (root / "ltx_worker").rglob("*.py")}
    return {name: imported_modules(path, set(paths), root) for name, path in paths.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_the_walk_sees_function_level_imports_and_skips_type_checking(tmp_path):
    pkg = tmp_path / "ltx_worker"
    (pkg / "sub").mkdir(parents=True)
    for rel in ("__init__.py", "sub/__init__.py"):
        (pkg / rel).write_text("")
    (pkg / "a.py").write_text("def f():\n    from .sub import b\n")
    (pkg / "sub" / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                      "    from ..c import X\nelse:\n    import ltx_worker.a\n")
    (pkg / "c.py").write_text("class C:\n    def m(self):\n        from .sub.b import g\n")
    graph = import_graph(tmp_path)
    assert graph == {"ltx_worker": set(), "ltx_worker.sub": set(), "ltx_worker.a": {"ltx_worker.sub.b"},
                     "ltx_worker.sub.b": {"ltx_worker.a"}, "ltx_worker.c": {"ltx_worker.sub.b"}}
    assert cycles(graph) == [["ltx_worker.a", "ltx_worker.sub.b"]]


def test_no_import_cycle_in_the_package():
    found = cycles(import_graph())
    assert not found, "import cycles (function-level imports count): " + "; ".join(
        " <-> ".join(c) for c in found)


def test_no_module_past_400_lines():
    big = []
    for root in SMALL_MODULE_ROOTS:
        for path in sorted((PROJECT_ROOT / root).rglob("*.py")):
            if any(path.is_relative_to(e) for e in SMALL_MODULE_EXEMPT):
                continue
            lines = len(path.read_text().splitlines())
            if lines > MAX_LINES:
                big.append(f"{path.relative_to(PROJECT_ROOT)}: {lines}")
    assert not big, f"modules past {MAX_LINES} lines (split them by concern): {big}"
