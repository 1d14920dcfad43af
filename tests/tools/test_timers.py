"""Timers across iTwins in one call, named; and timers that could never run are not switched on unasked."""

import pytest

from edfs_mcp.sandbox import SandboxServer, seed
from tests.harness import Session
from tests.tools.conftest import tools_as

pytestmark = pytest.mark.anyio

BRIDGE = seed.ITWIN_NORTHGATE_BRIDGE
EASTLINE = seed.ITWIN_EASTLINE_RAIL
MAXIMO_TIMER = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e03"  # MAXIMO_ASSETS on the bridge, which lacks maximo_prod


async def test_without_an_itwin_it_lists_every_itwins_timers_with_names_in_one_call(tools: Session) -> None:
    across, text = await tools.ok("list_timers")
    found, _ = await tools.ok("find_itwins")
    per_itwin = []
    for itwin in found["itwins"]:
        listed, _ = await tools.ok("list_timers", {"itwin_id": itwin["id"]})
        assert listed["itwin_name"] == itwin["name"]
        per_itwin += [(itwin["id"], itwin["name"], timer["id"]) for timer in listed["timers"]]
    assert [(t["itwin_id"], t["itwin_name"], t["id"]) for t in across["timers"]] == per_itwin
    assert across["itwin_id"] is None and across["unreadable"] is None
    enabled = sum(t["enabled"] for t in across["timers"])
    assert f"{len(per_itwin)} timer(s) across {len(found['itwins'])} iTwin(s), {enabled} enabled" in text
    assert "Riverside Water Treatment Plant" in text


async def test_an_itwin_whose_timers_are_refused_is_its_own_line_not_a_failed_call(
    sandbox: SandboxServer,
) -> None:
    # The operator manages timers on the bridge only.
    async with tools_as(sandbox, "operator") as tools:
        across, text = await tools.ok("list_timers")
    assert {t["itwin_id"] for t in across["timers"]} == {BRIDGE}
    unreadable = {p["itwin_name"]: p["problem"] for p in across["unreadable"]}
    assert set(unreadable) == {"Riverside Water Treatment Plant", "Eastline Light Rail Extension"}
    assert all("HTTP 403" in p and "edfs_listmng" in p for p in unreadable.values())
    assert "Not readable here: " in text


async def test_an_enabled_timer_that_could_never_run_is_refused_before_anything_is_sent(
    sandbox: SandboxServer,
) -> None:
    arguments = {"itwin_id": EASTLINE, "unique_name": seed.SENSOR_READINGS_BULK, "cron": "*/15 * * * *"}
    async with tools_as(sandbox, "admin") as tools:
        before = sandbox.state.writes["timer_create"]
        text = await tools.error("create_timer", arguments)
        assert sandbox.state.writes["timer_create"] == before
        assert "Not created" in text and "sensor_hub" in text and "Nothing was changed" in text
        assert "set_up_system" in text and "Eastline Light Rail Extension" in text

        disabled, _ = await tools.ok("create_timer", {**arguments, "enabled": False})
        assert (
            disabled["missing_systems"] is None and disabled["itwin_name"] == "Eastline Light Rail Extension"
        )
        anyway, text = await tools.ok("create_timer", {**arguments, "even_if_not_ready": True})
        assert anyway["timer"]["enabled"] is True
        assert anyway["missing_systems"] == ["EDF.Rest sensor_hub"] and "each run will fail" in text
        assert sandbox.state.writes["timer_create"] == before + 2
        for created in (disabled, anyway):
            await tools.ok(
                "delete_timer", {"itwin_id": EASTLINE, "timer_id": created["timer"]["id"], "confirm": True}
            )


async def test_enabling_a_timer_whose_package_cannot_run_there_asks_first(sandbox: SandboxServer) -> None:
    timer = {"itwin_id": BRIDGE, "timer_id": MAXIMO_TIMER}
    async with tools_as(sandbox, "admin") as tools:
        await tools.ok("set_timer_enabled", {**timer, "enabled": False})
        before = sandbox.state.writes["timer_toggle"]
        text = await tools.error("set_timer_enabled", {**timer, "enabled": True})
        assert "Not enabled" in text and "maximo_prod" in text and "Nothing was changed" in text
        assert sandbox.state.writes["timer_toggle"] == before

        changed, text = await tools.ok(
            "set_timer_enabled", {**timer, "enabled": True, "even_if_not_ready": True}
        )
        assert changed["changed"] is True and changed["missing_systems"] == ["EDF.Maximo maximo_prod"]
        assert "each run will fail" in text
        # Already on: nothing to refuse, nothing sent. Switching off needs no system.
        again, _ = await tools.ok("set_timer_enabled", {**timer, "enabled": True})
        assert again["changed"] is False and again["timer"]["enabled"] is True
        off, _ = await tools.ok("set_timer_enabled", {**timer, "enabled": False})
        assert off["changed"] is True and off["timer"]["enabled"] is False and off["missing_systems"] is None
        assert sandbox.state.writes["timer_toggle"] == before + 2
