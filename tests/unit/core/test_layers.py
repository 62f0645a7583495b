"""The import layers of migrex: no two packages import each other, directly or round a loop.

A "package" here is the first name under `migrex`: a feature package (`casework`, `audit`,
...) or a top-level module (`errors`, `node`, ...). The top-level modules are the base every
feature stands on, so they import no feature; `cli`, `schema` and `__main__` assemble every
feature and stand above them all. Imports are read from the source with `ast`, including
those inside functions and under `TYPE_CHECKING`: a deferred import is still a dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping, Set
from pathlib import Path

import pytest

import migrex

SOURCE = Path(migrex.__file__).parent

# Modules that import every feature to put the node together.
ASSEMBLERS = frozenset({"cli", "schema", "__main__"})

# The agreement is the node's constitution: `Node` loads the node's agreements at start-up
# and every feature checks its work against them, so the base may import `agreements`, which
# in turn may import only the base.
KERNEL = frozenset({"agreements"})

# Imports that still close a cycle, each to be removed by the change that breaks it. The
# test fails on any other cycle, and on an entry here that no longer exists, so the list can
# only shrink. Each names its importer, what it imports, and the issue that removes it.
OPEN_CYCLES: Mapping[tuple[str, str], str] = {}


def module_name(path: Path, source: Path) -> str:
    parts = path.relative_to(source.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[str, int]]:
    """Every module name the source imports, with its line; `from a import b` yields both
    `a` and `a.b`, since `b` may be a module."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            yield base, node.lineno
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno


def top_name(name: str) -> str | None:
    """The first name under `migrex`, or None for an import from outside migrex."""
    parts = name.split(".")
    if parts[0] != "migrex" or len(parts) < 2:
        return None
    return parts[1]


def package_imports(source: Path) -> dict[str, dict[str, list[str]]]:
    """importer -> imported -> the `path:line`s of the imports, between first names only.
    Every package is a key, even one that imports no other."""
    graph: dict[str, dict[str, set[tuple[str, int]]]] = {}
    for path in sorted(source.rglob("*.py")):
        module = module_name(path, source)
        importer = top_name(module)
        if importer is None:
            continue
        targets = graph.setdefault(importer, {})
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for name, line in imported_names(tree, module, path.name == "__init__.py"):
            imported = top_name(name)
            if imported is not None and imported != importer and _exists(source, imported):
                targets.setdefault(imported, set()).add(
                    (str(path.relative_to(source.parent)), line)
                )
    return {
        importer: {
            imported: [f"{file}:{line}" for file, line in sorted(places)]
            for imported, places in sorted(targets.items())
        }
        for importer, targets in sorted(graph.items())
    }


def _exists(source: Path, name: str) -> bool:
    return (source / name).is_dir() or (source / f"{name}.py").is_file()


def cycles(graph: Mapping[str, Set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted: every
    package in one can reach every other, so each is one cycle or several tangled."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    nodes = set(graph) | {t for targets in graph.values() for t in targets}
    for node in sorted(nodes):
        if node not in index:
            visit(node)
    return sorted(found)


def without(
    graph: Mapping[str, Mapping[str, list[str]]], edges: Set[tuple[str, str]]
) -> dict[str, set[str]]:
    return {
        importer: {imported for imported in targets if (importer, imported) not in edges}
        for importer, targets in graph.items()
    }


def is_base(name: str) -> bool:
    return (SOURCE / f"{name}.py").is_file() and name not in ASSEMBLERS


# --- the cycle finder itself, on small graphs whose cycles are known -------------------------


def test_cycle_finder_finds_a_direct_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"a"}}) == [["a", "b"]]


def test_cycle_finder_finds_a_longer_cycle_and_nothing_outside_it() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"d", "a"}, "d": set(), "e": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_cycle_finder_keeps_separate_cycles_apart() -> None:
    graph = {"a": {"b"}, "b": {"a", "c"}, "c": {"d"}, "d": {"c"}, "x": {"y"}, "y": set()}
    assert cycles(graph) == [["a", "b"], ["c", "d"]]


def test_cycle_finder_accepts_a_layered_graph() -> None:
    graph = {"cli": {"web", "casework", "errors"}, "web": {"casework"}, "casework": {"errors"}}
    assert cycles(graph) == []


def test_removing_the_allowed_edge_breaks_the_cycle_and_only_that_one() -> None:
    graph = {"a": {"b": ["a.py:1"]}, "b": {"a": ["b.py:1"], "c": ["b.py:2"]}, "c": {"b": ["c"]}}
    assert cycles(without(graph, {("b", "a")})) == [["b", "c"]]


def test_imports_are_read_from_every_form(tmp_path: Path) -> None:
    package = tmp_path / "migrex"
    (package / "alpha").mkdir(parents=True)
    (package / "beta").mkdir()
    (package / "__init__.py").write_text("")
    (package / "errors.py").write_text("")
    (package / "beta" / "__init__.py").write_text("")
    (package / "beta" / "model.py").write_text("from migrex import errors\n")
    (package / "alpha" / "__init__.py").write_text("from . import model\n")
    (package / "alpha" / "model.py").write_text(
        "import json\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import migrex.errors\n"
        "def late() -> None:\n    from migrex.beta.model import x\n"
        "from ..beta import model\n"
    )
    graph = package_imports(package)
    assert {k: sorted(v) for k, v in graph.items()} == {
        "alpha": ["beta", "errors"],
        "beta": ["errors"],
        "errors": [],
    }
    assert graph["alpha"]["beta"] == ["migrex/alpha/model.py:6", "migrex/alpha/model.py:7"]


# --- the tree ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graph() -> dict[str, dict[str, list[str]]]:
    return package_imports(SOURCE)


def test_no_import_cycle_between_packages(graph: dict[str, dict[str, list[str]]]) -> None:
    remaining = cycles(without(graph, set(OPEN_CYCLES)))
    report = [
        f"{' <-> '.join(cycle)}: "
        + "; ".join(
            f"{a} -> {b} ({', '.join(graph[a][b][:3])})"
            for a in cycle
            for b in cycle
            if b in graph.get(a, {}) and (a, b) not in OPEN_CYCLES
        )
        for cycle in remaining
    ]
    assert not remaining, "import cycles between packages:\n" + "\n".join(report)


def test_every_open_cycle_is_still_open(graph: dict[str, dict[str, list[str]]]) -> None:
    tangled = cycles({importer: set(targets) for importer, targets in graph.items()})
    closed = [
        f"{importer} -> {imported}"
        for importer, imported in OPEN_CYCLES
        if imported not in graph.get(importer, {})
        or not any(importer in cycle and imported in cycle for cycle in tangled)
    ]
    assert not closed, (
        f"these imports no longer close a cycle; remove them from OPEN_CYCLES: {closed}"
    )


def test_the_base_imports_no_feature(graph: dict[str, dict[str, list[str]]]) -> None:
    wrong = {
        f"{importer} -> {imported}": where
        for importer, targets in graph.items()
        if is_base(importer)
        for imported, where in targets.items()
        if not is_base(imported) and imported not in KERNEL
    }
    assert not wrong, f"base modules importing features: {wrong}"


def test_the_kernel_imports_only_the_base(graph: dict[str, dict[str, list[str]]]) -> None:
    wrong = {
        f"{importer} -> {imported}": where
        for importer in KERNEL
        for imported, where in graph.get(importer, {}).items()
        if not is_base(imported) and (importer, imported) not in OPEN_CYCLES
    }
    assert not wrong, f"the kernel importing features: {wrong}"
