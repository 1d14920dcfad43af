"""Each failure reaches the model as cause + next step, and bad input never reaches EDFS.

Asked of `serve`'s server built in this process (harness.serve_in_process), but for the wrong
secret, which a real server's stderr must not show either; the retry loop's waits are recorded, not slept.
"""

import pytest

from edfs_mcp.sandbox import SandboxServer, seed
from tests.harness import Session, Waits, serve, serve_in_process

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def admin(admin_in_process: Session) -> Session:
    """The tools here are asked what they say and do, of the server built in this process."""
    return admin_in_process


NORTHGATE = seed.ITWIN_NORTHGATE_BRIDGE
UNKNOWN_GUID = "11111111-2222-4333-8444-555555555555"


async def test_a_malformed_itwin_id_is_rejected_before_any_request(
    admin: Session, sandbox: SandboxServer
) -> None:
    before = len(sandbox.state.requests)
    text = await admin.error(
        "execute_integration_package", {"itwin_id": "Northgate Bridge", "unique_name": seed.SAP_WORK_ORDERS}
    )
    assert "itwin_id" in text and "is not a GUID" in text and "find_itwins" in text
    assert len(sandbox.state.requests) == before


async def test_a_traversal_in_unique_name_is_rejected_before_any_request(
    admin: Session, sandbox: SandboxServer
) -> None:
    before = len(sandbox.state.requests)
    text = await admin.error("get_integration_package", {"unique_name": "../itwins/x"})
    assert "unique_name" in text and "list_integration_packages" in text
    assert len(sandbox.state.requests) == before


async def test_an_unknown_package_names_the_next_tool(admin: Session) -> None:
    text = await admin.error("get_integration_package", {"unique_name": "NO_SUCH_PACKAGE"})
    assert "HTTP 404 PackageNotFound" in text and "'NO_SUCH_PACKAGE'" in text
    assert "list_integration_packages" in text


async def test_executing_an_unsubscribed_package_explains_both_causes(
    admin: Session, sandbox: SandboxServer
) -> None:
    text = await admin.error(
        "execute_integration_package", {"itwin_id": NORTHGATE, "unique_name": seed.SHAREPOINT_DOCUMENTS}
    )
    assert "HTTP 404 ResourceNotFound" in text and "does not subscribe" in text
    assert "find_itwins" in text and "list_integration_packages" in text
    assert sandbox.state.writes["execute"] == 0


async def test_an_unknown_timer_points_to_list_timers(admin: Session, sandbox: SandboxServer) -> None:
    arguments = {"itwin_id": NORTHGATE, "timer_id": UNKNOWN_GUID, "enabled": True}
    text = await admin.error("set_timer_enabled", arguments)
    assert UNKNOWN_GUID in text and "list_timers" in text
    # The timer is looked up before anything is sent: EDFS's 404 on a toggle is never reached.
    assert sandbox.state.writes["timer_toggle"] == 0


async def test_an_unknown_itwin_for_timers(admin: Session) -> None:
    text = await admin.error("list_timers", {"itwin_id": UNKNOWN_GUID})
    assert "HTTP 404 TimerListNotFound" in text and "find_itwins" in text


async def test_missing_permission_says_which_and_who_grants_it(sandbox: SandboxServer) -> None:
    async with serve_in_process(sandbox, "viewer") as viewer:
        text = await viewer.error(
            "execute_integration_package", {"itwin_id": NORTHGATE, "unique_name": seed.SQL_CUSTOMERS_TABLE}
        )
        assert "HTTP 403 InsufficientPermissions" in text
        assert "Execute Integration Package" in text and "Organization Administrator" in text
        timers = await viewer.error(
            "set_timer_enabled",
            {"itwin_id": NORTHGATE, "timer_id": seed.TIMER_NORTHGATE_SAP_NIGHTLY, "enabled": True},
        )
        assert "edfs_listmng" in timers
    assert sandbox.state.writes["execute"] == 0 and sandbox.state.writes["timer_toggle"] == 0


async def test_a_long_rate_limit_fails_at_once_saying_nothing_ran(
    admin: Session, sandbox: SandboxServer
) -> None:
    sandbox.state.faults.rate_limit(count=1, retry_after=600)
    text = await admin.error(
        "execute_integration_package", {"itwin_id": NORTHGATE, "unique_name": seed.SQL_CUSTOMERS_TABLE}
    )
    assert "HTTP 429 RateLimitExceeded" in text and "retry_after_seconds=600" in text
    assert "Nothing was executed" in text
    assert sandbox.state.writes["execute"] == 0


async def test_a_short_rate_limit_is_waited_out_and_runs_once(sandbox: SandboxServer) -> None:
    sandbox.state.faults.rate_limit(count=2, retry_after=1)
    waits = Waits()  # the retry loop's waits, recorded instead of slept
    async with serve_in_process(sandbox, "admin", sleep=waits) as session:
        result, _ = await session.ok(
            "execute_integration_package", {"itwin_id": NORTHGATE, "unique_name": seed.SQL_CUSTOMERS_TABLE}
        )
    assert result["row_count"] > 0
    assert sandbox.state.writes["execute"] == 1
    assert waits.seconds == [1, 1]  # Retry-After, each time


@pytest.mark.real_process
async def test_wrong_client_secret_is_an_auth_error_that_keeps_the_secret(sandbox: SandboxServer) -> None:
    secret = "definitely-wrong-secret-value"
    async with serve(sandbox, "admin", env={"EDFS_MCP_CLIENT_SECRET": secret}) as wrong:
        text = await wrong.error("list_integration_packages")
        assert "refused the client credentials" in text and "EDFS_MCP_CLIENT_SECRET" in text
        assert secret not in text
        assert secret not in wrong.stderr()


async def test_argument_errors_are_plain_sentences_one_per_argument(admin: Session) -> None:
    text = await admin.error(
        "set_timer_enabled", {"itwin_id": "nope", "timer_id": "0c1d2e3f", "enabled": True}
    )
    assert text.startswith("Invalid arguments for set_timer_enabled; nothing was sent.")
    assert "itwin_id 'nope' is not a GUID" in text and "timer_id '0c1d2e3f' is not a GUID" in text
    assert "pydantic" not in text and "validation error" not in text


async def test_missing_and_mistyped_arguments_are_named(admin: Session) -> None:
    missing = await admin.error("execute_integration_package", {"itwin_id": NORTHGATE})
    assert "unique_name: Field required" in missing
    mistyped = await admin.error("find_itwins", {"query": "north", "limit": 500})
    assert "limit: Input should be less than or equal to 100" in mistyped
