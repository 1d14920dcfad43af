"""Turn a package's output (package-defined JSON or XML) into rows and columns, compactly.

The reference says output shape and casing vary by package, so this looks for "the list
of records" instead of trusting one key. A result can hold 100 000 rows and is kept for
paging, so rows are stored as (shared key tuple, value tuple) records with repeated short
strings stored once; dicts are built only for the rows a page returns. XML is parsed with
defusedxml only: the payload comes from a remote system.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, overload

from edfs_mcp.untrusted import MAX_DEPTH, MAX_ITEMS, NAME_CHARS, clean_text

__all__ = ["Record", "Rows", "Table", "TooDeep", "parse_json_payload", "parse_xml_payload", "records_of"]

# Keys that usually hold the records, in the order they are preferred.
RECORD_KEYS = ("data", "value", "items", "rows", "records", "results")
# Columns are gathered from this many rows; later rows rarely add new ones.
COLUMN_SCAN_ROWS = 1000
# Strings up to this length are stored once per result (codes, units, timestamps repeat a lot).
SHARED_STRING_MAX = 64
# Bodies above this are parsed compactly (a Python hook per object: slower, far smaller);
# below it the C parser's dicts are cheaper than the hook.
COMPACT_PARSE_BYTES = 256 * 1024


# A record is one flat tuple per row: (keys, value, value, ...). The keys tuple is shared by every
# row of the same shape, so a row costs one tuple plus its values. JSON arrays stay lists, so
# any tuple among a record's values is a nested record.
Record = tuple[Any, ...]


def record_keys(record: Record) -> tuple[str, ...]:
    keys: tuple[str, ...] = record[0]
    return keys


def as_dict(record: Record, depth: int = 0) -> dict[str, Any]:
    """The row as a dict, nested records included (down to ``MAX_DEPTH``; deeper is cut)."""
    return {
        key: _plain(value, depth + 1) for key, value in zip(record[0], islice(record, 1, None), strict=True)
    }


def as_flat_dict(record: Record) -> dict[str, Any]:
    """The row as a dict, for records whose values hold no record (the fast path)."""
    return dict(zip(record[0], islice(record, 1, None), strict=True))


def _plain(value: Any, depth: int) -> Any:
    if not isinstance(value, tuple | list):
        return value
    if depth >= MAX_DEPTH:
        return f"[nested deeper than {MAX_DEPTH} levels: cut]"
    if isinstance(value, tuple):
        return as_dict(value, depth)
    return [_plain(item, depth + 1) for item in value]


def _record(item: Any) -> Record:
    if isinstance(item, tuple):
        return item
    if isinstance(item, dict):
        return (tuple(item), *item.values())
    return (("value",), item)


class Rows(Sequence[dict[str, Any]]):
    """The rows of a table as dicts, made on access."""

    def __init__(self, records: list[Record], *, nested: bool = True) -> None:
        self._records = records
        self._make = as_dict if nested else as_flat_dict

    def __len__(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self._make(record) for record in self._records[index]]
        return self._make(self._records[index])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self._make(record) for record in self._records)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Rows | list):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


class Table:
    """Rows plus the column names in first-seen order."""

    def __init__(
        self,
        rows: Iterable[dict[str, Any]] = (),
        *,
        records: list[Record] | None = None,
        columns: list[str] | None = None,
        nested_records: bool = True,
    ) -> None:
        self._records = records if records is not None else [_record(row) for row in rows]
        # Records from plain dicts keep nested values as dicts: no Record inside to convert.
        self.rows = Rows(self._records, nested=nested_records and records is not None)
        self.columns = columns if columns is not None else _columns(self._records)


def _columns(records: list[Record]) -> list[str]:
    seen: dict[str, None] = {}
    for record in records[:COLUMN_SCAN_ROWS]:
        for key in record_keys(record):
            seen.setdefault(clean_text(key, NAME_CHARS), None)
            if len(seen) >= MAX_ITEMS:  # a row with 100 000 keys is not a table a model can read
                return list(seen)
    return list(seen)


def records_of(document: Any) -> list[Record]:
    """The records in a parsed JSON document (plain, or parsed into records)."""
    if isinstance(document, list):
        return [_record(item) for item in document]
    if isinstance(document, dict):
        document = _record(document)
    if not isinstance(document, tuple):
        return [_record(document)]
    fields = zip(record_keys(document), islice(document, 1, None), strict=True)
    lists = {key: value for key, value in fields if isinstance(value, list)}
    lowered = {key.lower(): key for key in lists}
    for wanted in RECORD_KEYS:
        if wanted in lowered:
            return [_record(item) for item in lists[lowered[wanted]]]
    if len(lists) == 1:
        (only,) = lists.values()
        return [_record(item) for item in only]
    return [document]


class TooDeep(ValueError):
    """The document nests deeper than can be parsed safely."""


def parse_json_payload(content: bytes | str) -> Table:
    """Raises ValueError when the content is not JSON, TooDeep when it nests too deeply."""
    try:
        return _parse_json(content)
    except RecursionError:
        raise TooDeep("the JSON nests too deeply to read") from None


def _parse_json(content: bytes | str) -> Table:
    if len(content) <= COMPACT_PARSE_BYTES:
        return Table(records=records_of(json.loads(content)), nested_records=False)
    shapes: dict[tuple[str, ...], tuple[str, ...]] = {}
    strings: dict[str, str] = {}

    def shared(value: Any) -> Any:
        if isinstance(value, str) and len(value) <= SHARED_STRING_MAX:
            return strings.setdefault(value, value)
        return value

    def compact(pairs: list[tuple[str, Any]]) -> Record:
        keys = tuple(key for key, _ in pairs)
        return (shapes.setdefault(keys, keys), *[shared(value) for _, value in pairs])

    return Table(records=records_of(json.loads(content, object_pairs_hook=compact)))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _element_row(element: Any, depth: int = 0) -> dict[str, Any]:
    children = list(element)
    if not children:
        return {_local(element.tag): (element.text or "").strip()}
    row: dict[str, Any] = dict(element.attrib)
    for child in children:
        if len(child) == 0:
            row[_local(child.tag)] = (child.text or "").strip()
        elif depth + 1 >= MAX_DEPTH:
            row[_local(child.tag)] = f"[nested deeper than {MAX_DEPTH} levels: cut]"
        else:
            row[_local(child.tag)] = _element_row(child, depth + 1)
    return row


def parse_xml_payload(content: bytes | str) -> Table:
    """Rows are the repeated child elements of the element that has most of them.

    Raises ValueError for malformed or unsafe XML (entity expansion, external entities).
    """
    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException

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
        return Table([_element_row(root)])
    return Table(_element_row(child) for child in best)
