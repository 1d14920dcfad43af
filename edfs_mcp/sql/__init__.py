"""SQL over a cached result: one read-only query, run by DuckDB in a process of its own.

DuckDB runs in a child process (``_child``), started on the first query and kept for the next
ones; the server never imports duckdb, so neither start-up nor a server that is never asked a
query pays for it. The child is the sandbox: DuckDB's memory limit does not cover every
allocation (a query can build a gigabyte string inside one vector), so the child also runs
under process limits, and the worst a query can do is end the child, never the server. A
result's Arrow table is streamed to the child once and kept there (within
``CHILD_TABLE_BYTES``), so later questions about it cost only the query.

Limits: ``QUERY_SECONDS`` per query (interrupted; the child is killed ``GRACE_SECONDS`` later
if the interrupt is not heard), ``MEMORY_MB`` for DuckDB, ``DATA_MB`` more data segment for
the whole child, one thread, ``MAX_ANSWER_ROWS`` rows kept of an answer.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import weakref
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import IO, Any, Literal

from edfs_mcp.errors import EdfsMcpError
from edfs_mcp.sql._wire import read_arrow, read_header, write_arrow, write_header
from edfs_mcp.tabular import Table

__all__ = [
    "MAX_ANSWER_ROWS",
    "MAX_SQL_CHARS",
    "MEMORY_MB",
    "QUERY_SECONDS",
    "Answer",
    "SqlEngine",
    "SqlError",
    "SqlFailed",
    "SqlRefused",
    "SqlStopped",
]

QUERY_SECONDS = 5.0
GRACE_SECONDS = 3.0
START_SECONDS = 60.0
MEMORY_MB = 256
DATA_MB = 1024
MAX_ANSWER_ROWS = 10_000
MAX_SQL_CHARS = 8000
CHILD_TABLE_BYTES = 128 * 1024 * 1024


@dataclass(frozen=True)
class Answer:
    table: Table
    more: bool  # the answer had more than max_rows rows; the first max_rows are kept


class SqlError(EdfsMcpError):
    """A query over a result gave no answer: refused, failed or stopped."""


class SqlRefused(SqlError):
    """The query is not one SELECT over ``result``: ``what`` names what was refused. Nothing ran."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class SqlFailed(SqlError):
    """DuckDB could not run the query (syntax, unknown column or function, type...): its words."""


class SqlStopped(SqlError):
    """A limit stopped the query: ``limit`` is "time" or "memory"."""

    def __init__(self, limit: Literal["time", "memory"]) -> None:
        super().__init__(limit)
        self.limit = limit


class SqlEngine:
    """The server's side of the SQL process. ``query`` blocks: call it from a worker thread."""

    def __init__(
        self,
        *,
        seconds: float = QUERY_SECONDS,
        memory_mb: int = MEMORY_MB,
        data_mb: int = DATA_MB,
        max_rows: int = MAX_ANSWER_ROWS,
        table_bytes: int = CHILD_TABLE_BYTES,
    ) -> None:
        self.seconds = seconds
        self.memory_mb = memory_mb
        self.max_rows = max_rows
        self._limits = {"memory_mb": memory_mb, "data_mb": data_mb}
        self._table_bytes = table_bytes
        self._lock = threading.Lock()
        self._process: list[subprocess.Popen[bytes]] = []  # the running child, if any
        self._held: OrderedDict[str, int] = OrderedDict()  # tables the child holds -> bytes
        self._drop: list[str] = []  # keys to tell the child to forget, with the next request
        self._forgotten: deque[str] = deque()  # results gone from the cache, not yet handled
        weakref.finalize(self, _stop, self._process)

    @property
    def pid(self) -> int | None:
        return self._process[0].pid if self._process else None

    def forget(self, key: str) -> None:
        """The result ``key`` is gone from the cache: the child drops its copy with the next request.

        Never waits (the cache calls it on the event loop while a query may be running)."""
        self._forgotten.append(key)

    def close(self) -> None:
        with self._lock:
            _stop(self._process)
            self._held.clear()

    def query(self, key: str, table: Table, sql: str) -> Answer:
        """The answer to ``sql`` over ``table`` (named ``result``).

        Raises SqlRefused, SqlFailed or SqlStopped."""
        with self._lock:
            header, answer = self._ask(key, table, sql)
        if header.get("ok"):
            arrow = answer
            return Answer(Table.from_arrow(arrow, header.get("types")), bool(header.get("more")))
        kind = header.get("kind")
        if kind == "refused":
            raise SqlRefused(str(header.get("what")))
        if kind in ("time", "memory"):
            raise SqlStopped(kind)
        raise SqlFailed(str(header.get("message", "")))

    def _ask(self, key: str, table: Table, sql: str) -> tuple[dict[str, Any], Any]:
        while self._forgotten:
            gone = self._forgotten.popleft()
            if self._held.pop(gone, None) is not None:
                self._drop.append(gone)
        process = self._child()
        send_table = key not in self._held
        request = {
            "key": key,
            "sql": sql,
            "max_rows": self.max_rows,
            "seconds": self.seconds,
            "drop": self._drop,
            "arrow": send_table,
        }
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            process.kill()

        # The child interrupts its own query at `seconds`; this is the backstop if it does not.
        timer = threading.Timer(self.seconds + GRACE_SECONDS + table.nbytes / 50e6, kill)
        timer.start()
        try:
            stdin, stdout = _pipes(process)
            try:
                write_header(stdin, request)
                if send_table:
                    write_arrow(stdin, table.arrow)
                stdin.flush()
            except OSError:
                pass  # it died; the answer below is missing and says so
            self._drop = []
            header = read_header(stdout)
            answer = read_arrow(stdout) if header is not None and header.get("arrow") else None
        finally:
            timer.cancel()
        if header is None:  # the child ended: killed at the deadline, or out of memory
            self._restart()
            return {"ok": False, "kind": "time" if killed.is_set() else "memory"}, None
        if send_table:
            self._held[key] = table.nbytes
            self._held.move_to_end(key)
            self._evict(keep=key)
        if header.get("kind") == "memory":
            self._restart()  # its allocator may still hold what the query took
        return header, answer

    def _evict(self, keep: str) -> None:
        while sum(self._held.values()) > self._table_bytes and len(self._held) > 1:
            oldest = next(key for key in self._held if key != keep)
            del self._held[oldest]
            self._drop.append(oldest)

    def _child(self) -> subprocess.Popen[bytes]:
        if self._process and self._process[0].poll() is None:
            return self._process[0]
        self._restart()
        from edfs_mcp.config import environment_without_settings

        env = environment_without_settings()
        process = subprocess.Popen(  # noqa: S603 - our own module, with the interpreter running us
            [sys.executable, "-m", "edfs_mcp.sql._child", json.dumps(self._limits)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        self._process.append(process)
        timer = threading.Timer(START_SECONDS, process.kill)
        timer.start()
        try:
            ready = read_header(_pipes(process)[1])
        finally:
            timer.cancel()
        if ready is None:
            self._restart()
            raise SqlFailed("the SQL engine did not start (see the server's log)")
        return process

    def _restart(self) -> None:
        _stop(self._process)
        self._held.clear()
        self._drop = []


def _pipes(process: subprocess.Popen[bytes]) -> tuple[IO[bytes], IO[bytes]]:
    assert process.stdin is not None and process.stdout is not None
    return process.stdin, process.stdout


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """End the child: closing its stdin ends its loop; killed if it does not end at once."""
    while processes:
        process = processes.pop()
        for stream in (process.stdin, process.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
