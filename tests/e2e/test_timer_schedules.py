"""The cron rule end to end: the real tools against the sandbox over HTTP.

A cron EDFS refuses is refused before anything is sent; a stored timer whose cron EDFS cannot run
(planted straight into the sandbox's state) is listed with its problem, not hiding the others.
"""

from __future__ import annotations

import pytest

from edfs_mcp import cron
from edfs_mcp.sandbox import SandboxServer, seed
from tests.harness import Session

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def admin(admin_in_process: Session) -> Session:
    """What these tests check is what the tools say and do: the server in this process is enough."""
    return admin_in_process


NORTHGATE = seed.ITWIN_NORTHGATE_BRIDGE
# id -> (cron as stored, enabled, words of its problem)
PLANTED = {
    "5e1f0000-0000-4000-8000-000000000001": ("0 0 30 2 *", True, "it never runs"),
    "5e1f0000-0000-4000-8000-000000000002": ("0 0 * * MON", True, "write '1'"),
    "5e1f0000-0000-4000-8000-000000000003": ("every day at noon", False, "it has 4 fields"),
}


def _plant(sandbox: SandboxServer) -> None:
    with sandbox.state.lock:
        for timer_id, (cron_str, enabled, _) in PLANTED.items():
            sandbox.state.timers[NORTHGATE][timer_id] = {
                "id": timer_id,
                "name": f"stored as {cron_str}",
                "packageUniqueName": seed.SAP_WORK_ORDERS,
                "cronStr": cron_str,
                "enabled": enabled,
                "parameters": [],
            }


async def test_list_timers_shows_every_timer_and_says_which_cannot_run(
    admin: Session, sandbox: SandboxServer
) -> None:
    _plant(sandbox)
    listing, _ = await admin.ok("list_timers", {"itwin_id": NORTHGATE})
    timers = {t["id"]: t for t in listing["timers"]}
    assert set(timers) == {t["id"] for t in sandbox.state.timers_of(NORTHGATE)}
    assert set(PLANTED) <= set(timers) and len(timers) == len(PLANTED) + 3
    for timer_id, (cron_str, _, words) in PLANTED.items():
        timer = timers[timer_id]
        assert timer["cron"] == cron_str and timer["next_runs"] == []
        assert timer["schedule_problem"] == cron.problem(cron_str) and words in timer["schedule_problem"]
        assert timer["schedule"].startswith("not a valid EDFS schedule: ")
    monthly = timers[seed.TIMER_NORTHGATE_SQL_MONTHLY]
    assert monthly["schedule_problem"] is None and len(monthly["next_runs"]) == 3


async def test_a_timer_that_cannot_run_can_still_be_switched_off(
    admin: Session, sandbox: SandboxServer
) -> None:
    _plant(sandbox)
    never = "5e1f0000-0000-4000-8000-000000000001"
    changed, _ = await admin.ok(
        "set_timer_enabled", {"itwin_id": NORTHGATE, "timer_id": never, "enabled": False}
    )
    assert changed["changed"] is True and changed["timer"]["enabled"] is False
    assert changed["timer"]["schedule"].startswith("not a valid EDFS schedule: it never runs")


@pytest.mark.parametrize("expression", ["0 0 * * MON", "0 0 * * 7", "0 0 30 2 *", "0 0 31 4 *", "@daily"])
async def test_create_timer_refuses_what_the_sandbox_would_refuse_before_sending(
    admin: Session, sandbox: SandboxServer, expression: str
) -> None:
    text = await admin.error(
        "create_timer", {"itwin_id": NORTHGATE, "unique_name": seed.SAP_WORK_ORDERS, "cron": expression}
    )
    assert str(cron.problem(expression)) in text
    assert sandbox.state.writes["timer_create"] == 0


async def test_29_february_is_created_and_runs_in_leap_years(admin: Session, sandbox: SandboxServer) -> None:
    created, _ = await admin.ok(
        "create_timer", {"itwin_id": NORTHGATE, "unique_name": seed.SAP_WORK_ORDERS, "cron": "0 6 29 2 *"}
    )
    timer = created["timer"]
    assert timer["schedule_problem"] is None and len(timer["next_runs"]) == 3
    assert all(run[4:16] == "-02-29T06:00" for run in timer["next_runs"])
    assert sandbox.state.writes["timer_create"] == 1
