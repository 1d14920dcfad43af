"""Every tool's text carries its structured payload, within the token budget.

Clients forward one of the two to the model (Claude Code the structured content; claude.ai, ChatGPT
and others the text), so a model behind either sees every row, ID, state and hint.
"""

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from mcp import Client

from edfs_mcp.config import Settings
from edfs_mcp.sandbox import seed
from edfs_mcp.server import build_server
from edfs_mcp.tools import all_tools
from tests.harness import text_of, token_count
from tests.text_checks import missing_from_text

pytestmark = pytest.mark.anyio

BRIDGE = seed.ITWIN_NORTHGATE_BRIDGE
BUDGET_TOKENS = Settings(sandbox=True).result_budget_tokens


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    async with Client(build_server(Settings(sandbox=True))) as connected:
        yield connected


OUTPUT_SCHEMAS: dict[str, dict[str, Any]] = {}


async def _output_schema(client: Client, name: str) -> dict[str, Any]:
    if not OUTPUT_SCHEMAS:
        OUTPUT_SCHEMAS.update(
            {tool.name: tool.output_schema or {} for tool in (await client.list_tools()).tools}
        )
    return OUTPUT_SCHEMAS[name]


async def _call(client: Client, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(name, arguments)
    text = text_of(result)
    assert not result.is_error, text
    assert result.structured_content is not None
    structured: dict[str, Any] = result.structured_content
    assert missing_from_text(structured, text) == [], f"{name}: the text lacks these values"
    # The hints travel in both: the summary is the text's first line and a structured field.
    assert structured["summary"] and text.splitlines()[0] == structured["summary"]
    Draft202012Validator(await _output_schema(client, name)).validate(structured)
    for tokens in (
        token_count(text),
        token_count(json.dumps(structured, separators=(",", ":"))),
    ):
        assert tokens <= BUDGET_TOKENS, f"{name}: {tokens} tokens, over the budget"
    return structured


async def test_every_tool_text_carries_every_value(client: Client) -> None:
    timer = seed.TIMER_NORTHGATE_SQL_MONTHLY
    calls: list[tuple[str, dict[str, Any]]] = [
        ("find_itwins", {"query": "north"}),
        ("list_integration_packages", {}),
        ("get_integration_package", {"unique_name": seed.SQL_CUSTOMERS_TABLE, "itwin_id": BRIDGE}),
        ("execute_integration_package", {"itwin_id": BRIDGE, "unique_name": seed.SAP_WORK_ORDERS}),
        ("query_odata", {"itwin_id": BRIDGE, "unique_name": seed.ODT_APIM_TEST}),
        ("list_timers", {"itwin_id": BRIDGE}),
        ("set_timer_enabled", {"itwin_id": BRIDGE, "timer_id": timer, "enabled": False}),
        ("set_timer_enabled", {"itwin_id": BRIDGE, "timer_id": timer, "enabled": True}),
        ("set_timer_enabled", {"itwin_id": BRIDGE, "timer_id": timer, "enabled": True}),  # already on
        ("create_timer", {"itwin_id": BRIDGE, "unique_name": seed.SAP_WORK_ORDERS, "cron": "0 3 * * 1"}),
        ("list_package_roles", {"itwin_id": BRIDGE, "unique_name": seed.SAP_WORK_ORDERS}),
        (
            "set_package_role",
            {
                "itwin_id": BRIDGE,
                "unique_name": seed.SAP_WORK_ORDERS,
                "itwin_role": "Viewer",
                "granted": True,
            },
        ),
    ]
    called = set()
    for name, arguments in calls:
        await _call(client, name, arguments)
        called.add(name)
    sets = await _call(client, "query_odata", {"itwin_id": BRIDGE, "unique_name": seed.ODT_APIM_TEST})
    first_set = sets["entity_sets"][0]["name"]
    await _call(
        client,
        "query_odata",
        {"itwin_id": BRIDGE, "unique_name": seed.ODT_APIM_TEST, "entity_set": first_set, "top": 5},
    )
    bulk = await _call(
        client, "execute_integration_package", {"itwin_id": BRIDGE, "unique_name": seed.SENSOR_READINGS_BULK}
    )
    await _call(client, "read_execution_result", {"result_id": bulk["result_id"], "offset": 10})
    called.add("read_execution_result")
    sql = "SELECT sensorId, count(*) AS n, max(value) AS top FROM result WHERE status <> 'OK' GROUP BY 1"
    await _call(client, "query_execution_result", {"result_id": bulk["result_id"], "sql": sql})
    await _call(client, "query_execution_result", {"result_id": bulk["result_id"], "sql": "FROM result"})
    called.add("query_execution_result")
    await _call(client, "delete_timer", {"itwin_id": BRIDGE, "timer_id": timer, "confirm": True})
    called.add("delete_timer")
    await _call(client, "list_systems", {"itwin_id": BRIDGE})
    await _call(client, "set_up_system", {"itwin_id": BRIDGE, "unique_name": seed.MAXIMO_ASSETS})
    await _call(client, "set_up_system", {"itwin_id": BRIDGE, "unique_name": seed.SAP_WORK_ORDERS})
    await _call(client, "delete_system", {"itwin_id": BRIDGE, "system": "sap_prod", "confirm": True})
    called |= {"list_systems", "set_up_system", "delete_system"}
    assert called == {spec.name for spec in all_tools()}
