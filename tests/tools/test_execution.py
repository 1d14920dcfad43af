"""execute_integration_package: variable names checked before a run."""

import pytest

from edfs_mcp.sandbox import SandboxServer, seed
from tests.tools.conftest import Tools, tools_as

pytestmark = pytest.mark.anyio

RIVERSIDE = seed.ITWIN_RIVERSIDE_WTP


@pytest.mark.parametrize("name", ["AssetTyp", "assettype", "AsestType"])
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


async def test_an_undocumented_variable_is_sent_and_flagged(tools: Tools) -> None:
    arguments = {"unique_name": seed.MAXIMO_ASSETS, "variables": {"AssetType": "PUMP", "Colour": "red"}}
    result, text = await tools.ok("execute_integration_package", {"itwin_id": RIVERSIDE, **arguments})
    assert result["undocumented_variables"] == ["Colour"]
    assert {row["assettype"] for row in result["rows"]} == {"PUMP"}  # AssetType was applied
    assert "not documented by the package" in text and "Colour" in text


async def test_documented_variables_are_not_flagged(tools: Tools) -> None:
    arguments = {"itwin_id": RIVERSIDE, "unique_name": seed.MAXIMO_ASSETS, "variables": {"AssetType": "PUMP"}}
    result, text = await tools.ok("execute_integration_package", arguments)
    assert result["undocumented_variables"] is None and "not documented" not in text


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
