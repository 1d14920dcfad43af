"""Compact tool schemas: every token of tools/list is paid on every turn of a conversation.

pydantic's schemas carry generated titles ("Itwin Id"), ``default: null`` on optional inputs
and defaults on outputs; none of it tells a model anything the property name, ``type`` and
description do not, so tools/list drops it. An optional input ``anyOf [X, null]`` becomes
plain ``X`` (omitting it means null; single-``type`` dialects such as Gemini's accept it);
an optional output becomes ``"type": [X, "null"]``, since clients validate real nulls against
it. Outputs drop ``required``: every field of ours is always present, and the list is paid on
every turn. Validation is untouched: it runs on the pydantic models, not on these dicts.
"""

from __future__ import annotations

from typing import Any

__all__ = ["compact_schema"]


def compact_schema(schema: Any, *, output: bool = False) -> Any:
    if isinstance(schema, list):
        return [compact_schema(item, output=output) for item in schema]
    if not isinstance(schema, dict):
        return schema
    compacted: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "default" and (output or value is None):
            continue
        if key == "required" and output:
            continue
        if key == "additionalProperties" and value is True:
            # The default anyway; spelled out, validators visit every field of every row.
            continue
        if key in ("properties", "$defs", "definitions") and isinstance(value, dict):
            # Keys here are names, not keywords: a property called "title" stays.
            compacted[key] = {name: compact_schema(sub, output=output) for name, sub in value.items()}
        else:
            compacted[key] = compact_schema(value, output=output)
    return _nullable_type(compacted) if output else _optional_without_null(compacted)


def _nullable_type(schema: dict[str, Any]) -> dict[str, Any]:
    """{"anyOf": [{"type": "string"}, {"type": "null"}]} → {"type": ["string", "null"]}."""
    options = schema.get("anyOf")
    if not isinstance(options, list) or len(options) != 2 or {"type": "null"} not in options:
        return schema
    (other,) = [option for option in options if option != {"type": "null"}]
    if not isinstance(other, dict) or not isinstance(other.get("type"), str):
        return schema
    merged = {key: value for key, value in schema.items() if key != "anyOf"}
    merged.update(other)
    merged["type"] = [other["type"], "null"]
    return merged


def _optional_without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """{"anyOf": [{"type": "string", ...}, {"type": "null"}]} → {"type": "string", ...}."""
    options = schema.get("anyOf")
    if not isinstance(options, list) or len(options) != 2 or {"type": "null"} not in options:
        return schema
    (other,) = [option for option in options if option != {"type": "null"}]
    if not isinstance(other, dict):
        return schema
    merged = {key: value for key, value in schema.items() if key != "anyOf"}
    merged.update(other)
    return merged
