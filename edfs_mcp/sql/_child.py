"""The SQL process: a hardened, in-memory DuckDB that answers one query at a time over the pipe.

Started by ``edfs_mcp.sql.SqlEngine`` as ``python -m edfs_mcp.sql._child LIMITS_JSON``. It reads
requests on stdin and answers on what was stdout (stdout itself is pointed at stderr, so nothing
else can write into the answers). Hardening, in order:

- DuckDB's configuration: external access disabled (no file, no network, no ATTACH, COPY,
  EXPORT or INSTALL), extensions neither installed nor loaded automatically, nor unsigned or
  community ones, no temporary directory (nothing spills to disk), no Python replacement scans
  (a query sees only the table it is given), a memory limit and one thread; then the
  configuration is locked, so no query can change any of it.
- Each query is checked first (``_guard``): one SELECT, over ``result`` only.
- A watchdog interrupts a query at its time limit; the server kills the process a little later
  if the interrupt is not heard.
- Process limits (POSIX): no file may be written (RLIMIT_FSIZE 0), no core dump, and the data
  segment may grow only so far (RLIMIT_DATA): a query that builds huge values inside one
  vector, which DuckDB's memory limit does not count, fails here or ends this process, never
  the server.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import IO, Any

from edfs_mcp.sql._guard import RESULT_TABLE, refusal_in_tree, statement_refusal
from edfs_mcp.sql._wire import read_arrow, read_header, write_arrow, write_header

# The answer is sent in batches of this many rows.
BATCH_ROWS = 2048


class Watchdog:
    """One thread, started before the process limits are set, that interrupts the running query."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._target: Any = None
        self._deadline: float | None = None
        self.fired = False
        threading.Thread(target=self._run, daemon=True, name="sql-watchdog").start()

    def arm(self, cursor: Any, seconds: float) -> None:
        import time

        with self._lock:
            self._target, self._deadline, self.fired = cursor, time.monotonic() + seconds, False
            self._lock.notify()

    def disarm(self) -> None:
        with self._lock:
            self._target, self._deadline = None, None
            self._lock.notify()

    def _run(self) -> None:
        import time

        with self._lock:
            while True:
                if self._deadline is None:
                    self._lock.wait()
                    continue
                left = self._deadline - time.monotonic()
                if left > 0:
                    self._lock.wait(left)
                    continue
                self.fired = True
                self._target.interrupt()
                self._deadline = None


def connect(memory_mb: int) -> Any:
    import duckdb

    connection = duckdb.connect(
        ":memory:",
        config={
            "enable_external_access": False,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "allow_community_extensions": False,
            "allow_unsigned_extensions": False,
            "python_enable_replacements": False,
            "temp_directory": "",
            "max_temp_directory_size": "0B",
            "memory_limit": f"{memory_mb}MB",
            "threads": 1,
        },
    )
    connection.execute("SET lock_configuration = true")
    return connection


def refusal(connection: Any, sql: str) -> str | None:
    """Why ``sql`` is refused, or None. Raises duckdb.Error when it does not even parse."""
    import duckdb

    statements = duckdb.extract_statements(sql)
    refused = statement_refusal([statement.type.name for statement in statements])
    if refused:
        return refused
    ((text,),) = connection.execute("SELECT json_serialize_sql($1)", [sql]).fetchall()
    return refusal_in_tree(json.loads(text))


def run_query(
    connection: Any, watchdog: Watchdog, table: Any, sql: str, max_rows: int, seconds: float
) -> tuple[dict[str, Any], Any]:
    """(header, answer table or None) for one query over ``table``."""
    import duckdb
    import pyarrow as pa

    cursor = connection.cursor()
    watchdog.arm(cursor, seconds)
    try:
        refused = refusal(cursor, sql)
        if refused:
            return {"ok": False, "kind": "refused", "what": refused}, None
        cursor.register(RESULT_TABLE, table)
        relation = cursor.sql(sql)
        if relation is None:  # not a query after all; the guard makes this unreachable
            return {"ok": False, "kind": "refused", "what": "a statement that returns no rows"}, None
        names, types = list(relation.columns), [str(kind) for kind in relation.types]
        reader = relation.to_arrow_reader(BATCH_ROWS)
        batches, rows, more = [], 0, False
        for batch in reader:
            if rows + batch.num_rows > max_rows:
                batches.append(batch.slice(0, max_rows - rows))
                rows, more = max_rows, True
                break
            batches.append(batch)
            rows += batch.num_rows
        answer = pa.Table.from_batches(batches, schema=reader.schema)
        header = {"ok": True, "columns": names, "types": types, "more": more}
        return header, answer
    except duckdb.InterruptException:
        return {"ok": False, "kind": "time" if watchdog.fired else "error", "message": "interrupted"}, None
    except (duckdb.OutOfMemoryException, MemoryError) as exc:
        return {"ok": False, "kind": "memory", "message": str(exc)}, None
    except duckdb.Error as exc:
        return {"ok": False, "kind": "error", "message": str(exc)}, None
    finally:
        watchdog.disarm()
        cursor.close()


def limit_process(data_mb: int) -> None:
    """No files written, no core, and at most ``data_mb`` more MiB of data segment (POSIX only)."""
    try:
        import resource
        import signal
    except ImportError:  # Windows: DuckDB's own limits only
        return
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing us
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    used = _data_bytes()
    if used is not None and hasattr(resource, "RLIMIT_DATA"):
        cap = used + data_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))


def _data_bytes() -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def serve(requests: IO[bytes], answers: IO[bytes], limits: dict[str, Any]) -> None:
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())
    connection = connect(int(limits["memory_mb"]))
    watchdog = Watchdog()
    limit_process(int(limits["data_mb"]))
    tables: dict[str, Any] = {}
    write_header(answers, {"ok": True, "ready": True})
    answers.flush()
    while True:
        request = read_header(requests)
        if request is None:
            return
        for key in request.get("drop", []):
            tables.pop(key, None)
        if request.get("arrow"):
            tables[request["key"]] = read_arrow(requests)
        table = tables.get(request["key"])
        if table is None:
            header, answer = {"ok": False, "kind": "missing"}, None
        else:
            header, answer = run_query(
                connection,
                watchdog,
                table,
                request["sql"],
                int(request["max_rows"]),
                float(request["seconds"]),
            )
        header["arrow"] = answer is not None
        write_header(answers, header)
        if answer is not None:
            write_arrow(answers, answer)
        answers.flush()


def main() -> None:
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print goes to the log, not the answers
    requests = os.fdopen(os.dup(sys.stdin.fileno()), "rb")
    serve(requests, answers, json.loads(sys.argv[1]))


if __name__ == "__main__":
    main()
