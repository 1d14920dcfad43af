"""The README's tool reference is generated from the schema snapshots; this keeps it in sync.

Regenerate after a tool change with: UPDATE_README=1 python -m pytest tests/test_readme_tools.py
"""

import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- tools:start -->", "<!-- tools:end -->"
ORDER = [
    "find_itwins",
    "list_integration_packages",
    "get_integration_package",
    "execute_integration_package",
    "read_execution_result",
    "query_execution_result",
    "query_odata",
    "list_timers",
    "set_timer_enabled",
    "create_timer",
    "delete_timer",
    "list_systems",
    "set_up_system",
    "delete_system",
    "list_package_roles",
    "set_package_role",
]


def _hints(annotations: dict[str, Any]) -> str:
    if annotations.get("readOnlyHint"):
        return "read-only"
    words = ["destructive" if annotations.get("destructiveHint") else "writes"]
    words.append("idempotent" if annotations.get("idempotentHint") else "not idempotent")
    if annotations.get("openWorldHint"):
        words.append("open world")
    return ", ".join(words)


def _arguments(schema: dict[str, Any]) -> str:
    required = set(schema.get("required", []))
    names = [f"`{name}`" if name in required else f"`{name}`?" for name in schema.get("properties", {})]
    return " ".join(names) or "—"


def render() -> str:
    snaps = {p.stem: json.loads(p.read_text()) for p in (ROOT / "tests" / "__toolsnaps__").glob("*.json")}
    assert set(snaps) == set(ORDER), "add new tools to ORDER"
    lines = ["| tool | does | arguments (`?` optional) | hints |", "|---|---|---|---|"]
    for name in ORDER:
        tool = snaps[name]
        summary = " ".join(tool["description"].split("\n\n")[0].split())
        arguments, hints = _arguments(tool["inputSchema"]), _hints(tool["annotations"])
        lines.append(f"| `{name}` | {summary} | {arguments} | {hints} |")
    return "\n".join(lines)


def test_readme_tool_reference_matches_the_snapshots() -> None:
    readme = (ROOT / "README.md").read_text()
    before, rest = readme.split(START, 1)
    _, after = rest.split(END, 1)
    expected = f"{before}{START}\n{render()}\n{END}{after}"
    if os.environ.get("UPDATE_README"):
        (ROOT / "README.md").write_text(expected)
        readme = expected
    assert readme == expected, "README tool reference is stale: run with UPDATE_README=1"
