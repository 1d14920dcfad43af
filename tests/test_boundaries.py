"""The package's boundaries, read from the source: data flows config → auth → api → tools → MCP.

- a module reaches into another package only through that package's public names (no ``_private``
  module of another package);
- the API client knows nothing of MCP or the tools; auth knows nothing of the API client or tools;
- the sandbox imports nothing of the client side but the one shared cron rule (and the page
  templates, which import nothing of ours);
- ``state`` (where state is kept) sits below ``remote`` (the team's sign-in server) and
  ``http_transport`` (which assembles it); ``messages`` (the words) knows no tool and no transport;
  the tools know no transport, no CLI and no settings (they never read the environment);
- no import cycle: between packages, counting every import (deferred and type-only ones too), and
  between modules, at import time and with the imports deferred into functions.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "edfs_mcp"


@functools.cache
def _tree(path: Path) -> ast.Module:
    """``path`` parsed, once per run: the rules below read the same files many times, never change a tree."""
    return ast.parse(path.read_text(encoding="utf-8"))


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, absolute (relative imports resolved against its package)."""
    tree = _tree(path)
    here = path.relative_to(PACKAGE.parent).with_suffix("").parts
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("edfs_mcp")}


def _package_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def _private(part: str) -> bool:
    return part.startswith("_") and not part.startswith("__")  # ``__version__`` is public


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_another_packages_private_modules(path: Path) -> None:
    me = _module_name(path)
    mine = _package_of(me)
    private = sorted(
        name
        for name in _imports(path)
        if _package_of(name) != mine and any(_private(part) for part in name.split(".")[2:])
    )
    assert private == [], f"{me} reaches into private modules of another package: {private}"


# What each package may not import (a name, or anything under it). Above the API client come, in
# order: results/sql/state, messages, tools, server (MCP), remote (the team's sign-in server), then
# http_transport, stdio and the CLI, which assemble them.
_ENTRY = ("edfs_mcp.cli", "edfs_mcp.cli_auth", "edfs_mcp.stdio")
FORBIDDEN = {
    "edfs_mcp.api": (
        "edfs_mcp.tools",
        "edfs_mcp.server",
        "edfs_mcp.messages",
        "edfs_mcp.results",
        "edfs_mcp.state",
        "edfs_mcp.remote",
        "edfs_mcp.http_transport",
        "edfs_mcp.system_page",
        "edfs_mcp.backend",
        "mcp",
        *_ENTRY,
    ),
    "edfs_mcp.auth": (
        "edfs_mcp.api",
        "edfs_mcp.tools",
        "edfs_mcp.server",
        "edfs_mcp.messages",
        "edfs_mcp.state",
        "edfs_mcp.remote",
        "edfs_mcp.http_transport",
        "edfs_mcp.backend",
        "mcp",
        *_ENTRY,
    ),
    "edfs_mcp.sandbox": (
        "edfs_mcp.api",
        "edfs_mcp.auth",
        "edfs_mcp.tools",
        "edfs_mcp.server",
        "edfs_mcp.config",
        "edfs_mcp.messages",
        "edfs_mcp.state",
        "edfs_mcp.remote",
        "edfs_mcp.http_transport",
        "edfs_mcp.backend",
        *_ENTRY,
    ),
    "edfs_mcp.state": (
        "edfs_mcp.tools",
        "edfs_mcp.server",
        "edfs_mcp.messages",
        "edfs_mcp.remote",
        "edfs_mcp.http_transport",
        "edfs_mcp.system_page",
        "edfs_mcp.backend",
        *_ENTRY,
    ),
    "edfs_mcp.messages": (
        "edfs_mcp.tools",
        "edfs_mcp.server",
        "edfs_mcp.remote",
        "edfs_mcp.http_transport",
        "edfs_mcp.system_page",
        "edfs_mcp.backend",
        "mcp",
        *_ENTRY,
    ),
    "edfs_mcp.tools": (
        "edfs_mcp.server",
        "edfs_mcp.remote",
        "edfs_mcp.http_transport",
        "edfs_mcp.backend",
        "edfs_mcp.config",  # settings reach a tool through its app, never read by it
        "edfs_mcp.sandbox",
        *_ENTRY,
    ),
    "edfs_mcp.remote": (
        "edfs_mcp.tools",
        "edfs_mcp.server",
        "edfs_mcp.http_transport",
        "edfs_mcp.sandbox",
        *_ENTRY,
    ),
    "edfs_mcp.http_transport": ("edfs_mcp.tools", "edfs_mcp.server", "edfs_mcp.sandbox", *_ENTRY),
    "edfs_mcp.templates": ("edfs_mcp",),  # the pages' templates are a leaf: any server may render them
}


def _files_of(package: str) -> list[Path]:
    """The source files of ``edfs_mcp.<name>``: a package's tree, or one module."""
    root = PACKAGE / package.split(".")[1]
    return sorted(root.rglob("*.py")) if root.is_dir() else [root.with_suffix(".py")]


def test_every_package_with_rules_exists() -> None:
    assert all(path.exists() for package in FORBIDDEN for path in _files_of(package))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_layers_do_not_import_higher_ones(package: str) -> None:
    offending: list[str] = []
    for path in _files_of(package):
        for name in _imports(path) | _third_party(path):
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[package]):
                offending.append(f"{_module_name(path)} imports {name}")
    assert offending == []


def _third_party(path: Path) -> set[str]:
    tree = _tree(path)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module)
    return {name for name in names if name == "mcp" or name.startswith("mcp.")}


def test_the_import_reader_sees_private_imports() -> None:
    """The rule above can fail: the reader finds a private import written either way."""
    server = _imports(PACKAGE / "server.py")
    assert "edfs_mcp.tools.ArgumentCheck" in server
    assert not any(name.startswith("edfs_mcp.tools._") for name in server)
    sandbox_http = _imports(PACKAGE / "sandbox" / "router.py")
    assert "edfs_mcp.sandbox._http" in sandbox_http  # relative import, resolved


def test_only_config_reads_the_environment() -> None:
    readers = sorted(
        _module_name(path)
        for path in _modules()
        if path.name != "config.py" and ("os.environ" in (text := path.read_text()) or "getenv(" in text)
    )
    assert readers == [], f"read settings through edfs_mcp.config instead: {readers}"


# --- import cycles --------------------------------------------------------------------------------

_MODULES = {_module_name(path): path for path in _modules()}


def _target(name: str) -> str:
    """The module of ours ``name`` lives in (``edfs_mcp.api.EdfsClient`` -> ``edfs_mcp.api``)."""
    while name not in _MODULES:
        name = name.rpartition(".")[0]
    return name


def _type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def _import_nodes(path: Path, *, deferred: bool, type_only: bool) -> list[ast.Import | ast.ImportFrom]:
    """The import statements of ``path``: those run at import time, plus with ``deferred`` those inside
    functions, plus with ``type_only`` those under ``if TYPE_CHECKING``."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import | ast.ImportFrom):
                found.append(node)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if deferred:
                    visit(node.body)
            elif isinstance(node, ast.If) and _type_checking(node):
                if type_only:
                    visit(node.body)
                visit(node.orelse)
            else:
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, ast.stmt):
                        visit([child])
                    elif isinstance(child, ast.ExceptHandler | ast.match_case):
                        visit(child.body)

    visit(_tree(path).body)
    return found


def _graph(*, deferred: bool, type_only: bool) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports. Importing ``a.b.c`` from outside ``a.b`` runs
    ``a/b/__init__`` first, so that is an edge too (``edfs_mcp/__init__`` aside: every import passes it)."""
    graph: dict[str, set[str]] = {}
    for me, path in _MODULES.items():
        package = me if path.name == "__init__.py" else me.rpartition(".")[0]
        edges: set[str] = set()
        for node in _import_nodes(path, deferred=deferred, type_only=type_only):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                module = node.module
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    module = ".".join([*base, node.module] if node.module else base)
                names = [f"{module}.{alias.name}" for alias in node.names] if module else []
            for name in names:
                if not name.startswith("edfs_mcp"):
                    continue
                target = _target(name)
                edges.add(target)
                parts = target.split(".")
                edges.update(
                    ancestor
                    for ancestor in (".".join(parts[:n]) for n in range(2, len(parts)))
                    if ancestor in _MODULES and not (me + ".").startswith(ancestor + ".")
                )
        edges.discard(me)
        graph[me] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while (member := stack.pop()) != node:
                component.append(member)
            if component:
                found.append(sorted([node, *component]))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    def package(module: str) -> str:
        return ".".join(module.split(".")[:2])

    joined: dict[str, set[str]] = {}
    for module, targets in graph.items():
        joined.setdefault(package(module), set()).update(package(t) for t in targets)
    return {name: targets - {name} for name, targets in joined.items()}


def test_no_cycle_between_packages() -> None:
    """Counting every import, deferred and type-only ones too: a cycle between packages is a layer
    that does not hold, whether or not Python manages to import it."""
    assert _cycles(_packages(_graph(deferred=True, type_only=True))) == []


def test_no_cycle_between_modules_at_import_time() -> None:
    assert _cycles(_graph(deferred=False, type_only=False)) == []


def test_no_cycle_between_modules_with_deferred_imports() -> None:
    """An import moved into a function hides a cycle from Python, not from this test."""
    assert _cycles(_graph(deferred=True, type_only=False)) == []


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles(_packages({"edfs_mcp.x.one": {"edfs_mcp.y"}, "edfs_mcp.y": {"edfs_mcp.x.two"}})) == [
        ["edfs_mcp.x", "edfs_mcp.y"]
    ]


def test_the_graph_sees_deferred_relative_and_type_only_imports() -> None:
    everything = _graph(deferred=True, type_only=True)
    assert "edfs_mcp.remote.redis_store" not in _MODULES
    assert "edfs_mcp.bodies" in everything["edfs_mcp.system_page"]  # inside a method
    assert "edfs_mcp.sandbox.oauth" in everything["edfs_mcp.sandbox.device"]  # relative, type-only
    assert "edfs_mcp.sandbox.oauth" not in _graph(deferred=True, type_only=False)["edfs_mcp.sandbox.device"]
    at_import = _graph(deferred=False, type_only=False)
    # remote.people imports edfs_mcp.state.stores: state/__init__ runs first, an edge too
    assert {"edfs_mcp.state.stores", "edfs_mcp.state"} <= at_import["edfs_mcp.remote.people"]
    assert "edfs_mcp.remote" not in at_import["edfs_mcp.remote.people"]  # its own package: no edge
