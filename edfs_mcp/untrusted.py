"""Upstream values made safe to show a model: bounded, flat enough, and free of hidden characters.

Everything EDFS or a package returns is data from a system we do not control: a row can hold
a 50 MB string, a 1 000-level nesting, terminal escapes, NULs, or right-to-left overrides that
make text read differently than it is. Before any of it reaches a tool result (text or
structured), it passes through here:

- control characters (C0/C1 but tab and newline) and invisible format characters (bidi
  overrides and isolates, zero-width characters, BOM) are removed;
- a string longer than its limit is cut, with a marker saying how much was cut;
- nesting deeper than ``MAX_DEPTH`` and lists or objects longer than ``MAX_ITEMS`` are cut,
  with a marker, so nothing downstream recurses without bound.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator

__all__ = [
    "CELL_CHARS",
    "MAX_DEPTH",
    "MAX_ITEMS",
    "NAME_CHARS",
    "UpstreamName",
    "UpstreamText",
    "clean_text",
    "clip_value",
    "without_hidden",
]

# A table cell; a name (package, iTwin, timer, system, column); a description; nesting; items.
CELL_CHARS = 2000
NAME_CHARS = 200
DESCRIPTION_CHARS = 1000
MAX_DEPTH = 8
MAX_ITEMS = 200

_HIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f"  # control characters, but tab (\x09) and newline (\x0a)
    "\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]"
)


def clean_text(value: str, limit: int = CELL_CHARS) -> str:
    """``value`` without hidden characters, cut to ``limit`` characters with a marker."""
    if _HIDDEN.search(value):
        value = _HIDDEN.sub("", value)
    if len(value) > limit:
        cut = len(value) - limit
        value = f"{value[:limit]}…[{cut} more characters cut]"
    return value


def clip_value(value: Any, *, limit: int = CELL_CHARS, depth: int = 0) -> Any:
    """A JSON-like value with every string cleaned, and its depth and breadth bounded."""
    if isinstance(value, str):
        return clean_text(value, limit)
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth >= MAX_DEPTH:
        return f"[nested deeper than {MAX_DEPTH} levels: cut]"
    if isinstance(value, dict):
        items = list(value.items())
        clipped = {
            clean_text(str(key), NAME_CHARS): clip_value(item, limit=limit, depth=depth + 1)
            for key, item in items[:MAX_ITEMS]
        }
        if len(items) > MAX_ITEMS:
            clipped["…"] = f"[{len(items) - MAX_ITEMS} more fields cut]"
        return clipped
    if isinstance(value, list | tuple):
        clipped_items = [clip_value(item, limit=limit, depth=depth + 1) for item in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            clipped_items.append(f"[{len(value) - MAX_ITEMS} more items cut]")
        return clipped_items
    return clean_text(str(value), limit)


def without_hidden(value: Any) -> Any:
    """A JSON-like value with hidden characters removed from every string (keys included)."""
    if isinstance(value, str):
        return _HIDDEN.sub("", value) if _HIDDEN.search(value) else value
    if isinstance(value, dict):
        return {without_hidden(key): without_hidden(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_hidden(item) for item in value]
    return value


# Upstream strings in a tool's output model: cleaned and cut as they are set.
UpstreamName = Annotated[str, AfterValidator(lambda value: clean_text(value, NAME_CHARS))]
UpstreamText = Annotated[str, AfterValidator(lambda value: clean_text(value, DESCRIPTION_CHARS))]
