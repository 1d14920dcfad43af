"""The SQL child's query logic in this process: its hardened connection, the check before a query,
the row cap, the watchdog and how each failure is reported. The process around it (the pipe, its
file and memory limits) is tested through ``SqlEngine`` in tests/sql/test_sql.py; its process limits
are not applied here, where they would bind the test process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from edfs_mcp.sql._child import BATCH_ROWS, Watchdog, connect, refusal, run_query

TABLE = pa.table({"id": list(range(5000)), "name": [f"row {i % 7}" for i in range(5000)]})


@pytest.fixture(scope="module")
def connection() -> Iterator[Any]:
    opened = connect(64)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def watchdog() -> Watchdog:
    return Watchdog()


def test_the_connection_is_locked_down(connection: Any) -> None:
    settings = dict(
        connection.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN "
            "('enable_external_access', 'threads', 'lock_configuration', 'autoload_known_extensions')"
        ).fetchall()
    )
    assert settings == {
        "enable_external_access": "false",
        "threads": "1",
        "lock_configuration": "true",
        "autoload_known_extensions": "false",
    }
    with pytest.raises(duckdb.Error):
        connection.execute("SET enable_external_access = true")


@pytest.mark.parametrize(
    ("sql", "refused"),
    [
        ("SELECT count(*) FROM result", None),
        ("SELECT 1; SELECT 2", "2 statements in one call"),
        ("COPY result TO 'x.csv'", "a COPY statement"),
        ("SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
    ],
)
def test_refusal_names_what_is_not_allowed(connection: Any, sql: str, refused: str | None) -> None:
    said = refusal(connection, sql)
    if refused is None:
        assert said is None
    else:
        assert said is not None and refused in said, said


def test_a_query_answers_its_columns_types_and_rows(connection: Any, watchdog: Watchdog) -> None:
    header, answer = run_query(
        connection,
        watchdog,
        TABLE,
        "SELECT name, count(*) AS n FROM result GROUP BY name ORDER BY name",
        100,
        5,
    )
    assert header == {"ok": True, "columns": ["name", "n"], "types": ["VARCHAR", "BIGINT"], "more": False}
    assert answer.num_rows == 7 and answer.column("name").to_pylist()[0] == "row 0"


def test_rows_past_the_cap_are_cut_and_said(connection: Any, watchdog: Watchdog) -> None:
    cap = BATCH_ROWS + 10  # the cut falls inside the second batch
    header, answer = run_query(connection, watchdog, TABLE, "SELECT id FROM result ORDER BY id", cap, 5)
    assert header["ok"] and header["more"] is True
    assert answer.num_rows == cap and answer.column("id").to_pylist()[-1] == cap - 1


def test_a_refused_query_is_not_run(connection: Any, watchdog: Watchdog) -> None:
    header, answer = run_query(connection, watchdog, TABLE, "DROP TABLE result", 10, 5)
    assert header["ok"] is False and header["kind"] == "refused" and answer is None


def test_a_query_that_fails_says_why(connection: Any, watchdog: Watchdog) -> None:
    header, answer = run_query(connection, watchdog, TABLE, "SELECT missing_column FROM result", 10, 5)
    assert header["ok"] is False and header["kind"] == "error" and "missing_column" in header["message"]
    assert answer is None


def test_the_watchdog_interrupts_a_query_at_its_time_limit(connection: Any, watchdog: Watchdog) -> None:
    endless = "SELECT count(*) FROM range(1000000000000) a"
    header, answer = run_query(connection, watchdog, TABLE, endless, 10, 0.2)
    assert header == {"ok": False, "kind": "time", "message": "interrupted"} and answer is None
    # The connection still answers the next query, and the watchdog is disarmed after each one.
    header, _ = run_query(connection, watchdog, TABLE, "SELECT 1 AS one", 10, 5)
    assert header["ok"] and watchdog.fired is False
