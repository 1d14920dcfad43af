"""Compact tool schemas: every token of tools/list is paid on every turn of a conversation.

pydantic's schemas carry generated titles ("Itwin Id"), ``default: null`` on optional inputs
and defaults on outputs; none of it tells a model anything the property name, ``type`` and
description do not, so tools/list drops it. An optional input ``anyOf [X, null]`` becomes
plain ``X`` (omitting it means null; single-``type`` dialects such as Gemini's accept it);
an optional output becomes ``"type": [X, "null"]``, since clients validate real nulls against
it. Outputs drop ``required``: every field of ours is always present, and the list is paid on
every turn. A ``$defs`` entry used once is written where it is used: the same schema without the
``$defs``/``$ref`` wrapping (about 15 tokens each). Validation is untouched: it runs on the pydantic
models, not on these dicts.
"""

from __future__ import annotations

from typing import Any

__all__ = ["compact_schema"]


def compact_schema(schema: Any, *, output: bool = False) -> Any:
    return _compact(_inline_single_use_defs(schema), output=output)


def _compact(schema: Any, *, output: bool) -> Any:
    if isinstance(schema, list):
        return [_compact(item, output=output) for item in schema]
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
            compacted[key] = {name: _compact(sub, output=output) for name, sub in value.items()}
        else:
            compacted[key] = _compact(value, output=output)
    return _nullable_type(compacted) if output else _optional_without_null(compacted)


DEFS_REF = "#/$defs/"


def _inline_single_use_defs(schema: Any) -> Any:
    """Each ``$defs`` entry referenced exactly once (and not from inside itself) replaces its ``$ref``."""
    if not isinstance(schema, dict) or not isinstance(schema.get("$defs"), dict):
        return schema
    defs: dict[str, Any] = schema["$defs"]
    uses: dict[str, int] = {}

    def count(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(DEFS_REF):
                uses[ref[len(DEFS_REF) :]] = uses.get(ref[len(DEFS_REF) :], 0) + 1
            for value in node.values():
                count(value)
        elif isinstance(node, list):
            for item in node:
                count(item)

    count(schema)
    inlined: set[str] = set()

    def substitute(node: Any, inside: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [substitute(item, inside) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        name = ref[len(DEFS_REF) :] if isinstance(ref, str) and ref.startswith(DEFS_REF) else None
        if name is not None and name in defs and uses.get(name) == 1 and name not in inside:
            inlined.add(name)
            target = substitute(defs[name], (*inside, name))
            siblings = {key: substitute(value, inside) for key, value in node.items() if key != "$ref"}
            return {**target, **siblings}  # a sibling (the field's own description) is the more specific
        return {key: substitute(value, inside) for key, value in node.items()}

    body = {key: substitute(value, ()) for key, value in schema.items() if key != "$defs"}
    kept = {name: substitute(definition, (name,)) for name, definition in defs.items() if name not in inlined}
    # A def inlined only from inside a kept def is still inlined there; anything left is kept as is.
    kept = {name: definition for name, definition in kept.items() if name not in inlined}
    return {"$defs": kept, **body} if kept else body


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
