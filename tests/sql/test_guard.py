"""The statement check, on DuckDB's own parse: statement kinds, and the tables a SELECT may name."""

import json
from typing import Any

import duckdb
import pytest

from edfs_mcp.sql._guard import refusal_in_tree, statement_refusal


def _tree(sql: str) -> Any:
    ((text,),) = duckdb.connect().execute("SELECT json_serialize_sql($1)", [sql]).fetchall()
    return json.loads(text)


@pytest.mark.parametrize(
    ("kinds", "refused"),
    [
        (["SELECT"], None),
        ([], "an empty query"),
        (["SELECT", "SELECT"], "2 statements in one call"),
        (["COPY"], "a COPY statement"),
        (["ATTACH"], "an ATTACH statement"),
        (["VARIABLE_SET"], "a VARIABLE SET statement"),
    ],
)
def test_only_one_select_statement_passes(kinds: list[str], refused: str | None) -> None:
    assert statement_refusal(kinds) == refused


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM result",
        "FROM result",
        "SELECT status, count(*) FROM result GROUP BY ALL",
        "WITH a AS (SELECT * FROM result), b AS (SELECT * FROM a) SELECT * FROM b",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r",
        "SELECT * FROM result x JOIN result y USING (id)",
        "SELECT * FROM (SELECT * FROM result) s WHERE id IN (SELECT id FROM result)",
        "SELECT * FROM range(3), unnest([1, 2]), generate_series(1, 2)",
        "SUMMARIZE result",
        "DESCRIBE result",
        "VALUES (1), (2)",
        "SELECT * FROM RESULT",
    ],
)
def test_queries_over_result_pass(sql: str) -> None:
    assert refusal_in_tree(_tree(sql)) is None


@pytest.mark.parametrize(
    ("sql", "refused"),
    [
        ("SELECT * FROM other", "the table 'other'"),
        ("SELECT * FROM main.result", "the table 'main.result'"),
        ("SELECT * FROM memory.main.result", "the table 'memory.main.result'"),
        ("SELECT * FROM read_csv('x.csv')", "the table function read_csv()"),
        ("SELECT (SELECT count(*) FROM glob('/*'))", "the table function glob()"),
        ("SELECT * FROM result WHERE EXISTS (FROM duckdb_tables())", "the table function duckdb_tables()"),
        # A WITH name is visible after its definition and in its own body, not before.
        ("WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a", "the table 'b'"),
        ("SELECT * FROM (WITH x AS (SELECT 1) SELECT * FROM x), x", "the table 'x'"),
        ("DESCRIBE other", "the table 'other'"),
    ],
)
def test_other_tables_and_table_functions_are_refused(sql: str, refused: str) -> None:
    assert refusal_in_tree(_tree(sql)) == refused


def test_a_tree_that_is_not_a_select_is_refused() -> None:
    assert refusal_in_tree(_tree("COPY result TO 'x'")) == "a statement that cannot be checked"
    assert refusal_in_tree({"statements": "nope"}) == "a statement that cannot be checked"
