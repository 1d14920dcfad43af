"""Each fault x each tool family: the call succeeds or fails with an accurate message, and the
sandbox's write counters show no execute, create, toggle or delete happened more often than asked.

The matrix runs in this process (the server built as `edfs-mcp serve` builds it, a real mcp.Client
over the SDK's in-memory transport, the sandbox over loopback HTTP) and the API client's retry loop
waits with ``Waits``: it records each wait (a 429's Retry-After, a 5xx backoff) instead of sleeping.
One smoke test per transport (stdio, streamable HTTP) runs a real `edfs-mcp serve` process that
really waits out a 429 and reports a 5xx on a write.

`python -m bench.matrices --only fault` prints the matrix as a table.
"""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.dispatcher import ProgressFnT

from edfs_mcp.sandbox import SandboxServer, seed
from tests.harness import Session, Waits, serve, serve_in_process, server_env, text_of
from tests.serving import serving_http

pytestmark = pytest.mark.anyio

NORTHGATE = seed.ITWIN_NORTHGATE_BRIDGE
NIGHTLY = seed.TIMER_NORTHGATE_SAP_NIGHTLY  # disabled in the seed
MONTHLY = seed.TIMER_NORTHGATE_SQL_MONTHLY  # enabled in the seed
MAXIMO = seed.TIMER_NORTHGATE_MAXIMO_NIGHTLY
TIMERS = f"/edfs/itwins/{NORTHGATE}/timers"


@dataclass(frozen=True)
class Family:
    name: str
    tool: str
    arguments: dict[str, Any]
    write: str | None  # the sandbox write counter this call may bump once
    path: str  # faults are aimed at this path prefix: the write itself, or any EDFS read


FAMILIES = [
    Family("read", "list_timers", {"itwin_id": NORTHGATE}, None, "/edfs/"),
    Family(
        "execute",
        "execute_integration_package",
        {"itwin_id": NORTHGATE, "unique_name": seed.SQL_CUSTOMERS_TABLE},
        "execute",
        f"/edfs/itwins/{NORTHGATE}/packages/",
    ),
    Family(
        "set off",
        "set_timer_enabled",
        {"itwin_id": NORTHGATE, "timer_id": MONTHLY, "enabled": False},
        "timer_toggle",
        f"{TIMERS}/{MONTHLY}/toggle",
    ),
    Family(
        "set",
        "set_timer_enabled",
        {"itwin_id": NORTHGATE, "timer_id": NIGHTLY, "enabled": True},
        "timer_toggle",
        f"{TIMERS}/{NIGHTLY}/toggle",
    ),
    Family(
        "create",
        "create_timer",
        {"itwin_id": NORTHGATE, "unique_name": seed.SAP_WORK_ORDERS, "cron": "30 3 * * *"},
        "timer_create",
        TIMERS,
    ),
    Family(
        "delete",
        "delete_timer",
        {"itwin_id": NORTHGATE, "timer_id": MAXIMO, "confirm": True},
        "timer_delete",
        f"{TIMERS}/{MAXIMO}",
    ),
]


@dataclass(frozen=True)
class Fault:
    name: str
    arm: Callable[[SandboxServer, str], None]
    # family name -> ("ok", writes) or ("error", writes, words the message must contain: one string,
    # or a tuple of them)
    expect: Callable[[Family], tuple[Any, ...]]


def _ok(family: Family) -> tuple[Any, ...]:
    return ("ok", 1 if family.write else 0)


def _on_5xx(family: Family) -> tuple[Any, ...]:
    if family.name == "read":
        return ("ok", 0)
    return (
        "error",
        0,
        {
            "execute": "may or may not have run",
            # Refused before processing: the re-read finds the state unchanged, and says it.
            "set off": ("may or may not have been applied", "the timer is now enabled"),
            "set": ("may or may not have been applied", "the timer is now disabled"),
            "create": "may or may not have been created",
            "delete": "may or may not have been deleted",
        }[family.name],
    )


def _on_drop(family: Family) -> tuple[Any, ...]:
    if family.name != "execute":
        return ("ok", 0 if family.name == "read" else 1)  # reads retried; writes verified by re-reading
    return ("error", 1, "may or may not have run")


FAULTS = [
    Fault("none", lambda sb, path: None, _ok),
    Fault("latency 300 ms", lambda sb, path: sb.state.faults.latency(0.3, path_prefix=path), _ok),
    Fault(
        "2 x 429, retry-after 1 s", lambda sb, path: sb.state.faults.rate_limit(2, 1, path_prefix=path), _ok
    ),
    Fault(
        "429, retry-after 600 s",
        lambda sb, path: sb.state.faults.rate_limit(1, 600, path_prefix=path),
        lambda family: ("error", 0, "retry_after_seconds=600"),
    ),
    Fault("503 once", lambda sb, path: sb.state.faults.server_errors(1, 503, path_prefix=path), _on_5xx),
    Fault(
        "502 x 3",
        lambda sb, path: sb.state.faults.server_errors(3, 502, path_prefix=path),
        lambda f: ("error", 0, "also on retry") if f.name == "read" else _on_5xx(f),
    ),
    Fault(
        "drop after processing",
        lambda sb, path: sb.state.faults.drop_after_processing(1, path_prefix=path),
        _on_drop,
    ),
    Fault("token expired mid-session", lambda sb, path: sb.state.expire_issued_tokens(), _ok),
]

MATRIX: list[tuple[str, str, str, int]] = []  # filled as the cases pass; bench/matrices.py prints it


@pytest.fixture(scope="module")
def waits() -> Waits:
    return Waits()


@pytest.fixture(scope="module")
async def admin(sandbox: SandboxServer, waits: Waits) -> AsyncIterator[Session]:
    """The Org Admin's server in this process; its retry loop's waits are recorded, not slept."""
    async with serve_in_process(sandbox, "admin", sleep=waits) as session:
        yield session


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
async def test_fault_matrix(
    admin: Session, sandbox: SandboxServer, waits: Waits, fault: Fault, family: Family
) -> None:
    waits.seconds.clear()
    fault.arm(sandbox, family.path)
    result = await admin.call(family.tool, family.arguments)
    sandbox.state.faults.clear()
    expected = fault.expect(family)
    writes = sandbox.state.writes[family.write] if family.write else sum(sandbox.state.writes.values())
    text = text_of(result)
    if expected[0] == "ok":
        assert not result.is_error, text
    else:
        assert result.is_error, result.structured_content
        assert all(words in text for words in _words(expected)), text
    assert writes == expected[1], f"{family.write} happened {writes} times"
    if fault.name.startswith("2 x 429"):
        assert waits.seconds == [1, 1], waits.seconds  # each Retry-After waited out, once
    outcome = "ok" if not result.is_error else "error: " + "; ".join(_words(expected))
    MATRIX.append((fault.name, family.name, outcome, writes))


def _words(expected: tuple[Any, ...]) -> tuple[str, ...]:
    return expected[2] if isinstance(expected[2], tuple) else (expected[2],)


async def test_64_simultaneous_calls_through_one_server_all_complete(
    admin: Session, sandbox: SandboxServer
) -> None:
    sandbox.state.faults.latency(0.05)
    results: list[Any] = []

    async def one(index: int) -> None:
        if index % 2:
            results.append(await admin.call("list_timers", {"itwin_id": NORTHGATE}))
        else:
            arguments = {"itwin_id": NORTHGATE, "unique_name": seed.SAP_WORK_ORDERS}
            results.append(await admin.call("execute_integration_package", arguments))

    async with anyio.create_task_group() as group:
        for index in range(64):
            group.start_soon(one, index)
    assert len(results) == 64 and all(not r.is_error for r in results), [
        text_of(r) for r in results if r.is_error
    ]
    assert sandbox.state.writes["execute"] == 32


async def test_an_unreachable_api_says_nothing_was_sent(sandbox: SandboxServer) -> None:
    unreachable = {"EDFS_MCP_API_BASE": "http://127.0.0.1:9"}
    async with serve_in_process(sandbox, "admin", env=unreachable, sleep=Waits()) as session:
        text = await session.error(
            "execute_integration_package", {"itwin_id": NORTHGATE, "unique_name": seed.SQL_CUSTOMERS_TABLE}
        )
    assert "could not be reached" in text and "Nothing was sent" in text
    assert sandbox.state.writes["execute"] == 0


def _collect_progress(messages: list[str]) -> ProgressFnT:
    async def progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    return progress


async def test_waiting_out_a_rate_limit_reports_progress(
    admin: Session, sandbox: SandboxServer, waits: Waits
) -> None:
    waits.seconds.clear()
    sandbox.state.faults.rate_limit(1, 2, path_prefix=f"/edfs/itwins/{NORTHGATE}/packages/")
    messages: list[str] = []
    progress = _collect_progress(messages)
    result = await admin.client.call_tool(
        "execute_integration_package",
        {"itwin_id": NORTHGATE, "unique_name": seed.SQL_CUSTOMERS_TABLE},
        progress_callback=progress,
    )
    assert not result.is_error, text_of(result)
    assert messages == ["rate limited by EDFS: waiting 2 s"]
    assert waits.seconds == [2]
    assert sandbox.state.writes["execute"] == 1


@pytest.fixture(scope="module")
async def impatient(sandbox: SandboxServer) -> AsyncIterator[Session]:
    """A server whose read timeouts are 1 s, so a slow body times out mid-response."""
    env = {"EDFS_MCP_READ_TIMEOUT": "1", "EDFS_MCP_EXECUTE_TIMEOUT": "1"}
    async with serve_in_process(sandbox, "admin", env=env, sleep=Waits()) as session:
        yield session


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
async def test_slow_body_after_processing(impatient: Session, sandbox: SandboxServer, family: Family) -> None:
    sandbox.state.faults.slow_body(1, 3.0, path_prefix=family.path)
    result = await impatient.call(family.tool, family.arguments)
    sandbox.state.faults.clear()
    expected = _on_drop(family)  # processed, answer lost: the same promises as a dropped connection
    writes = sandbox.state.writes[family.write] if family.write else 0
    if expected[0] == "ok":
        assert not result.is_error, text_of(result)
    else:
        assert result.is_error and all(words in text_of(result) for words in _words(expected)), text_of(
            result
        )
    assert writes == expected[1]
    outcome = "ok" if not result.is_error else "error: " + "; ".join(_words(expected))
    MATRIX.append(("slow body, read timeout", family.name, outcome, writes))


async def test_a_cancelled_call_cancels_its_http_request(admin: Session, sandbox: SandboxServer) -> None:
    sandbox.state.faults.latency(5, path_prefix=f"/edfs/itwins/{NORTHGATE}/packages/")
    with anyio.move_on_after(1) as scope:
        await admin.call(
            "execute_integration_package", {"itwin_id": NORTHGATE, "unique_name": seed.SQL_CUSTOMERS_TABLE}
        )
    assert scope.cancelled_caught
    for _ in range(40):  # the server cancels the tool, which closes its HTTP request
        if sandbox.state.abandoned:
            break
        await anyio.sleep(0.1)
    # Counted as abandoned when the sandbox saw the disconnect and gave the request up: it never ran.
    assert sandbox.state.abandoned == 1
    assert sandbox.state.writes["execute"] == 0
    assert not (await admin.call("list_timers", {"itwin_id": NORTHGATE})).is_error  # and the server is fine


async def _real_waits_and_a_lost_write(session: Session, sandbox: SandboxServer) -> None:
    """Through a real process: a 429 really waited out (1 s), then a 503 on a write reported as such."""
    execute = FAMILIES[1]
    sandbox.state.faults.rate_limit(1, 1, path_prefix=execute.path)
    await session.ok(execute.tool, execute.arguments)
    assert sandbox.state.writes["execute"] == 1
    toggle = FAMILIES[2]
    sandbox.state.faults.server_errors(1, 503, path_prefix=toggle.path)
    text = await session.error(toggle.tool, toggle.arguments)
    assert all(words in text for words in _words(_on_5xx(toggle))), text
    assert sandbox.state.writes["timer_toggle"] == 0


@pytest.mark.real_process
async def test_over_stdio_a_real_process_waits_out_a_429_and_reports_a_5xx_write(
    sandbox: SandboxServer,
) -> None:
    async with serve(sandbox, "admin") as session:
        await _real_waits_and_a_lost_write(session, sandbox)


@pytest.mark.real_process
async def test_over_streamable_http_a_real_process_waits_out_a_429_and_reports_a_5xx_write(
    sandbox: SandboxServer,
) -> None:
    with serving_http(env=server_env(sandbox, "admin")) as served:
        async with Client(served.url, read_timeout_seconds=60) as client:
            await _real_waits_and_a_lost_write(Session(client), sandbox)
