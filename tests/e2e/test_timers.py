"""Timers: listing with schedules in words, toggling, and reaching a definite state."""

import pytest

from edfs_mcp.sandbox import SandboxServer, seed
from tests.e2e.harness import Session, text_of

pytestmark = pytest.mark.anyio

NORTHGATE = seed.ITWIN_NORTHGATE_BRIDGE
NIGHTLY = seed.TIMER_NORTHGATE_SAP_NIGHTLY


def _enabled(sandbox: SandboxServer, timer_id: str) -> bool:
    (timer,) = [t for t in sandbox.state.timers_of(NORTHGATE) if t["id"] == timer_id]
    return bool(timer["enabled"])


async def test_list_timers_shows_schedules_in_words(admin: Session, sandbox: SandboxServer) -> None:
    listing = await admin.ok("list_timers", {"itwin_id": NORTHGATE})
    timers = {t["id"]: t for t in listing["timers"]}
    assert set(timers) == {t["id"] for t in sandbox.state.timers_of(NORTHGATE)}
    nightly = timers[NIGHTLY]
    assert nightly["cron"] == "0 22 * * 1-5" and nightly["schedule"] == "At 22:00, Monday through Friday"
    assert nightly["enabled"] is False and nightly["next_runs_utc"] == []
    enabled = [t for t in timers.values() if t["enabled"]]
    assert enabled and all(len(t["next_runs_utc"]) == 3 for t in enabled)


async def test_toggle_twice_flips_and_flips_back(admin: Session, sandbox: SandboxServer) -> None:
    before = _enabled(sandbox, NIGHTLY)
    first = await admin.call("toggle_timer", {"itwin_id": NORTHGATE, "timer_id": NIGHTLY})
    assert not first.is_error, text_of(first)
    assert (first.structured_content or {})["timer"]["enabled"] is (not before)
    assert _enabled(sandbox, NIGHTLY) is (not before)
    assert ("enabled" if not before else "disabled") in text_of(first)
    second = await admin.ok("toggle_timer", {"itwin_id": NORTHGATE, "timer_id": NIGHTLY})
    assert second["timer"]["enabled"] is before and _enabled(sandbox, NIGHTLY) is before
    assert sandbox.state.writes["timer_toggle"] == 2


async def test_set_timer_enabled_changes_only_when_needed(admin: Session, sandbox: SandboxServer) -> None:
    arguments = {"itwin_id": NORTHGATE, "timer_id": NIGHTLY, "enabled": True}
    first = await admin.ok("set_timer_enabled", arguments)
    second = await admin.ok("set_timer_enabled", arguments)
    assert (first["changed"], second["changed"]) == (True, False)
    assert _enabled(sandbox, NIGHTLY) is True
    assert sandbox.state.writes["timer_toggle"] == 1
    back = await admin.ok("set_timer_enabled", {**arguments, "enabled": False})
    assert back["changed"] is True and _enabled(sandbox, NIGHTLY) is False
