"""The write-sent journal against the sandbox: every write that may have had an effect is in it, with
the status of its answer; reads, and writes that surely did nothing, are not."""

from __future__ import annotations

import anyio
import pytest

from edfs_mcp.api import EdfsClient, sent_writes
from edfs_mcp.api.client import DELETE_TIMER, EXECUTE, TOGGLE_TIMER
from edfs_mcp.errors import OutcomeUnknown, ServerError
from edfs_mcp.sandbox import SandboxServer, seed
from tests.api.conftest import sandbox_client
from tests.harness import Waits

pytestmark = pytest.mark.anyio

NORTHGATE = seed.ITWIN_NORTHGATE_BRIDGE
NIGHTLY = seed.TIMER_NORTHGATE_SAP_NIGHTLY
MAXIMO = seed.TIMER_NORTHGATE_MAXIMO_NIGHTLY
TOGGLE_PATH = f"/edfs/itwins/{NORTHGATE}/timers/{NIGHTLY}/toggle"


async def test_reads_are_not_recorded_writes_are(fresh: SandboxServer, waits: Waits) -> None:
    async with sandbox_client(fresh, waits) as client:
        with sent_writes() as journal:
            await client.list_timers(NORTHGATE)
            await client.list_packages()
            assert journal.writes == []
            await client.toggle_timer(NORTHGATE, NIGHTLY)
    assert journal.operations == (TOGGLE_TIMER,)
    entry = journal.writes[0]
    assert entry.status == 200 and entry.path_params == {"iTwinId": NORTHGATE, "timerId": NIGHTLY}


async def test_a_write_whose_answer_was_lost_is_recorded_without_a_status(
    fresh: SandboxServer, waits: Waits
) -> None:
    fresh.state.faults.drop_after_processing(1, path_prefix=TOGGLE_PATH)
    async with sandbox_client(fresh, waits) as client:
        with sent_writes() as journal, pytest.raises(OutcomeUnknown):
            await client.toggle_timer(NORTHGATE, NIGHTLY)
    assert fresh.state.writes["timer_toggle"] == 1
    assert journal.operations == (TOGGLE_TIMER,) and journal.writes[0].status is None


async def test_a_write_answered_5xx_is_recorded_with_its_status(fresh: SandboxServer, waits: Waits) -> None:
    fresh.state.faults.server_errors(1, 503, path_prefix=TOGGLE_PATH)
    async with sandbox_client(fresh, waits) as client:
        with sent_writes() as journal, pytest.raises(ServerError):
            await client.toggle_timer(NORTHGATE, NIGHTLY)
    assert journal.writes[0].status == 503 and len(journal.writes) == 1  # not re-sent


async def test_a_write_refused_with_401_and_sent_again_is_recorded_once(
    fresh: SandboxServer, waits: Waits
) -> None:
    async with sandbox_client(fresh, waits) as client:
        await client.list_timers(NORTHGATE)  # a token is issued and cached
        fresh.state.expire_issued_tokens()
        with sent_writes() as journal:
            await client.toggle_timer(NORTHGATE, NIGHTLY)
    assert [entry.status for entry in journal.writes] == [200]
    assert fresh.state.writes["timer_toggle"] == 1


async def test_journals_nest_and_tasks_share_them(fresh: SandboxServer, waits: Waits) -> None:
    async with sandbox_client(fresh, waits) as client:
        with sent_writes() as outer:
            with sent_writes() as inner:
                await client.toggle_timer(NORTHGATE, NIGHTLY)
            async with anyio.create_task_group() as group:
                group.start_soon(_execute, client)
                group.start_soon(client.delete_timer, NORTHGATE, MAXIMO)
        await client.toggle_timer(NORTHGATE, NIGHTLY)  # no journal open: nothing to record, still works
    assert inner.operations == (TOGGLE_TIMER,)
    assert outer.operations[0] == TOGGLE_TIMER and sorted(op.key for op in outer.operations[1:]) == [
        DELETE_TIMER.key,
        EXECUTE.key,
    ]
    assert fresh.state.writes["timer_toggle"] == 2


async def _execute(client: EdfsClient) -> None:
    await client.execute_package(NORTHGATE, seed.SQL_CUSTOMERS_TABLE, [])
