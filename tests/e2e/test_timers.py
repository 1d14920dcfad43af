"""Timers: listing with schedules in words, and switching them on and off (a definite state).

What the tools say and do, asked of `serve`'s server built in this process (harness.serve_in_process).
"""

from typing import Any

import pytest
from mcp.types import ElicitResult

from edfs_mcp.sandbox import SandboxServer, seed
from tests.harness import Session, serve_in_process, text_of

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def admin(admin_in_process: Session) -> Session:
    """The tools here are asked what they say and do, of the server built in this process."""
    return admin_in_process


NORTHGATE = seed.ITWIN_NORTHGATE_BRIDGE
NIGHTLY = seed.TIMER_NORTHGATE_SAP_NIGHTLY


def _enabled(sandbox: SandboxServer, timer_id: str) -> bool:
    (timer,) = [t for t in sandbox.state.timers_of(NORTHGATE) if t["id"] == timer_id]
    return bool(timer["enabled"])


async def test_list_timers_shows_schedules_in_words(admin: Session, sandbox: SandboxServer) -> None:
    listing, _ = await admin.ok("list_timers", {"itwin_id": NORTHGATE})
    timers = {t["id"]: t for t in listing["timers"]}
    assert set(timers) == {t["id"] for t in sandbox.state.timers_of(NORTHGATE)}
    nightly = timers[NIGHTLY]
    assert nightly["cron"] == "0 22 * * 1-5" and nightly["schedule"] == "At 22:00, Monday through Friday"
    assert nightly["enabled"] is False and nightly["next_runs"] == []
    enabled = [t for t in timers.values() if t["enabled"]]
    assert enabled and all(len(t["next_runs"]) == 3 for t in enabled)


async def test_switching_off_and_on_again_toggles_once_each_way(
    admin: Session, sandbox: SandboxServer
) -> None:
    """EDFS's toggle, through set_timer_enabled: each change one write, reported in both views."""
    monthly = seed.TIMER_NORTHGATE_SQL_MONTHLY  # enabled in the seed
    assert _enabled(sandbox, monthly) is True
    for turn, enabled in enumerate((False, True), start=1):
        result = await admin.call(
            "set_timer_enabled", {"itwin_id": NORTHGATE, "timer_id": monthly, "enabled": enabled}
        )
        assert not result.is_error, text_of(result)
        change = result.structured_content or {}
        assert change["timer"]["enabled"] is enabled and change["was_enabled"] is (not enabled)
        assert change["changed"] is True and _enabled(sandbox, monthly) is enabled
        assert ("enabled" if enabled else "disabled") in text_of(result)
        assert sandbox.state.writes["timer_toggle"] == turn


async def test_set_timer_enabled_changes_only_when_needed(admin: Session, sandbox: SandboxServer) -> None:
    arguments = {"itwin_id": NORTHGATE, "timer_id": NIGHTLY, "enabled": True}
    first, _ = await admin.ok("set_timer_enabled", arguments)
    second, _ = await admin.ok("set_timer_enabled", arguments)
    assert (first["changed"], second["changed"]) == (True, False)
    assert _enabled(sandbox, NIGHTLY) is True
    assert sandbox.state.writes["timer_toggle"] == 1
    back, _ = await admin.ok("set_timer_enabled", {**arguments, "enabled": False})
    assert back["changed"] is True and _enabled(sandbox, NIGHTLY) is False


async def test_create_timer_validates_and_names_it_like_the_reference(
    admin: Session, sandbox: SandboxServer
) -> None:
    created, _ = await admin.ok(
        "create_timer",
        {
            "itwin_id": NORTHGATE,
            "unique_name": seed.SAP_WORK_ORDERS,
            "cron": "0 0 * * 6,0",
            "parameters": {"Plant": "NG01", "Typo": "x"},
        },
    )
    timer = created["timer"]
    assert timer["name"] == "SAP_WORK_ORDERS at 00:00, only on Saturday and Sunday"
    assert timer["enabled"] is True and timer["parameters"] == {"Plant": "NG01", "Typo": "x"}
    assert created["unknown_parameters"] == ["Typo"]
    assert any(t["id"] == timer["id"] for t in sandbox.state.timers_of(NORTHGATE))
    assert sandbox.state.writes["timer_create"] == 1


async def test_create_timer_rejects_a_bad_cron_and_an_unknown_package_before_sending(
    admin: Session, sandbox: SandboxServer
) -> None:
    text = await admin.error(
        "create_timer", {"itwin_id": NORTHGATE, "unique_name": seed.SAP_WORK_ORDERS, "cron": "0 0 0 * * ?"}
    )
    assert "cron '0 0 0 * * ?' is not a 5-field cron" in text
    text = await admin.error(
        "create_timer", {"itwin_id": NORTHGATE, "unique_name": "NOPE", "cron": "0 1 * * *"}
    )
    assert "PackageNotFound" in text
    assert sandbox.state.writes["timer_create"] == 0


async def test_delete_without_elicitation_needs_confirm(admin: Session, sandbox: SandboxServer) -> None:
    arguments = {"itwin_id": NORTHGATE, "timer_id": NIGHTLY}
    text = await admin.error("delete_timer", arguments)
    assert "cannot be undone" in text and "confirm=true" in text
    assert sandbox.state.writes["timer_delete"] == 0
    deleted, _ = await admin.ok("delete_timer", {**arguments, "confirm": True})
    assert deleted["deleted"] is True and deleted["timer"]["id"] == NIGHTLY
    assert NIGHTLY not in {t["id"] for t in sandbox.state.timers_of(NORTHGATE)}


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize(("action", "deleted"), [("accept", True), ("decline", False)])
async def test_delete_asks_the_user_when_the_client_can(
    sandbox: SandboxServer, action: str, deleted: bool, mode: str
) -> None:
    questions: list[str] = []

    async def answer(context: Any, params: Any) -> ElicitResult:
        questions.append(params.message)
        return ElicitResult(action=action, content={"delete": True} if action == "accept" else None)

    async with serve_in_process(sandbox, "admin", elicitation_callback=answer, mode=mode) as session:
        era = session.client.protocol_version
        result = await session.call("delete_timer", {"itwin_id": NORTHGATE, "timer_id": NIGHTLY})
    # "auto" negotiates 2026-07-28 (input-required results); "legacy" 2025-11-25 (elicitation requests).
    assert (era >= "2026-07-28") is (mode == "auto")
    assert (
        len(questions) == 1
        and "SAP_WORK_ORDERS at 22:00" in questions[0]
        and "cannot be undone" in questions[0]
    )
    assert result.is_error is (not deleted)
    assert (NIGHTLY in {t["id"] for t in sandbox.state.timers_of(NORTHGATE)}) is (not deleted)
    assert sandbox.state.writes["timer_delete"] == int(deleted)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize("content", [{}, {"delete": "perhaps"}, {"remove": True}])
async def test_an_accepted_answer_that_does_not_fit_deletes_nothing_and_says_so(
    sandbox: SandboxServer, content: dict[str, Any], mode: str
) -> None:
    async def answer(context: Any, params: Any) -> ElicitResult:
        return ElicitResult(action="accept", content=content)

    async with serve_in_process(sandbox, "admin", elicitation_callback=answer, mode=mode) as session:
        result = await session.call("delete_timer", {"itwin_id": NORTHGATE, "timer_id": NIGHTLY})
    text = text_of(result)
    assert result.is_error and "Nothing was changed" in text and "confirm=true" in text, text
    assert "Resolver" not in text and "_ask_before_delete" not in text
    assert NIGHTLY in {t["id"] for t in sandbox.state.timers_of(NORTHGATE)}
    assert sandbox.state.writes["timer_delete"] == 0


async def test_read_only_mode_hides_every_write(sandbox: SandboxServer) -> None:
    async with serve_in_process(sandbox, "admin", env={"EDFS_MCP_READ_ONLY": "true"}) as session:
        tools = (await session.client.list_tools()).tools
    names = {tool.name for tool in tools}
    assert names == {
        "find_itwins",
        "list_integration_packages",
        "get_integration_package",
        "read_execution_result",
        "query_execution_result",
        "list_timers",
        "query_odata",
        "list_systems",
        "list_package_roles",
    }
    assert all(tool.annotations and tool.annotations.read_only_hint for tool in tools)


async def test_next_runs_are_shown_in_the_configured_zone(sandbox: SandboxServer) -> None:
    async with serve_in_process(sandbox, "admin", env={"EDFS_MCP_TIMEZONE": "America/New_York"}) as session:
        listing, _ = await session.ok("list_timers", {"itwin_id": NORTHGATE})
    monthly = next(t for t in listing["timers"] if t["id"] == seed.TIMER_NORTHGATE_SQL_MONTHLY)
    # 14:15 UTC is 09:15 or 10:15 in New York, depending on daylight saving time.
    assert all(
        run[11:16] in ("09:15", "10:15") and run[-6:] in ("-05:00", "-04:00") for run in monthly["next_runs"]
    )
