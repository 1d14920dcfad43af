"""The package's boundaries, read from the source: data flows config → auth → api → tools → MCP.

- a module reaches into another package only through that package's public names (no ``_private``
  module of another package);
- the API client knows nothing of MCP or the tools; auth knows nothing of the API client or tools;
- the sandbox imports nothing of the client side but the one shared cron rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "edfs_mcp"


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, absolute (relative imports resolved against its package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
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


FORBIDDEN = {
    "edfs_mcp.api": ("edfs_mcp.tools", "edfs_mcp.server", "edfs_mcp.messages", "mcp"),
    "edfs_mcp.auth": ("edfs_mcp.api", "edfs_mcp.tools", "edfs_mcp.server", "mcp"),
    "edfs_mcp.sandbox": (
        "edfs_mcp.api",
        "edfs_mcp.auth",
        "edfs_mcp.tools",
        "edfs_mcp.server",
        "edfs_mcp.config",
        "edfs_mcp.messages",
    ),
}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_layers_do_not_import_higher_ones(package: str) -> None:
    root = PACKAGE / package.split(".")[1]
    offending: list[str] = []
    for path in sorted(root.rglob("*.py")):
        for name in _imports(path) | _third_party(path):
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[package]):
                offending.append(f"{_module_name(path)} imports {name}")
    assert offending == []


def _third_party(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
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
