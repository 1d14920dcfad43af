"""What a text-forwarding client shows the model: every ID, cell and hint of the structured payload."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from edfs_mcp.render import cell


def missing_from_text(structured: Mapping[str, Any], text: str) -> list[str]:
    """The values of ``structured`` that its text does not carry (empty when it carries them all)."""
    missing: list[str] = []

    def need(where: str, value: Any) -> None:
        if value is None or value in ([], {}):
            return
        if cell(value) not in text:
            missing.append(f"{where}={cell(value)[:80]}")

    def walk(payload: Mapping[str, Any], prefix: str) -> None:
        for key, value in payload.items():
            where = f"{prefix}{key}"
            if isinstance(value, list) and value and all(isinstance(item, Mapping) for item in value):
                for index, record in enumerate(value):
                    for column, item in record.items():
                        need(f"{where}[{index}].{column}", item)
            elif isinstance(value, Mapping):
                walk(value, f"{where}.")
            else:
                need(where, value)

    walk(structured, "")
    return missing
