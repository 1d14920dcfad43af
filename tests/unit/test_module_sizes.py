"""A module over 400 lines says why it is that long, in its docstring.

The convention: one paragraph of the module's docstring begins with "Long because" and gives the
reason (what would be lost by splitting it). A module that cannot say so is split instead.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "edfs_mcp"
LIMIT = 400
MARK = "Long because"


def _says_why(source: str) -> bool:
    """True when ``source`` is at most ``LIMIT`` lines, or its docstring has a "Long because" line."""
    if len(source.splitlines()) <= LIMIT:
        return True
    docstring = ast.get_docstring(ast.parse(source)) or ""
    return any(line.startswith(MARK) for line in docstring.splitlines())


def test_every_long_module_says_why_it_is_long() -> None:
    silent = sorted(
        f"{path.relative_to(PACKAGE).as_posix()} ({len(text.splitlines())} lines)"
        for path in PACKAGE.rglob("*.py")
        if "__pycache__" not in path.parts and not _says_why(text := path.read_text(encoding="utf-8"))
    )
    assert silent == [], f"over {LIMIT} lines, and the docstring has no line starting {MARK!r}: {silent}"


def test_the_rule_can_fail() -> None:
    body = "x = 1\n" * LIMIT
    assert _says_why(body)
    assert not _says_why('"""A module."""\n' + body)
    assert not _says_why('"""A module.\n\nIt is long because of x.\n"""\n' + body)  # not at a line start
    assert _says_why('"""A module.\n\nLong because its one table is read as one.\n"""\n' + body)
