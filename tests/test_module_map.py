"""CONTRIBUTING.md's map of the package is true: every module of edfs_mcp is in it, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "edfs_mcp"


def _map() -> dict[str, str]:
    """The map's lines under "## How it is built": module path (relative to edfs_mcp/) -> its job."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    section = text.split("\n## How it is built\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```\nedfs_mcp/\n", 1)[1].split("```", 1)[0]
    entries: dict[str, str] = {}
    for line in block.splitlines():
        match = re.fullmatch(r"  (\S+\.py)\s+(\S.*)", line)
        assert match is not None, f"not a 'path  job' line: {line!r}"
        entries[match[1]] = match[2]
    return entries


def _modules() -> set[str]:
    return {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if "__pycache__" not in path.parts
    }


def test_every_module_is_in_the_map() -> None:
    missing = sorted(_modules() - set(_map()))
    assert missing == [], f"add these to CONTRIBUTING.md's map, with their one job: {missing}"


def test_the_map_names_only_modules_that_exist() -> None:
    assert sorted(set(_map()) - _modules()) == []


def test_the_readme_points_to_the_map() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(CONTRIBUTING.md#how-it-is-built)" in readme
