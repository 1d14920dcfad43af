"""execute_integration_package: variable names checked before a run."""

import pytest

from edfs_mcp.results import CHARS_PER_TOKEN
from edfs_mcp.sandbox import SandboxServer, seed
from edfs_mcp.tools.execution import XML_TOKENS, _xml_excerpt
from tests.harness import Session
from tests.tools.conftest import tools_as

RIVERSIDE = seed.ITWIN_RIVERSIDE_WTP
BRIDGE = seed.ITWIN_NORTHGATE_BRIDGE


@pytest.mark.parametrize("name", ["AssetTyp", "assettype", "AsestType"])
@pytest.mark.anyio
async def test_a_near_miss_of_a_documented_variable_is_refused_before_anything_runs(
    sandbox: SandboxServer, name: str
) -> None:
    before = sandbox.state.writes["execute"]
    async with tools_as(sandbox, "admin") as tools:
        text = await tools.error(
            "execute_integration_package",
            {"itwin_id": RIVERSIDE, "unique_name": seed.MAXIMO_ASSETS, "variables": {name: "PUMP"}},
        )
    assert f"{name!r}: did you mean 'AssetType'?" in text and "nothing was run" in text
    assert sandbox.state.writes["execute"] == before


@pytest.mark.anyio
async def test_an_undocumented_variable_is_sent_and_flagged(tools: Session) -> None:
    arguments = {"unique_name": seed.MAXIMO_ASSETS, "variables": {"AssetType": "PUMP", "Colour": "red"}}
    result, text = await tools.ok("execute_integration_package", {"itwin_id": RIVERSIDE, **arguments})
    assert result["undocumented_variables"] == ["Colour"]
    assert {row["assettype"] for row in result["rows"]} == {"PUMP"}  # AssetType was applied
    assert "not documented by the package" in text and "Colour" in text


@pytest.mark.anyio
async def test_documented_variables_are_not_flagged(tools: Session) -> None:
    arguments = {"itwin_id": RIVERSIDE, "unique_name": seed.MAXIMO_ASSETS, "variables": {"AssetType": "PUMP"}}
    result, text = await tools.ok("execute_integration_package", arguments)
    assert result["undocumented_variables"] is None and "not documented" not in text


@pytest.mark.anyio
async def test_a_timer_with_a_misspelled_parameter_is_not_created(sandbox: SandboxServer) -> None:
    before = sandbox.state.writes["timer_create"]
    async with tools_as(sandbox, "admin") as tools:
        text = await tools.error(
            "create_timer",
            {
                "itwin_id": seed.ITWIN_NORTHGATE_BRIDGE,
                "unique_name": seed.SAP_WORK_ORDERS,
                "cron": "0 3 * * 1",
                "parameters": {"Plnat": "NG01"},
            },
        )
    assert "'Plnat': did you mean 'Plant'?" in text
    assert sandbox.state.writes["timer_create"] == before


@pytest.mark.anyio
async def test_a_page_cut_by_the_size_budget_says_so_and_where_the_rest_is(tools: Session) -> None:
    bulk, _ = await tools.ok(
        "execute_integration_package", {"itwin_id": BRIDGE, "unique_name": seed.SENSOR_READINGS_BULK}
    )
    result_id = bulk["result_id"]
    page, text = await tools.ok(
        "read_execution_result", {"result_id": result_id, "offset": 100, "limit": 5000}
    )
    shown = len(page["rows"])
    assert 0 < shown < 5000 and page["next_offset"] == 100 + shown
    assert f"Rows 100-{99 + shown} of {seed.SENSOR_ROW_COUNT} ({shown} rows" in text
    assert "cut at the size budget before limit=5000" in text
    assert f"read_execution_result(result_id={result_id!r}, offset={100 + shown})" in text
    narrow, _ = await tools.ok(
        "read_execution_result", {"result_id": result_id, "offset": 100, "limit": 5000, "columns": ["status"]}
    )
    assert len(narrow["rows"]) > shown  # fewer columns fit more rows


@pytest.mark.anyio
async def test_a_page_that_ends_at_its_limit_is_not_called_cut(tools: Session) -> None:
    bulk, _ = await tools.ok(
        "execute_integration_package", {"itwin_id": BRIDGE, "unique_name": seed.SENSOR_READINGS_BULK}
    )
    page, text = await tools.ok("read_execution_result", {"result_id": bulk["result_id"], "limit": 10})
    assert len(page["rows"]) == 10 and page["next_offset"] == 10
    assert "size budget" not in text and "offset=10)" in text


def test_the_xml_excerpt_is_cleaned_and_cut_to_its_share_of_the_budget() -> None:
    limit = int(XML_TOKENS * CHARS_PER_TOKEN)
    small = "<rows><row id='1'>a\u202eb\u200bc</row></rows>".encode()
    assert _xml_excerpt(small) == ("<rows><row id='1'>abc</row></rows>", False)
    big = b"<rows>" + b"<row>x</row>" * 100_000 + b"</rows>"
    shown, cut = _xml_excerpt(big)
    assert cut and shown is not None
    assert shown.startswith("<rows><row>") and shown.endswith(
        f"…[cut; the whole document is {len(big)} bytes]"
    )
    assert len(shown) < limit + 60
    assert _xml_excerpt(b'{"rows": []}') == (None, False)
    assert _xml_excerpt(b"plain text") == (None, False)
