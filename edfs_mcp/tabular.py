"""Turn a package's output (package-defined JSON or XML) into rows and columns.

The reference says output shape and casing vary by package, so this looks for
"the list of records" instead of trusting one key. XML is parsed with defusedxml
only: the payload comes from a remote system.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

__all__ = ["Table", "parse_json_payload", "parse_xml_payload"]

# Keys that usually hold the records, in the order they are preferred.
RECORD_KEYS = ("data", "value", "items", "rows", "records", "results")
# Columns are gathered from this many rows; later rows rarely add new ones.
COLUMN_SCAN_ROWS = 1000


@dataclass
class Table:
    """Rows as dicts plus the column names in first-seen order."""

    rows: list[dict[str, Any]]
    columns: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.columns:
            self.columns = _columns(self.rows)


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows[:COLUMN_SCAN_ROWS]:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def _as_row(item: Any) -> dict[str, Any]:
    return item if isinstance(item, dict) else {"value": item}


def records_of(document: Any) -> list[dict[str, Any]]:
    """The records in a parsed JSON document."""
    if isinstance(document, list):
        return [_as_row(item) for item in document]
    if not isinstance(document, dict):
        return [{"value": document}]
    lists = {key: value for key, value in document.items() if isinstance(value, list)}
    lowered = {key.lower(): key for key in lists}
    for wanted in RECORD_KEYS:
        if wanted in lowered:
            return [_as_row(item) for item in lists[lowered[wanted]]]
    if len(lists) == 1:
        (only,) = lists.values()
        return [_as_row(item) for item in only]
    return [document]


def parse_json_payload(content: bytes) -> Table:
    """Raises ValueError when the content is not JSON."""
    return Table(rows=records_of(json.loads(content)))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _element_row(element: Any) -> dict[str, Any]:
    children = list(element)
    if not children:
        return {_local(element.tag): (element.text or "").strip()}
    row: dict[str, Any] = dict(element.attrib)
    for child in children:
        row[_local(child.tag)] = (child.text or "").strip() if len(child) == 0 else _element_row(child)
    return row


def parse_xml_payload(content: bytes) -> Table:
    """Rows are the repeated child elements of the element that has most of them.

    Raises ValueError for malformed or unsafe XML (entity expansion, external entities).
    """
    try:
        root = SafeET.fromstring(content)
    except (SafeET.ParseError, DefusedXmlException) as exc:
        raise ValueError(f"not well-formed or unsafe XML: {exc}") from None
    best, best_count = root, 0
    for element in root.iter():
        children = list(element)
        if not children:
            continue
        tags = {child.tag for child in children}
        if len(tags) == 1 and len(children) > best_count:
            best, best_count = element, len(children)
    if best_count == 0:
        return Table(rows=[_element_row(root)])
    return Table(rows=[_element_row(child) for child in best])
