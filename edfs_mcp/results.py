"""Bounded previews of package results, and the cache behind ``read_execution_result``.

A package can return 100 000 rows; a model's context holds a few thousand. A tool
returns as many rows as fit the token budget and keeps the whole table here for a
while, under an unguessable ``result_id``, so the model can page through it
without running the package again.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edfs_mcp.errors import EdfsMcpError
from edfs_mcp.tabular import Table
from edfs_mcp.untrusted import clip_value

if TYPE_CHECKING:
    from edfs_mcp.sql import SqlEngine

__all__ = [
    "Page",
    "ResultCacheUnavailable",
    "ResultError",
    "ResultGone",
    "ResultStore",
    "StoredResult",
    "estimate_tokens",
    "page_rows",
]

# JSON of tabular data runs at roughly 3 to 4 characters per cl100k token; 3 keeps estimates on the safe side.
CHARS_PER_TOKEN = 3.0
# Up to this many rows, a page is first tried whole with one dump.
WHOLE_PAGE_ROWS = 500
# Rows made into dicts at once when a page is filled row by row.
ROW_BATCH = 256


def estimate_tokens(text: str) -> int:
    """An upper estimate of cl100k tokens. Non-ASCII text costs far more per character (a CJK
    character is a token or two, an emoji more), so each byte past the first of a character
    counts two thirds of a token."""
    extra_bytes = len(text.encode("utf-8", "surrogatepass")) - len(text) if not text.isascii() else 0
    return int(len(text) / CHARS_PER_TOKEN + extra_bytes / 1.5) + 1


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    offset: int
    next_offset: int | None


def page_rows(
    table: Table, *, offset: int, limit: int, budget_tokens: int, columns: Sequence[str] | None = None
) -> Page:
    """Rows from ``offset``: at most ``limit`` of them, and no more than fit ``budget_tokens``.

    Rows come out clipped (untrusted.clip_value): cleaned strings, bounded cells and nesting.
    At least one row is returned when any remain, so paging always makes progress; a row too
    big for the budget on its own is cut further until it fits.
    """
    total = len(table.rows)
    end = min(total, offset + limit)
    candidates: list[dict[str, Any]] = []
    if end - offset <= WHOLE_PAGE_ROWS:
        candidates = [_shown(row, columns) for row in table.rows[offset:end]]
        # One C-level dump decides the common case of a small result that fits whole.
        if estimate_tokens(_dumps(candidates)) <= budget_tokens:
            return Page(rows=candidates, offset=offset, next_offset=end if end < total else None)
    rows: list[dict[str, Any]] = []
    spent = 0
    for row in candidates or _shown_rows(table, offset, end, columns):
        cost = estimate_tokens(_dumps(row))
        if rows and spent + cost > budget_tokens:
            break
        if not rows and cost > budget_tokens:
            row = _fitted(row, budget_tokens)
            cost = estimate_tokens(_dumps(row))
        rows.append(row)
        spent += cost
    stop = offset + len(rows)
    return Page(rows=rows, offset=offset, next_offset=stop if stop < total else None)


def _shown_rows(
    table: Table, start: int, stop: int, columns: Sequence[str] | None
) -> Iterator[dict[str, Any]]:
    """Rows made a batch at a time: a page ends at the budget long before a 100 000-row limit."""
    for first in range(start, stop, ROW_BATCH):
        for row in table.rows[first : min(first + ROW_BATCH, stop)]:
            yield _shown(row, columns)


def _shown(row: dict[str, Any], columns: Sequence[str] | None) -> dict[str, Any]:
    # Clipped first, so the cleaned column names a model was shown select the same cells.
    shown: dict[str, Any] = clip_value(row)
    return {name: shown.get(name) for name in columns} if columns else shown


def _fitted(row: dict[str, Any], budget_tokens: int) -> dict[str, Any]:
    """A row alone over the budget, with its cells cut shorter until it fits (or a marker if none does)."""
    for cell_chars in (500, 100, 20):
        smaller: dict[str, Any] = clip_value(row, limit=cell_chars)
        if estimate_tokens(_dumps(smaller)) <= budget_tokens:
            return smaller
    return {"…": f"[row too large to show: {len(row)} fields]"}


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class StoredResult:
    result_id: str
    table: Table
    source: str
    owner: str
    size_bytes: int
    expires_at: float


class ResultError(EdfsMcpError):
    """A cached result could not be read or kept."""


class ResultGone(ResultError):
    """A result_id that cannot be read: ``reason`` is "expired", "evicted" or "unknown"."""

    def __init__(self, result_id: str, reason: str) -> None:
        super().__init__(f"{result_id}: {reason}")
        self.result_id = result_id
        self.reason = reason


class ResultCacheUnavailable(ResultError):
    """The shared result cache (Redis, ``EDFS_MCP_REDIS_URL``) did not answer a put or a get.

    It says nothing of the call's own work: a package that ran, ran. The tools catch it and say so
    (``messages.result_cache_down_*``); one that escapes them still reaches the model through the
    write journal (``tools._outcome``), which tells what became of a write sent before it.
    """

    def __init__(self, location: str, detail: str) -> None:
        super().__init__(
            f"the shared result cache (Redis at {location}, EDFS_MCP_REDIS_URL) is unreachable: {detail}."
        )
        self.location = location
        self.detail = detail

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.location, self.detail))


# How many result_ids to remember as expired or evicted, so their message can say so.
REMEMBERED_GONE = 1000


class ResultStore:
    """Results kept for ``ttl_seconds`` within ``max_bytes`` (the bytes of their columns), each
    readable only by the principal that made it. The oldest go first when the budget is full.

    The store also owns the SQL engine that answers queries over its results (made on the first
    query): a result that leaves the store leaves the engine's process too.

    ``put`` and ``get`` are coroutines, since a shared store (``edfs_mcp.state.redis_results``) waits
    on the network for them; a store that cannot be reached raises :class:`ResultCacheUnavailable`.
    Here, in memory, they never wait nor fail that way."""

    def __init__(
        self,
        *,
        ttl_seconds: float = 1800.0,
        max_bytes: int = 256 * 1024 * 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_bytes = max_bytes
        self._clock = clock
        self._results: OrderedDict[str, StoredResult] = OrderedDict()
        self._gone: OrderedDict[str, str] = OrderedDict()
        self._bytes = 0
        self._sql: SqlEngine | None = None

    def sql_engine(self) -> SqlEngine:
        if self._sql is None:
            from edfs_mcp.sql import SqlEngine

            self._sql = SqlEngine()
        return self._sql

    def close(self) -> None:
        """Stop the SQL engine's process, if one was started."""
        if self._sql is not None:
            self._sql.close()

    async def aclose(self) -> None:
        """``close``, and for a shared store its connections too, waiting for them to close."""
        self.close()

    @property
    def bytes_held(self) -> int:
        return self._bytes

    async def put(self, table: Table, source: str, *, owner: str, size_bytes: int) -> StoredResult | None:
        """Keep ``table``; None when it alone is larger than the whole budget (it is not kept)."""
        self._expire()
        if size_bytes > self.max_bytes:
            return None
        while self._results and self._bytes + size_bytes > self.max_bytes:
            _, oldest = self._results.popitem(last=False)
            self._forget(oldest, "evicted")
        stored = StoredResult(
            result_id="r_" + secrets.token_urlsafe(12),
            table=table,
            source=source,
            owner=owner,
            size_bytes=size_bytes,
            expires_at=self._clock() + self.ttl_seconds,
        )
        self._results[stored.result_id] = stored
        self._bytes += size_bytes
        return stored

    async def get(self, result_id: str, *, owner: str) -> StoredResult:
        """The result, or ResultGone. Another principal's result is "unknown": its existence is not told."""
        self._expire()
        stored = self._results.get(result_id)
        if stored is not None and stored.owner == owner:
            return stored
        reason = self._gone.get(result_id, "unknown") if stored is None else "unknown"
        raise ResultGone(result_id, reason)

    def _forget(self, stored: StoredResult, reason: str) -> None:
        self._bytes -= stored.size_bytes
        if self._sql is not None:
            self._sql.forget(stored.result_id)
        self._gone[stored.result_id] = reason
        while len(self._gone) > REMEMBERED_GONE:
            self._gone.popitem(last=False)

    def _expire(self) -> None:
        now = self._clock()
        for stored in [s for s in self._results.values() if s.expires_at <= now]:
            del self._results[stored.result_id]
            self._forget(stored, "expired")
