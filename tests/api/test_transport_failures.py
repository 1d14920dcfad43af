"""Real transport failures over loopback end as NotSent (nothing left) or OutcomeUnknown (it may have
been processed), and a write is never sent twice once it may have left."""

from __future__ import annotations

import socket

import pytest

from edfs_mcp.api import sent_writes
from edfs_mcp.errors import NotSent, Operation, OutcomeUnknown
from tests.api.conftest import session_at
from tests.api.hostile import Out, Request, hostile
from tests.harness import Waits

pytestmark = pytest.mark.anyio

READ = Operation("list_timers", "list timers")
WRITE = Operation("create_timer", "create timer", write=True)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again on exit: connections are refused


async def test_a_refused_connection_is_not_sent_and_retried_with_backoff(waits: Waits) -> None:
    async with session_at(f"http://127.0.0.1:{closed_port()}", waits) as http:
        with sent_writes() as journal, pytest.raises(NotSent) as caught:
            await http.request(WRITE, "POST", "/edfs/x", json_body={})
    assert caught.value.reason == "ConnectError" and caught.value.host == "127.0.0.1"
    assert len(waits.seconds) == 2 and all(0 < seconds <= 4 for seconds in waits.seconds)
    assert journal.operations == ()


async def test_an_unsupported_scheme_is_not_sent(waits: Waits) -> None:
    async with session_at("ftp://127.0.0.1:21", waits) as http:
        with pytest.raises(NotSent, match="UnsupportedProtocol"):
            await http.request(WRITE, "POST", "/edfs/x", json_body={})


async def test_a_request_h11_refuses_to_write_is_not_sent(waits: Waits) -> None:
    async def answer(request: Request, out: Out) -> None:
        await out.head(200, {}, b"{}")

    async with hostile(answer) as server, session_at(server.url, waits) as http:
        with sent_writes() as journal, pytest.raises(NotSent, match="LocalProtocolError"):
            await http.request(WRITE, "POST", "/edfs/x", headers={"X-Bad": "a\nb"}, json_body={})
    assert server.requests == [] and journal.operations == ()


async def test_a_connection_closed_without_an_answer_may_have_been_processed(waits: Waits) -> None:
    async def answer(request: Request, out: Out) -> None:
        return None  # processed, then the connection closes unanswered

    async with hostile(answer) as server, session_at(server.url, waits) as http:
        with sent_writes() as journal, pytest.raises(OutcomeUnknown, match="RemoteProtocolError"):
            await http.request(WRITE, "POST", "/edfs/x", json_body={})
        assert len(server.requests) == 1  # never re-sent
        assert journal.operations == (WRITE,) and journal.writes[0].status is None
        with pytest.raises(OutcomeUnknown):
            await http.request(READ, "GET", "/edfs/x")
        assert len(server.requests) == 4  # a read is retried twice


async def test_an_answer_cut_short_may_have_been_processed(waits: Waits) -> None:
    async def answer(request: Request, out: Out) -> None:
        await out.head(201, {"Content-Length": "1000"}, body=None)
        await out.body(b'{"id": "')

    async with hostile(answer) as server, session_at(server.url, waits) as http:
        with sent_writes() as journal, pytest.raises(OutcomeUnknown, match="RemoteProtocolError"):
            await http.request(WRITE, "POST", "/edfs/x", json_body={})
    assert len(server.requests) == 1
    assert journal.writes[0].status == 201  # the status came; the rest of the answer did not
