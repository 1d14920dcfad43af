"""A tool result's structured payload rendered as text for a model.

Clients differ in what they forward: some pass ``structuredContent`` to the model, many
(claude.ai, ChatGPT and other hosts) pass only the text. So the text is not a summary:
it carries every field of the payload, with lists of records as a compact table whose
header is written once (cheaper than JSON, which repeats every key on every row).

Layout: the payload's ``summary`` (counts, hints, next steps) as the first line, then:

    field: value                      scalars, one per line; nulls are left out
    field: a, b, c                    lists of scalars
    field.sub: value                  nested objects, flattened with dots
    field (3):                        lists of objects: a header, then one line per item
    col1 | col2 | col3
    v1 | v2 | v3

A cell is the value itself; ``|``, newlines and backslashes are escaped so a cell never
breaks its row, and nested values inside a cell are compact JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["cell", "render_payload"]

SEPARATOR = " | "
_ESCAPES = str.maketrans({"\\": "\\\\", "|": "\\|", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def cell(value: Any) -> str:
    """One value as it stands in a table cell or after ``field:``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list) and all(_is_scalar(item) for item in value):
        return ", ".join(cell(item) for item in value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).translate(_ESCAPES)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _is_records(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, Mapping) for item in value)


def _table(name: str, records: Sequence[Mapping[str, Any]], columns: Sequence[str] | None) -> list[str]:
    header: dict[str, None] = dict.fromkeys(columns or ())
    for record in records:
        for key in record:
            header.setdefault(key, None)
    # A column with no value in any row (an optional field not asked for) says nothing.
    names = [key for key in header if any(record.get(key) is not None for record in records)]
    lines = [f"{name} ({len(records)}):", SEPARATOR.join(cell(key) for key in names)]
    lines.extend(SEPARATOR.join(cell(record.get(key)) for key in names) for record in records)
    return lines


def _lines(payload: Mapping[str, Any], prefix: str = "") -> list[str]:
    lines: list[str] = []
    for key, value in payload.items():
        name = f"{prefix}{key}"
        if value is None:
            continue
        if _is_records(value):
            columns = payload.get("columns") if key == "rows" else None
            lines.extend(_table(name, value, columns if isinstance(columns, list) else None))
        elif isinstance(value, Mapping) and value:
            lines.extend(_lines(value, prefix=f"{name}."))
        elif isinstance(value, list) and not value:
            lines.append(f"{name}: (none)")
        else:
            lines.append(f"{name}: {cell(value)}")
    return lines


def render_payload(payload: Mapping[str, Any]) -> str:
    """``payload["summary"]``, then every other field of ``payload`` (a ``model_dump(mode="json")``)."""
    rest = {key: value for key, value in payload.items() if key != "summary"}
    return "\n".join([str(payload.get("summary") or ""), *_lines(rest)])
