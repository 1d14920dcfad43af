"""Turn a package's output (package-defined JSON or XML) into a columnar table.

The reference says output shape and casing vary by package, so this looks for "the list
of records" instead of trusting one key. A result can hold 100 000 rows and is kept for
paging and SQL (``query_execution_result``), so it is stored in columns, as an Arrow table:
repeated strings are dictionary-encoded, numbers are packed, and dicts are built only for
the rows a page returns. A JSON body is read in windows, one record at a time, straight
into column chunks: the whole document never exists as Python objects, nor as one decoded
string. XML is parsed with defusedxml only: the payload comes from a remote system.

An array of flat records (the usual large answer: objects whose values are strings, numbers,
booleans or null) is parsed by Arrow's C++ JSON reader instead, in pieces of about
``PIECE_BYTES`` cut at record boundaries, on ``PIECE_WORKERS`` threads; anything it does not
give exactly as the window reader would (nested values, mixed kinds, integers past 2**53,
duplicate keys, invalid UTF-8, ...) makes it give up, and the window reader parses the array.

Columns hold one type each, chosen over all rows: BIGINT, DOUBLE (integers mixed with
decimals), BOOLEAN, VARCHAR, or JSON for nested values and for columns whose values
disagree (a string here, a number there); a JSON cell reads back as the value it was.
pyarrow is imported on first use, not at start.

Long because the two JSON readers (Arrow's threaded one for flat records, the window reader for the
rest), the XML reader and the column builder must agree on every type and fallback, and keeping them
together keeps them in step.
"""

from __future__ import annotations

import codecs
import contextlib
import datetime
import decimal
import functools
import json
import math
import os
import re
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, overload

from edfs_mcp.errors import EdfsMcpError
from edfs_mcp.untrusted import MAX_DEPTH, MAX_ITEMS, NAME_CHARS, clean_text

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Table", "TableBuilder", "TooDeep", "parse_json_payload", "parse_xml_payload", "sql_type"]

# Keys that usually hold the records, in the order they are preferred.
RECORD_KEYS = ("data", "value", "items", "rows", "records", "results")
# Rows gathered before they become one chunk of columns.
CHUNK_ROWS = 1024
# Strings of a chunk this short are stored plainly: a dictionary would save little and cost time.
DICTIONARY_MIN_ROWS = 64
# Most columns kept as columns; the fields of a row past them go to one JSON column named OVERFLOW.
MAX_COLUMNS = MAX_ITEMS
OVERFLOW = "…"
# Bytes of a body decoded at once; a record larger than the window widens it (doubling).
WINDOW_BYTES = 64 * 1024
# Rows turned into dicts at once when iterating.
ROW_BATCH = 1024

_JSON = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


def _pyarrow() -> Any:
    """pyarrow, imported on first use. Its allocations go through the C library's malloc: Arrow's
    default pool (mimalloc) keeps the pages of freed chunks, and a result is built of many small
    chunks, so the peak memory of a parse would be several times the table it makes.

    The first use also runs the fast reader once over a small array (``_warm``): Arrow's compute
    kernels, its JSON reader and the workers' allocator arenas take about 15 MiB the first time they
    run, once per process. Paid here, with pyarrow itself, the first large result's peak is its own
    (the 100 000-row answer: 3.1x its body before, when the first large parse paid it)."""
    import pyarrow

    global _POOL_SET
    if not _POOL_SET:
        _POOL_SET = True
        pyarrow.set_memory_pool(pyarrow.system_memory_pool())
        _warm()
    return pyarrow


_POOL_SET = False


class TooDeep(EdfsMcpError, ValueError):
    """The document nests deeper than can be parsed safely."""


# --- the table ------------------------------------------------------------------------------------


class Rows(Sequence[dict[str, Any]]):
    """The rows of a table as dicts, made on access."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def __len__(self) -> int:
        return self._table.row_count

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        count = self._table.row_count
        if isinstance(index, slice):
            start, stop, step = index.indices(count)
            rows = self._table.rows_between(start, max(start, stop)) if step > 0 else []
            return rows if step == 1 else rows[::step]
        position = index + count if index < 0 else index
        if not 0 <= position < count:
            raise IndexError(index)
        return self._table.rows_between(position, position + 1)[0]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for start in range(0, self._table.row_count, ROW_BATCH):
            yield from self._table.rows_between(start, start + ROW_BATCH)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Rows | list):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


class Table:
    """Rows in columns (an Arrow table), the column names in first-seen order, and their SQL types.

    ``Table(rows)`` builds one from dicts; ``Table.from_arrow`` wraps an Arrow table (a SQL answer).
    """

    def __init__(self, rows: Iterable[Any] = ()) -> None:
        builder = TableBuilder()
        for row in rows:
            builder.add(row)
        built = builder.finish()
        self.__dict__.update(built.__dict__)
        self.rows = Rows(self)

    @classmethod
    def from_arrow(
        cls,
        arrow: pa.Table,
        types: Sequence[str] | None = None,
        *,
        row_count: int | None = None,
        keep_nulls: bool = True,
    ) -> Table:
        """``keep_nulls``: rows show null cells (a SQL answer); else a null cell is left out of its row,
        as an absent field is (package output, where optional fields are often missing)."""
        names = _unique(arrow.column_names)
        if names != arrow.column_names:  # a join's answer can repeat a name; a row cannot
            arrow = arrow.rename_columns(names)
        table = cls.__new__(cls)
        table.arrow = arrow
        table.keep_nulls = keep_nulls
        table.row_count = arrow.num_rows if row_count is None else row_count
        table.columns = list(arrow.column_names)
        table.types = list(types) if types is not None else [sql_type(field.type) for field in arrow.schema]
        # JSON cells read back as values: a JSON column of ours, or one DuckDB says is JSON.
        table._json = {
            index
            for index, field in enumerate(arrow.schema)
            if _is_json(field.type) or (table.types[index] == "JSON" and pa_is_string(field.type))
        }
        table._plain = {
            index
            for index, field in enumerate(arrow.schema)
            if index not in table._json and not _is_native(field.type)
        }
        table.rows = Rows(table)
        return table

    arrow: pa.Table
    keep_nulls: bool
    row_count: int
    columns: list[str]
    types: list[str]
    _json: set[int]
    _plain: set[int]

    @property
    def column_types(self) -> dict[str, str]:
        return dict(zip(self.columns, self.types, strict=True))

    @property
    def nbytes(self) -> int:
        """Bytes the columns hold."""
        return int(self.arrow.nbytes)

    def rows_between(self, start: int, stop: int) -> list[dict[str, Any]]:
        """Rows ``start`` to ``stop`` (exclusive) as dicts, JSON cells read back as values."""
        stop = min(stop, self.row_count)
        if stop <= start:
            return []
        if not self.columns:
            return [{} for _ in range(stop - start)]
        part = self.arrow.slice(start, stop - start)
        rows: list[dict[str, Any]]
        if not self._json and not self._plain:
            rows = part.to_pylist()
        else:
            values = []
            for index in range(len(self.columns)):
                column = part.column(index).to_pylist()
                if index in self._json:
                    column = [None if cell is None else _json_value(cell) for cell in column]
                elif index in self._plain:
                    column = [plain(cell) for cell in column]
                values.append(column)
            rows = [dict(zip(self.columns, row, strict=True)) for row in zip(*values, strict=True)]
        if self.keep_nulls:
            return rows
        return [{key: value for key, value in row.items() if value is not None} for row in rows]


def pa_is_string(arrow_type: Any) -> bool:
    return str(arrow_type) in ("string", "large_string", "string_view")


def _json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _unique(names: list[str]) -> list[str]:
    """``names`` with repeats numbered: a, b, a → a, b, a_2."""
    seen: set[str] = set()
    unique = []
    for name in names:
        candidate, number = name, 1
        while candidate in seen:
            number += 1
            candidate = f"{name}_{number}"
        seen.add(candidate)
        unique.append(candidate)
    return unique


def plain(value: Any) -> Any:
    """A value from a SQL answer as JSON-like data: dates as ISO text, decimals as numbers."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return str(value)
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return [plain(item) for item in value]  # a MAP's (key, value) pairs
    return str(value)


# --- SQL types of Arrow types --------------------------------------------------------------------------

_SIMPLE_TYPES = {
    "bool": "BOOLEAN",
    "int8": "TINYINT",
    "int16": "SMALLINT",
    "int32": "INTEGER",
    "int64": "BIGINT",
    "uint8": "UTINYINT",
    "uint16": "USMALLINT",
    "uint32": "UINTEGER",
    "uint64": "UBIGINT",
    "halffloat": "FLOAT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "string": "VARCHAR",
    "large_string": "VARCHAR",
    "string_view": "VARCHAR",
    "binary": "BLOB",
    "large_binary": "BLOB",
    "date32[day]": "DATE",
    "date64[ms]": "DATE",
    "null": "VARCHAR",
}


@functools.lru_cache(maxsize=256)
def sql_type(arrow_type: Any) -> str:
    """The type name DuckDB gives a column of this Arrow type."""
    pa = _pyarrow()

    if _is_json(arrow_type):
        return "JSON"
    if isinstance(arrow_type, pa.DictionaryType):
        return sql_type(arrow_type.value_type)
    if isinstance(arrow_type, pa.Decimal128Type | pa.Decimal256Type):
        return f"DECIMAL({arrow_type.precision},{arrow_type.scale})"
    if isinstance(arrow_type, pa.TimestampType):
        return "TIMESTAMP WITH TIME ZONE" if arrow_type.tz else "TIMESTAMP"
    if isinstance(arrow_type, pa.Time32Type | pa.Time64Type):
        return "TIME"
    if isinstance(arrow_type, pa.ListType | pa.LargeListType | pa.FixedSizeListType):
        return f"{sql_type(arrow_type.value_type)}[]"
    if isinstance(arrow_type, pa.StructType):
        fields = ", ".join(f"{field.name} {sql_type(field.type)}" for field in arrow_type)
        return f"STRUCT({fields})"
    return _SIMPLE_TYPES.get(str(arrow_type), str(arrow_type).upper())


def _is_json(arrow_type: Any) -> bool:
    return getattr(arrow_type, "extension_name", None) == "arrow.json"


def _is_native(arrow_type: Any) -> bool:
    """Whether to_pylist gives JSON-ready values for this type (no conversion needed)."""
    pa = _pyarrow()

    if isinstance(arrow_type, pa.DictionaryType):
        return _is_native(arrow_type.value_type)
    # Doubles are not: NaN and infinities are not JSON.
    return str(arrow_type) in ("bool", "int64", "int32", "int16", "int8", "string", "large_string", "null")


# --- building columns from rows ----------------------------------------------------------------------


class _Column:
    """One column's chunks, each a plain Arrow array of one kind: null, bool, int, double, string, json."""

    def __init__(self) -> None:
        self.chunks: list[tuple[str, Any]] = []

    def add(self, values: list[Any]) -> None:
        self.chunks.append(_chunk(values))

    def add_nulls(self, count: int) -> None:
        pa = _pyarrow()

        if count:
            self.chunks.append(("null", pa.nulls(count)))

    def finish(self) -> Any:
        pa = _pyarrow()

        kinds = {kind for kind, _ in self.chunks} - {"null"}
        if kinds == {"int", "double"}:
            try:
                self.chunks = [
                    ("double", array.cast(pa.float64())) if kind == "int" else (kind, array)
                    for kind, array in self.chunks
                ]
                kinds = {"double"}
            except pa.ArrowInvalid:
                pass  # an integer past 2**53 is not a double: the column becomes JSON below
        if len(kinds) > 1:
            self.chunks = [
                (kind, array) if kind in ("json", "null") else ("json", _json_array(array.to_pylist()))
                for kind, array in self.chunks
            ]
            kinds = {"json"}
        kind = kinds.pop() if kinds else "null"
        arrays = [array for _, array in self.chunks]
        if kind == "string" and not all(pa.types.is_dictionary(array.type) for array in arrays if len(array)):
            arrays = [
                array.dictionary_decode() if pa.types.is_dictionary(array.type) else array for array in arrays
            ]
            wanted: Any = pa.string()
        elif kind == "string":
            wanted = pa.dictionary(pa.int16(), pa.string())
        else:
            wanted = {"null": pa.string(), "bool": pa.bool_(), "int": pa.int64(), "double": pa.float64()}.get(
                kind, pa.string()
            )
        arrays = [pa.nulls(len(array), wanted) if pa.types.is_null(array.type) else array for array in arrays]
        column = pa.chunked_array(arrays, type=wanted)
        if kind == "json":
            json_type = pa.json_(pa.string())
            column = pa.chunked_array(
                [pa.ExtensionArray.from_storage(json_type, chunk) for chunk in column.chunks], type=json_type
            )
        return column


_KINDS = {
    frozenset({str}): "string",
    frozenset({int}): "int",
    frozenset({float}): "double",
    frozenset({int, float}): "double",
    frozenset({bool}): "bool",
}


def _chunk(values: list[Any]) -> tuple[str, Any]:
    pa = _pyarrow()

    kind = _KINDS.get(frozenset({type(value) for value in values}) - {type(None)}, "json")
    if not any(value is not None for value in values):
        return "null", pa.nulls(len(values))
    if kind == "string" and len(values) < DICTIONARY_MIN_ROWS:
        return kind, pa.array(values, pa.string())
    if kind == "string":
        codes: dict[str, int] = {}
        indices = [None if value is None else codes.setdefault(value, len(codes)) for value in values]
        # Codes, units, timestamps: each stored once per chunk. A chunk has at most CHUNK_ROWS rows, so
        # a dictionary holds at most CHUNK_ROWS / 2 strings: 16-bit codes are enough.
        if len(codes) * 2 <= len(values):
            return kind, pa.DictionaryArray.from_arrays(
                pa.array(indices, pa.int16()), pa.array(list(codes), pa.string())
            )
        return kind, pa.array(values, pa.string())
    if kind == "int":
        try:
            return kind, pa.array(values, pa.int64())
        except OverflowError:
            return "json", _json_array(values)  # integers past 64 bits keep every digit as JSON
    if kind == "double":
        try:
            return kind, pa.array(values, pa.float64())
        except pa.ArrowInvalid:
            return "json", _json_array(values)  # an integer past 2**53 among decimals: kept exact
    if kind == "bool":
        return kind, pa.array(values, pa.bool_())
    return "json", _json_array(values)  # nested values, or values of several kinds


def _json_array(values: list[Any]) -> Any:
    pa = _pyarrow()

    try:
        texts = [None if value is None else json.dumps(value, ensure_ascii=False) for value in values]
    except RecursionError:
        raise TooDeep("a value nests too deeply to keep") from None
    except ValueError:  # a float the encoder refuses never comes from JSON; NaN and Infinity do
        texts = [
            None if value is None else json.dumps(value, ensure_ascii=False, default=str) for value in values
        ]
    return pa.array(texts, type=pa.string())


def _with_overflow(row: dict[str, Any], kept: set[str]) -> dict[str, Any]:
    extra = {key: value for key, value in row.items() if key not in kept}
    return {**row, OVERFLOW: extra} if extra else row


class TableBuilder:
    """Rows in, columns out: rows are gathered ``CHUNK_ROWS`` at a time and turned into column chunks."""

    def __init__(self) -> None:
        self._pending: list[dict[str, Any]] = []
        self._columns: dict[str, _Column] = {}
        self._names: dict[str, str] = {}  # key as given -> column name (cleaned)
        self._rows = 0

    def add(self, row: Any) -> None:
        self._pending.append(row if isinstance(row, dict) else {"value": row})
        if len(self._pending) >= CHUNK_ROWS:
            self._flush()

    def _flush(self) -> None:
        chunk, self._pending = self._pending, []
        if not chunk:
            return
        first = chunk[0].keys()
        if all(row.keys() == first for row in chunk):
            keys = list(first)
        else:
            seen: dict[str, None] = {}
            for row in chunk:
                seen.update(dict.fromkeys(row))
            keys = list(seen)
        for key in keys:
            if key not in self._names:
                self._names[key] = clean_text(str(key), NAME_CHARS)
        if any(self._names[key] != key for key in keys):
            # Cleaned names can collide: the last field of that name wins, as when a row is shown.
            chunk = [{self._names[key]: value for key, value in row.items()} for row in chunk]
            keys = list(dict.fromkeys(self._names[key] for key in keys))
        room = MAX_COLUMNS - len(self._columns)
        fresh = [key for key in keys if key not in self._columns]
        kept = [key for key in keys if key in self._columns] + fresh[: max(room, 0)]
        if len(fresh) > max(room, 0):
            # Past MAX_COLUMNS, a row's other fields stay together as one JSON object.
            kept_set = set(kept)
            chunk = [_with_overflow(row, kept_set) for row in chunk]
            kept = [name for name in kept if name != OVERFLOW] + [OVERFLOW]
        for name in kept:
            column = self._columns.get(name)
            if column is None:
                column = self._columns[name] = _Column()
                column.add_nulls(self._rows)
            column.add([row.get(name) for row in chunk])
        for name, column in self._columns.items():
            if name not in kept:
                column.add_nulls(len(chunk))
        self._rows += len(chunk)

    def finish(self) -> Table:
        pa = _pyarrow()

        self._flush()
        arrays = {name: column.finish() for name, column in self._columns.items()}
        arrow = pa.table(arrays) if arrays else pa.table({})
        return Table.from_arrow(arrow, row_count=self._rows, keep_nulls=False)


# --- arrays of flat records, by Arrow's JSON reader ---------------------------------------------------

# Bytes of an array given to Arrow at once (about 10 000 sensor readings); a larger record widens it.
PIECE_BYTES = 1024 * 1024
# The smallest piece a body is cut into, and about how many a body is cut into (``_piece_bytes``).
MIN_PIECE_BYTES = 256 * 1024
PIECES_PER_BODY = 40
# Records of the array ``_warm`` reads once (about 300 KB).
WARM_RECORDS = 3000
# An array shorter than this (with what follows it) is left to the window reader: the pieces would cost more.
FAST_MIN_BYTES = 256 * 1024
# Threads that parse pieces (Arrow lets go of the GIL), and the pieces in flight: these bound the memory.
PIECE_WORKERS = max(1, min(4, os.cpu_count() or 1))
IN_FLIGHT = PIECE_WORKERS + 1
# Arrow's reader recurses once per level of nesting and overflows its thread's stack near 20 000 levels
# (a crash, not an error). A piece reaches it only when it provably cannot nest (``_flat``) or when it
# holds at most this many brackets in all, so no deeper nesting can get there.
MAX_OPENERS = 1000
# Integers past this are not all doubles: such a column is left to the window reader, which keeps them exact.
EXACT_DOUBLE = 2.0**53
# Bytes of the first records read to learn their fields (and which Arrow would take for dates).
PROBE_BYTES = 32 * 1024
# Most strings a dictionary with 16-bit codes holds.
INT16_CODES = 2**15 - 1
# Records sought backwards from a piece's end for one that may end it; past this the piece grows.
CUT_TRIES = 64

_SPACE_BYTES = re.compile(rb"[ \t\n\r]*")
_PIECE_KINDS = {"string": "string", "int64": "int", "double": "double", "bool": "bool", "null": "null"}
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


class _GiveUp(Exception):
    """Arrow cannot give this array exactly as the window reader would: that one reads it."""


def _warm() -> None:
    """Run the fast reader once, over about 300 KB of records of every kind it keeps (see ``_pyarrow``)."""
    records = (
        b'{"s":"a%d","u":"u%d","t":"2024-01-01T00:%02d:00Z","f":%d.5,"i":%d,"b":true,"n":null}'
        % (i % 7, i, i % 60, i, i)
        for i in range(WARM_RECORDS)
    )
    fast_records(b"[" + b",".join(records) + b"]", 0)


def _piece_bytes(body_bytes: int) -> int:
    """Bytes of the pieces a body of ``body_bytes`` is cut into: about 1/PIECES_PER_BODY of it, from
    MIN_PIECE_BYTES to PIECE_BYTES. Each piece in flight holds a few times its size while Arrow reads
    it, so a 10 MB body is read in pieces of 256 KB (its peak: 1.35x the body in all, 1.7x with pieces
    of 1 MB), and a 100 MB one in pieces of 1 MB (fewer calls: 1.4x quicker than pieces of 256 KB).
    A 1 MB body is 4 pieces: finer, the calls cost more than the second worker saves."""
    return max(MIN_PIECE_BYTES, min(PIECE_BYTES, body_bytes // PIECES_PER_BODY))


def _workers() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(PIECE_WORKERS, thread_name_prefix="edfs-mcp-json")
        return _pool


def _cut(content: bytes, start: int, end: int) -> tuple[int, int, bool] | None:
    """A record end in ``content[start:end]``, the last that looks like one: (index after its "}",
    index where what follows starts, True when that is the array's end "]" else the next record's "{").
    Only a guess: Arrow parsing the piece whole is what confirms it. None when there is none."""
    at = end
    for _ in range(CUT_TRIES):
        brace = content.rfind(b"}", start, at)
        if brace < 0:
            return None
        after = _SPACE_BYTES.match(content, brace + 1).end()  # type: ignore[union-attr]
        mark = content[after : after + 1]
        if mark == b"]":
            return brace + 1, after + 1, True
        if mark == b",":
            record = _SPACE_BYTES.match(content, after + 1).end()  # type: ignore[union-attr]
            if content[record : record + 1] == b"{":
                return brace + 1, record, False
        at = brace
    return None


def _flat(content: bytes, start: int, stop: int) -> bool:
    """Whether Arrow's reader can go no deeper than one record in ``content[start:stop]``, whatever the
    bytes are: no "[" at all, and every "{" but the first comes right after "},", so it can only start a
    record (after a "," inside an object the reader wants a key, and stops there)."""
    if content.find(b"[", start, stop) >= 0:
        return False
    return content.count(b"{", start, stop) == content.count(b"},{", start, stop) + 1


def _safe(content: bytes, start: int, stop: int) -> bool:
    if _flat(content, start, stop):
        return True
    return content.count(b"{", start, stop) + content.count(b"[", start, stop) <= MAX_OPENERS


def _parse_piece(content: bytes, start: int, stop: int, forced: frozenset[str], strict: Any = None) -> Any:
    """``content[start:stop]``, a run of records, as one Arrow StructArray; ``forced`` fields are read as
    strings (Arrow would read an ISO date as a timestamp).

    ``strict``, the fields the records are expected to have (a struct type, see ``_learn``), is tried
    first: Arrow reads with every field's type given and no other field allowed about 1.4x quicker
    than when it infers them. It refuses a field it was not given and a value of another kind, never
    converts one to a string, and reads an integer given as a double as a double (``_piece_columns``
    checks it is exact): then the piece is read again, inferring."""
    pa = _pyarrow()
    from pyarrow import json as pa_json

    wrapped = b"".join((b'{"d":[', memoryview(content)[start:stop], b"]}"))
    if not wrapped.isascii():
        wrapped.decode("utf-8")  # Arrow keeps bytes that are not UTF-8; the window reader replaces them
    read = pa_json.ReadOptions(use_threads=False, block_size=len(wrapped) + 1)
    table = None
    if strict is not None:
        parse = pa_json.ParseOptions(
            explicit_schema=pa.schema([("d", pa.list_(strict))]),
            unexpected_field_behavior="error",
            newlines_in_values=True,
        )
        with contextlib.suppress(pa.ArrowInvalid):  # another field, or another kind: inferred below
            table = pa_json.read_json(pa.BufferReader(wrapped), read_options=read, parse_options=parse)
    if table is None:
        parse = pa_json.ParseOptions(newlines_in_values=True)
        if forced:
            fields = pa.struct([(name, pa.string()) for name in sorted(forced)])
            parse = pa_json.ParseOptions(
                explicit_schema=pa.schema([("d", pa.list_(fields))]),
                unexpected_field_behavior="infer",
                newlines_in_values=True,
            )
        table = pa_json.read_json(pa.BufferReader(wrapped), read_options=read, parse_options=parse)
    del wrapped
    if table.num_rows != 1 or table.num_columns != 1:
        raise _GiveUp
    column = table.column(0).chunk(0)
    if not pa.types.is_list(column.type) or not pa.types.is_struct(column.type.value_type):
        raise _GiveUp  # records that are not all objects
    records = column.flatten()
    if records.null_count:
        raise _GiveUp  # a null among the records: a row of its own, {"value": null}
    return records


def _learn(known: Any, fields: Any) -> Any:
    """The fields expected of the next pieces (a struct type for ``_parse_piece``'s ``strict``): those
    ``known`` and those of ``fields`` (the struct type of a piece's records); a field read as null in
    one and as a kind in the other is of that kind, one read as int64 and as double a double. None
    when the records hold a kind the fast reader does not keep (the array is then given up anyway)."""
    pa = _pyarrow()

    types = {field.name: field.type for field in known} if known is not None else {}
    for field in fields:
        if str(field.type) not in _PIECE_KINDS:
            return None
        seen = types.get(field.name)
        if seen is None or pa.types.is_null(seen):
            types[field.name] = field.type
        elif {str(seen), str(field.type)} == {"int64", "double"}:
            types[field.name] = pa.float64()
    return pa.struct(list(types.items()))


def _piece_columns(records: Any) -> tuple[list[tuple[str, str, Any]], set[str]]:
    """The columns of one piece (name, kind, array), strings dictionary-encoded when that saves room;
    and the names Arrow read as dates or times (to be read again as strings)."""
    pa = _pyarrow()
    import pyarrow.compute as pc

    columns, temporal = [], set()
    for index, field in enumerate(records.type):
        array = records.field(index)
        if pa.types.is_temporal(field.type):
            temporal.add(field.name)
            continue
        kind = _PIECE_KINDS.get(str(field.type))
        if kind is None:
            raise _GiveUp  # nested values: kept as JSON by the window reader
        if kind == "double" and array.null_count < len(array):
            bounds = pc.min_max(array)
            if max(-bounds["min"].as_py(), bounds["max"].as_py()) >= EXACT_DOUBLE:
                raise _GiveUp  # maybe an integer a double cannot hold
        if kind == "string" and len(array) >= DICTIONARY_MIN_ROWS and array.null_count < len(array):
            encoded = pc.dictionary_encode(array)
            if len(encoded.dictionary) * 2 <= len(array) and len(encoded.dictionary) <= INT16_CODES:
                array = pa.DictionaryArray.from_arrays(encoded.indices.cast(pa.int16()), encoded.dictionary)
        columns.append((field.name, kind, array))
    return columns, temporal


def _read_run(
    content: bytes, start: int, stop: int, forced: frozenset[str], strict: Any
) -> tuple[list[tuple[int, list[tuple[str, str, Any]]]], frozenset[str], Any]:
    """The pieces of ``content[start:stop]`` (records, if the cut was right), each as (rows, columns),
    the fields forced to strings and the fields expected (``_learn``) after them; a run that may nest
    is read in smaller pieces (``_safe``). Runs on a worker thread."""
    pieces = []
    while True:
        stop_here = stop
        while not _safe(content, start, stop_here):
            cut = _cut(content, start, start + (stop_here - start) // 2)
            if cut is None or cut[2]:
                raise _GiveUp  # one record with more brackets than MAX_OPENERS
            stop_here = cut[0]
        records = _parse_piece(content, start, stop_here, forced, strict)
        columns, temporal = _piece_columns(records)
        if temporal:  # read again, those as strings, in the order the record gave them
            order = {field.name: index for index, field in enumerate(records.type)}
            forced = forced | temporal
            records = _parse_piece(content, start, stop_here, forced)
            columns, temporal = _piece_columns(records)
            if temporal:
                raise _GiveUp
            columns.sort(key=lambda column: order.get(column[0], len(order)))
        if strict is None or records.type != strict:
            strict = _learn(strict, records.type)
        pieces.append((len(records), columns))
        if stop_here == stop:
            return pieces, forced, strict
        after = _SPACE_BYTES.match(content, stop_here).end()  # type: ignore[union-attr]
        record = _SPACE_BYTES.match(content, after + 1).end()  # type: ignore[union-attr]
        if content[after : after + 1] != b"," or content[record : record + 1] != b"{":
            raise _GiveUp
        start = record


def fast_records(content: bytes, start: int) -> tuple[Table, int] | None:
    """The array at byte ``start`` of ``content`` as a table and the index after its "]", when it is an
    array of flat records that Arrow reads exactly as the window reader would; else None.

    The pieces are cut where a record seems to end and parsed on worker threads; a piece Arrow parses
    whole proves its cut (its first record began at a record's start, so its last ends at one), and so
    each piece proves the start of the next."""
    pa = _pyarrow()

    if content[start : start + 1] != b"[":
        return None
    first = _SPACE_BYTES.match(content, start + 1).end()  # type: ignore[union-attr]
    if content[first : first + 1] != b"{":
        return None  # empty, or not records: the window reader is as quick
    pool, pending = _workers(), deque[Future[Any]]()
    piece_bytes = _piece_bytes(len(content) - first)
    position, size, forced, end = first, piece_bytes, frozenset[str](), -1
    pieces: list[tuple[int, list[tuple[str, str, Any]]]] = []
    try:
        order, forced, strict = _probe(content, first)
        while end < 0 or pending:
            while end < 0 and len(pending) < IN_FLIGHT:
                cut = _cut(content, position, min(position + size, len(content)))
                if cut is None:
                    if position + size >= len(content):
                        raise _GiveUp  # no record ends: not an array of objects
                    size *= 2
                    continue
                stop, after, last = cut
                pending.append(pool.submit(_read_run, content, position, stop, forced, strict))
                position, size = after, piece_bytes
                if last:
                    end = after
            run, learned, expected = pending.popleft().result()
            forced |= learned
            if expected is not None and expected != strict:
                strict = expected if strict is None else _learn(strict, expected)
            pieces += run
        return _assemble(pieces, order), end
    except (_GiveUp, pa.ArrowException, ValueError, OverflowError):
        return None
    finally:
        for future in pending:
            future.cancel()


def _probe(content: bytes, first: int) -> tuple[list[str], frozenset[str], Any]:
    """The fields of the first records, in their order, those Arrow reads as dates or times (the pieces
    are read with those as strings from the start, not read twice), and the fields the pieces are
    expected to have (``_learn``)."""
    pa = _pyarrow()

    cut = _cut(content, first, min(first + PROBE_BYTES, len(content)))
    if cut is None or not _safe(content, first, cut[0]):
        return [], frozenset(), None
    records = _parse_piece(content, first, cut[0], frozenset())
    forced = frozenset(field.name for field in records.type if pa.types.is_temporal(field.type))
    fields = pa.struct(
        [(field.name, pa.string() if field.name in forced else field.type) for field in records.type]
    )
    return [field.name for field in records.type], forced, _learn(None, fields)


def _assemble(pieces: list[tuple[int, list[tuple[str, str, Any]]]], order: list[str]) -> Table:
    """One table from the pieces' columns, each column of one type as ``_Column.finish`` chooses it;
    the first records' fields first, in their ``order``, then the others as they come."""
    pa = _pyarrow()

    names: dict[str, set[str]] = {}
    for _, columns in pieces:
        for name, _, _ in columns:
            if name in order:
                names.setdefault(name, set())
    names = {name: names[name] for name in order if name in names}
    for _, columns in pieces:
        for name, kind, _ in columns:
            names.setdefault(name, set()).add(kind)
    if not names or len(names) > MAX_COLUMNS or any(clean_text(name, NAME_CHARS) != name for name in names):
        raise _GiveUp  # no fields, too many, or names that would be cleaned: as the window reader does it
    wanted_types = {}
    for name, seen in names.items():
        kinds = seen - {"null"}
        if kinds == {"int", "double"}:
            kinds = {"double"}
        if len(kinds) > 1:
            raise _GiveUp  # values of several kinds: a JSON column
        kind = kinds.pop() if kinds else "null"
        wanted_types[name] = {"bool": pa.bool_(), "int": pa.int64(), "double": pa.float64()}.get(
            kind, pa.string()
        )
    arrays: dict[str, Any] = {}
    rows = sum(count for count, _ in pieces)
    for name, wanted in wanted_types.items():
        chunks = []
        for count, columns in pieces:
            found = next((array for column, _, array in columns if column == name), None)
            if found is None or pa.types.is_null(found.type):
                chunks.append(pa.nulls(count, wanted))
            elif pa.types.is_dictionary(found.type) or found.type == wanted:
                chunks.append(found)
            else:
                chunks.append(found.cast(wanted))  # int64 → double: raises past 2**53, as _Column does
        if pa.types.is_string(wanted) and all(pa.types.is_dictionary(chunk.type) for chunk in chunks):
            arrays[name] = pa.chunked_array(chunks, type=pa.dictionary(pa.int16(), pa.string()))
        else:
            plain_chunks = [
                chunk.dictionary_decode() if pa.types.is_dictionary(chunk.type) else chunk for chunk in chunks
            ]
            arrays[name] = pa.chunked_array(plain_chunks, type=wanted)
    return Table.from_arrow(pa.table(arrays), row_count=rows, keep_nulls=False)


# --- JSON, read in windows ----------------------------------------------------------------------------


class _Reader:
    """A JSON document read a window at a time: ``value()`` decodes the next value where it stands."""

    def __init__(self, content: bytes | str, window_bytes: int = WINDOW_BYTES) -> None:
        self._window = window_bytes
        self._content = content
        self._offset = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.text = ""
        self.pos = 0

    def _more(self, at_least: int = 0) -> bool:
        """Read on: keep what is not consumed, add at least ``at_least`` more bytes. False at the end."""
        if self._offset >= len(self._content):
            return False
        piece = self._content[self._offset : self._offset + max(at_least, self._window)]
        self._offset += len(piece)
        more = (
            piece
            if isinstance(piece, str)
            else self._decoder.decode(piece, self._offset >= len(self._content))
        )
        self.text = self.text[self.pos :] + more
        self.pos = 0
        return True

    def _wider(self) -> int:
        """Bytes to read so the value being decoded gets at least twice the room it had."""
        return 2 * (len(self.text) - self.pos)

    def peek(self) -> str:
        """The next character that is not white space ("" at the end); the position moves onto it."""
        while True:
            self.pos = _SPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.text) or not self._more():
                return self.text[self.pos : self.pos + 1]

    def take(self, expected: str) -> str:
        char = self.peek()
        if not char or char not in expected:
            raise ValueError(
                f"Expecting one of {expected!r} at character {self._offset - len(self.text) + self.pos}"
            )
        self.pos += 1
        return char

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = _JSON.raw_decode(self.text, self.pos)
            except json.JSONDecodeError:
                # Cut by the window, or malformed: read on, twice what is left, and try again until the end.
                if not self._more(self._wider()):
                    raise
                continue
            if end == len(self.text) and self._more(self._wider()):
                continue  # a number at the window's edge may go on
            self.pos = end
            return value

    def byte_position(self) -> int | None:
        """Where the position is in the bytes, or None when that is not known exactly (the window
        holds a replacement character: an undecodable byte, whose length is lost)."""
        if isinstance(self._content, str):
            return None
        rest = self.text[self.pos :]
        if "\ufffd" in rest:
            return None
        pending = len(self._decoder.getstate()[0])  # bytes read, not yet decoded (a cut character)
        return self._offset - pending - len(rest.encode("utf-8"))

    def seek(self, offset: int) -> None:
        """Go on from byte ``offset`` (the end of what another reader parsed)."""
        self._offset, self.text, self.pos = offset, "", 0
        self._decoder.reset()

    def records(self) -> Table:
        """The array at the position as a table: its flat records by Arrow when they are many, else
        (or when Arrow cannot give them exactly as this reader would) one record at a time."""
        self.peek()
        start = self.byte_position()
        if start is not None and len(self._content) - start >= FAST_MIN_BYTES:
            assert isinstance(self._content, bytes)
            fast = fast_records(self._content, start)
            if fast is not None:
                table, end = fast
                self.seek(end)
                return table
        builder = TableBuilder()
        self.array(builder)
        return builder.finish()

    def array(self, builder: TableBuilder) -> None:
        """The array at the position, each item added to ``builder`` as a row."""
        self.take("[")
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            builder.add(self.value())
            if self.take(",]") == "]":
                return


def parse_json_payload(content: bytes | str, *, window_bytes: int = WINDOW_BYTES) -> Table:
    """Raises ValueError when the content is not JSON, TooDeep when it nests too deeply.

    ``window_bytes``: how much of the body is decoded at once (a record larger widens it)."""
    try:
        return _parse_json(content, window_bytes)
    except RecursionError:
        raise TooDeep("the JSON nests too deeply to read") from None


def _parse_json(content: bytes | str, window_bytes: int) -> Table:
    if len(content) <= window_bytes:  # one window anyway: the C parser at once is quicker
        return Table(_records(json.loads(content)))
    reader = _Reader(content, window_bytes)
    builder = TableBuilder()
    first = reader.peek()
    if first == "[":
        records = reader.records()
        _at_end(reader)
        return records
    elif first == "{":
        table = _records_in_object(reader, content)
        if table is not None:
            _at_end(reader)
            return table
    else:
        builder.add(reader.value())
    _at_end(reader)
    return builder.finish()


def _records(document: Any) -> list[Any]:
    """The records of a parsed document, chosen as ``_records_in_object`` chooses them."""
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        lists = {key: value for key, value in document.items() if isinstance(value, list)}
        lowered = {key.lower(): key for key in lists}
        for wanted in RECORD_KEYS:
            if wanted in lowered:
                records: list[Any] = lists[lowered[wanted]]
                return records
        if len(lists) == 1:
            (only,) = lists.values()
            return only
    return [document]


def _at_end(reader: _Reader) -> None:
    if reader.peek():
        raise ValueError("Extra data after the JSON document")


def _records_in_object(reader: _Reader, content: bytes | str) -> Table | None:
    """The records of a top-level object: the list under a known key, or its only list; else the
    object itself is the one record (then None is returned here and the object is read whole)."""
    lists: dict[str, Table] = {}
    others: dict[str, Any] = {}
    reader.take("{")
    if reader.peek() != "}":
        while True:
            key = reader.value()
            if not isinstance(key, str):
                raise ValueError("Expecting property name enclosed in double quotes")
            reader.take(":")
            if reader.peek() == "[":
                lists[key] = reader.records()
                others.pop(key, None)
            else:
                others[key] = reader.value()
                lists.pop(key, None)
            if reader.take(",}") == "}":
                break
    else:
        reader.pos += 1
    lowered = {key.lower(): key for key in lists}
    for wanted in RECORD_KEYS:
        if wanted in lowered:
            return lists[lowered[wanted]]
    if len(lists) == 1:
        (only,) = lists.values()
        return only
    if not lists:
        return Table([others])
    _at_end(reader)
    return Table([json.loads(content)])  # several lists, none of them known: the object is the record


# --- XML ------------------------------------------------------------------------------------------------


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
