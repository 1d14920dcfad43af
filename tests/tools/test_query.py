"""query_execution_result: a 100 000-row result answered in SQL, through a real MCP client.

One server (and so one SQL engine process) and one execution of the 100 000-row package serve the
whole module: building them per test was most of each test's CPU, and every test here only reads.
"""

from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from mcp import Client

from edfs_mcp.config import Settings
from edfs_mcp.sandbox import seed
from edfs_mcp.server import build_server
from tests.harness import Session, token_count

pytestmark = pytest.mark.anyio

BRIDGE = seed.ITWIN_NORTHGATE_BRIDGE
BULK = {"itwin_id": BRIDGE, "unique_name": seed.SENSOR_READINGS_BULK}


@pytest.fixture(scope="module")
async def tools() -> AsyncIterator[Session]:
    """The module's server (tests.tools.conftest's ``tools``, built once)."""
    async with Client(build_server(Settings(sandbox=True))) as client:
        yield Session(client)


@pytest.fixture(scope="module")
async def bulk(tools: Session) -> tuple[dict[str, Any], str]:
    """The 100 000-row package, executed once: (structured content, text)."""
    return await tools.ok("execute_integration_package", BULK)


async def _scan(tools: Session, result_id: str) -> list[dict[str, Any]]:
    """Every row of a result, read page by page as a model without SQL would."""
    rows: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        arguments = {
            "result_id": result_id,
            "offset": offset,
            "limit": 5000,
            "columns": ["sensorId", "status"],
        }
        page, _ = await tools.ok("read_execution_result", arguments)
        rows += page["rows"]
        offset = page["next_offset"]
    return rows


@pytest.mark.scale  # it also reads all 100 000 rows page by page, to check the answer
async def test_the_sensor_question_is_answered_exactly_in_three_calls_and_few_tokens(
    tools: Session, bulk: tuple[dict[str, Any], str]
) -> None:
    texts = []
    executed, text = bulk
    texts.append(text)
    result_id = executed["result_id"]
    assert executed["columns"] == {
        "sensorId": "VARCHAR",
        "timestamp": "VARCHAR",
        "value": "DOUBLE",
        "unit": "VARCHAR",
        "status": "VARCHAR",
    }
    assert "query_execution_result(result_id=" in text
    total, text = await tools.ok(
        "query_execution_result",
        {"result_id": result_id, "sql": "SELECT count(*) AS not_ok FROM result WHERE status <> 'OK'"},
    )
    texts.append(text)
    worst, text = await tools.ok(
        "query_execution_result",
        {
            "result_id": result_id,
            "sql": "SELECT sensorId, count(*) AS n FROM result WHERE status <> 'OK' "
            "GROUP BY sensorId ORDER BY n DESC, sensorId",
        },
    )
    texts.append(text)
    assert sum(token_count(text) for text in texts) <= 3000

    scanned = await _scan(tools, result_id)
    assert len(scanned) == seed.SENSOR_ROW_COUNT
    not_ok = Counter(row["sensorId"] for row in scanned if row["status"] != "OK")
    assert total["rows"] == [{"not_ok": sum(not_ok.values())}] and total["columns"] == {"not_ok": "BIGINT"}
    assert {row["sensorId"]: row["n"] for row in worst["rows"]} == dict(not_ok)
    top = max(not_ok.values())
    assert worst["rows"][0] == {"sensorId": min(s for s, n in not_ok.items() if n == top), "n": top}


REFUSED = {
    "COPY result TO 'out.csv'": "a COPY statement",
    "ATTACH 'other.db'": "an ATTACH statement",
    "INSTALL httpfs": "a LOAD statement",
    "PRAGMA version": "a PRAGMA statement",
    "SET threads = 8": "a SET statement",
    "DROP VIEW result": "a DROP statement",
    "SELECT 1; SELECT 2": "2 statements in one call",
    "SELECT * FROM read_csv('/etc/passwd')": "the table function read_csv()",
    "SELECT * FROM query('SELECT 42')": "the table function query()",
    "SELECT * FROM information_schema.tables": "the table 'information_schema.tables'",
}


@pytest.mark.parametrize(("sql", "what"), REFUSED.items())
async def test_a_refused_statement_gets_one_sentence_naming_what_is_allowed(
    tools: Session, bulk: tuple[dict[str, Any], str], sql: str, what: str
) -> None:
    text = await tools.error("query_execution_result", {"result_id": bulk[0]["result_id"], "sql": sql})
    assert text.startswith(f"Refused: {what}.")
    assert (
        "one read-only SELECT (or WITH … SELECT) over the table result" in text and "nothing was run" in text
    )


async def test_a_sql_error_names_the_column_and_lists_the_columns(
    tools: Session, bulk: tuple[dict[str, Any], str]
) -> None:
    arguments = {"result_id": bulk[0]["result_id"], "sql": "SELECT sensor, count(*) FROM result GROUP BY 1"}
    text = await tools.error("query_execution_result", arguments)
    assert '"sensor" not found' in text
    assert "sensorId VARCHAR, timestamp VARCHAR, value DOUBLE, unit VARCHAR, status VARCHAR" in text
    arguments["sql"] = "SELECT medain(value) FROM result"
    text = await tools.error("query_execution_result", arguments)
    assert "medain" in text and 'Did you mean "median"' in text


async def test_a_long_answer_is_capped_paged_and_kept_for_reading(
    tools: Session, bulk: tuple[dict[str, Any], str]
) -> None:
    answer, text = await tools.ok(
        "query_execution_result", {"result_id": bulk[0]["result_id"], "sql": "FROM result"}
    )
    assert answer["row_count"] == 10_000 and "only the first 10000 are kept" in text
    assert answer["answer_id"] and answer["next_offset"] == len(answer["rows"])
    page, _ = await tools.ok(
        "read_execution_result",
        {"result_id": answer["answer_id"], "offset": answer["next_offset"], "limit": 3},
    )
    assert page["row_count"] == 10_000 and len(page["rows"]) == 3
    again, _ = await tools.ok(
        "query_execution_result",
        {"result_id": answer["answer_id"], "sql": "SELECT count(*) AS n FROM result"},
    )
    assert again["rows"] == [{"n": 10_000}]


async def test_odata_rows_get_a_result_id_that_sql_can_query(tools: Session) -> None:
    package = {"itwin_id": BRIDGE, "unique_name": seed.ODT_APIM_TEST}
    listed, _ = await tools.ok("query_odata", package)
    name = "SAP_Equipments_Read"
    assert name in {s["name"] for s in listed["entity_sets"]}
    rows, text = await tools.ok("query_odata", {**package, "entity_set": name, "top": 50})
    assert rows["result_id"] and "query_execution_result" in text
    assert rows["columns"]["ConstructionYear"] == "BIGINT" and rows["columns"]["InService"] == "BOOLEAN"
    sql = "SELECT Manufacturer, count(*) AS n FROM result GROUP BY 1 ORDER BY 1"
    answer, _ = await tools.ok("query_execution_result", {"result_id": rows["result_id"], "sql": sql})
    expected = Counter(row["Manufacturer"] for row in rows["rows"])
    assert {row["Manufacturer"]: row["n"] for row in answer["rows"]} == dict(expected)


async def test_an_unknown_result_is_said_so_and_nothing_runs(tools: Session) -> None:
    text = await tools.error("query_execution_result", {"result_id": "r_nope", "sql": "SELECT 1"})
    assert "No cached result 'r_nope'" in text
