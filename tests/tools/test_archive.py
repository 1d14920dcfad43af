"""SENSOR_READINGS_ARCHIVE: 1 000 000 rows (about 100 MB of JSON, made as the sandbox sends it) run,
preview, page and answer SQL through the tools. One execution serves the module (a few seconds)."""

import hashlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from mcp import Client

from edfs_mcp.config import Settings
from edfs_mcp.sandbox import fixtures, seed
from edfs_mcp.server import build_server
from tests.harness import Session

pytestmark = pytest.mark.anyio

ARCHIVE = {"itwin_id": seed.ITWIN_NORTHGATE_BRIDGE, "unique_name": seed.SENSOR_READINGS_ARCHIVE}


def _rows(first: int, stop: int) -> list[dict[str, Any]]:
    """Rows ``first`` to ``stop`` of the archive, from a body of ``stop`` rows."""
    body = b"".join(fixtures.archive_chunks(False, rows=stop))
    return list(json.loads(body)["data"][first:stop])


def test_the_archive_is_the_same_bytes_every_time_and_json() -> None:
    small = [b"".join(fixtures.archive_chunks(False, rows=4321)) for _ in range(2)]
    assert hashlib.sha256(small[0]).digest() == hashlib.sha256(small[1]).digest()
    rows = json.loads(small[0])["data"]
    assert len(rows) == 4321
    assert rows[0] == {
        "sensorId": "SG-001",
        "timestamp": "2023-01-01T00:00:00Z",
        "value": 10.0,
        "unit": "mm",
        "status": "WARN",
    }
    assert rows[241]["sensorId"] == "SG-042" and rows[241]["timestamp"] == "2023-01-01T00:15:00Z"
    xml = b"".join(fixtures.archive_chunks(True, rows=3))
    assert xml.startswith(b"<?xml") and xml.count(b"<row>") == 3 and xml.endswith(b"</data>")


@pytest.fixture(scope="module")
async def tools() -> AsyncIterator[Session]:
    async with Client(build_server(Settings(sandbox=True))) as client:
        yield Session(client)


@pytest.fixture(scope="module")
async def archive(tools: Session) -> dict[str, Any]:
    structured, _ = await tools.ok("execute_integration_package", ARCHIVE)
    return structured


@pytest.mark.scale
async def test_a_million_rows_run_and_preview(archive: dict[str, Any]) -> None:
    assert archive["row_count"] == seed.ARCHIVE_ROW_COUNT
    assert archive["columns"] == {
        "sensorId": "VARCHAR",
        "timestamp": "VARCHAR",
        "value": "DOUBLE",
        "unit": "VARCHAR",
        "status": "VARCHAR",
    }
    preview = archive["rows"]
    assert 0 < len(preview) < 100
    assert preview == _rows(0, len(preview))
    assert archive["result_id"]


@pytest.mark.scale
async def test_the_last_page_is_the_last_rows(tools: Session, archive: dict[str, Any]) -> None:
    arguments = {"result_id": archive["result_id"], "offset": seed.ARCHIVE_ROW_COUNT - 5, "limit": 10}
    page, _ = await tools.ok("read_execution_result", arguments)
    assert page["next_offset"] is None
    assert page["rows"] == _rows(seed.ARCHIVE_ROW_COUNT - 5, seed.ARCHIVE_ROW_COUNT)


@pytest.mark.scale
async def test_the_sensor_question_over_a_million_rows_is_exact(
    tools: Session, archive: dict[str, Any]
) -> None:
    statuses = Counter(
        f"SG-{i % fixtures.ARCHIVE_SENSORS + 1:03d}"
        for i in range(seed.ARCHIVE_ROW_COUNT)
        if fixtures.archive_status(i) != "OK"
    )
    total, _ = await tools.ok(
        "query_execution_result",
        {"result_id": archive["result_id"], "sql": "SELECT count(*) AS n FROM result WHERE status <> 'OK'"},
    )
    assert total["rows"] == [{"n": sum(statuses.values())}]
    top, _ = await tools.ok(
        "query_execution_result",
        {
            "result_id": archive["result_id"],
            "sql": "SELECT sensorId, count(*) AS n FROM result WHERE status <> 'OK' "
            "GROUP BY sensorId ORDER BY n DESC, sensorId LIMIT 1",
        },
    )
    (sensor, count), (_, runner_up) = statuses.most_common(2)
    assert count > runner_up
    assert top["rows"] == [{"sensorId": sensor, "n": count}]
