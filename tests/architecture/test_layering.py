"""The house rules of docs/internals.md, read from the imports (ast) of every module under toshi/.

Ground floor: core (with config) → query, jsonld → store → formats; each may import only what is
below it. Features (every other package) import the ground floor and another feature only through its
package (`toshi.<feature>`: its public interface), and features never form a cycle. The top (app, cli,
the feature list) may import anything; nothing imports the top."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

import toshi

ROOT = Path(toshi.__file__).parent
GROUND = {  # ground-floor package -> what it may import besides itself
    "config": set(),
    "core": {"config"},
    "query": {"core", "config"},
    "jsonld": {"core", "config"},
    "store": {"core", "config", "query", "jsonld"},
    "formats": {"core", "config", "query", "jsonld"},
}
TOP = {"app", "cli", "features", "__main__"}
STORE_INTERFACE = {"toshi.store", "toshi.store.base"}  # what features may import of the store
STORE_TOOLS = {"operations"}  # backup, restore and migration work on the backends' own files and tables


def modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = modules()


def exported(package: str) -> set[str]:
    """The names a package's __init__ binds (a name there is the package's, even if a module shares it)."""
    path = MODULES.get(package)
    if path is None or path.name != "__init__.py":
        return set()
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def imports_of(name: str, path: Path) -> set[str]:
    """The toshi modules `name` imports (lazy imports inside functions included)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:  # `from toshi.x import y` where y is a module imports toshi.x.y
                submodule = f"{target}.{alias.name}"
                found.add(submodule if submodule in MODULES and alias.name not in exported(target) else target)
    return {m for m in found if m == "toshi" or m.startswith("toshi.")}


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


EDGES = {name: imports_of(name, path) for name, path in MODULES.items()}


def breaches() -> list[str]:
    found = []
    for module, targets in sorted(EDGES.items()):
        mine = package_of(module)
        for target in sorted(targets):
            theirs = package_of(target)
            if theirs in ("", mine):
                continue
            if mine in TOP:
                continue
            if theirs in TOP:
                found.append(f"{module} imports the top: {target}")
            elif mine in GROUND:
                if theirs not in GROUND[mine]:
                    found.append(f"{module} (ground floor: {mine}) imports {target}")
            elif theirs == "store":
                if target not in STORE_INTERFACE and mine not in STORE_TOOLS:
                    found.append(f"{module} (feature {mine}) imports the store's internals: {target}")
            elif theirs not in GROUND and target != f"toshi.{theirs}":
                found.append(f"{module} (feature {mine}) imports another feature's internals: {target}")
    return found


def package_cycles() -> list[list[str]]:
    graph = defaultdict(set)
    for module, targets in EDGES.items():
        for target in targets:
            a, b = package_of(module), package_of(target)
            if a and b and a != b:
                graph[a].add(b)
    cycles, state = [], {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(trail[trail.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return cycles


def test_no_import_cycle_between_packages():
    assert package_cycles() == []


def test_every_import_follows_the_layering_rule():
    assert breaches() == []


def test_the_reader_finds_real_imports():
    """The checks above would pass vacuously if imports were not found."""
    assert "toshi.core.errors" in EDGES["toshi.app"]
    assert any(t.startswith("toshi.core") for t in EDGES["toshi.store.sqlite"])


@pytest.mark.parametrize("feature", sorted({package_of(m) for m in EDGES} - set(GROUND) - TOP - {""}))
def test_every_feature_declares_itself(feature):
    from toshi.features import FEATURES

    if not (ROOT / feature / "feature.py").exists():
        pytest.fail(f"toshi/{feature}/ has no feature.py")
    assert any(cls.__module__ == f"toshi.{feature}.feature" for cls in FEATURES), f"{feature} is not in FEATURES"
