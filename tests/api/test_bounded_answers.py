"""Bounded answers: a byte cap counted after decompression and enforced while streaming, a small cap
for error bodies, and a deadline for the whole answer — each against a real loopback server that
sends huge, endless, compressed-bomb, trickling or malformed answers."""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import AsyncIterator

import anyio
import httpx2
import pytest

from edfs_mcp.api import EdfsClient, Timeouts, sent_writes
from edfs_mcp.api._body import ERROR_BODY_LIMIT
from edfs_mcp.api._http import MAX_DETAILS, HttpSession
from edfs_mcp.auth import ClientCredentialsSource, StaticTokenSource
from edfs_mcp.errors import (
    DeadlineExceeded,
    InvalidInput,
    Operation,
    OutcomeUnknown,
    ResponseTooLarge,
    ServerError,
)
from edfs_mcp.sandbox import SandboxState, build_app, seed
from tests.api.conftest import session_at
from tests.api.hostile import CHUNK, Out, Request, compressed, gzip_of_zeros, hostile
from tests.harness import Waits

pytestmark = pytest.mark.anyio

READ = Operation("list_timers", "list timers")
WRITE = Operation("execute", "execute package", write=True)
CAP = 1 << 20  # 1 MiB: small, so the tests are quick; the default (256 MiB) is a setting
SOCKET_SLACK = 16 << 20  # what loopback socket buffers can hold beyond what the client read


@pytest.fixture(autouse=True)
async def _never_hang() -> AsyncIterator[None]:
    # A guard, not a measurement: without the bounds under test some of these would never end.
    with anyio.fail_after(60):
        yield


async def endless(request: Request, out: Out) -> None:
    await out.head(200, {"Transfer-Encoding": "chunked", "Content-Type": "application/json"}, body=None)
    block = b"x" * CHUNK
    while True:
        await out.chunk(block)


async def declared_huge(request: Request, out: Out) -> None:
    await out.head(200, {"Content-Length": str(500 << 20)}, body=None)
    block = b"x" * CHUNK
    while True:
        await out.body(block)


async def test_an_endless_body_stops_at_the_cap(waits: Waits) -> None:
    async with hostile(endless) as server, session_at(server.url, waits, max_response_bytes=CAP) as http:
        with pytest.raises(ResponseTooLarge) as caught:
            await http.request(READ, "GET", "/edfs/x")
        await server.hung_up.wait()
    assert caught.value.limit_bytes == CAP and caught.value.setting == "EDFS_MCP_MAX_RESPONSE_BYTES"
    assert "nothing was changed" in str(caught.value)
    assert len(server.requests) == 1  # never asked again: it would be as large again
    assert server.sent < CAP + SOCKET_SLACK


async def test_a_body_declared_larger_than_the_cap_is_not_read_at_all(waits: Waits) -> None:
    async with (
        hostile(declared_huge) as server,
        session_at(server.url, waits, max_response_bytes=CAP) as http,
    ):
        with pytest.raises(ResponseTooLarge):
            await http.request(READ, "GET", "/edfs/x")
        await server.hung_up.wait()
    assert server.sent < SOCKET_SLACK


@pytest.mark.parametrize(
    ("encoding", "wbits"),
    [
        ("gzip", zlib.MAX_WBITS | 16),
        ("x-gzip", zlib.MAX_WBITS | 16),
        ("deflate", zlib.MAX_WBITS),
        ("deflate", -15),
    ],
)
async def test_the_cap_counts_bytes_after_decompression(waits: Waits, encoding: str, wbits: int) -> None:
    bomb = gzip_of_zeros(64 * CAP, wbits)  # ~64 KiB on the wire, 64 MiB inflated
    assert len(bomb) < CAP

    async def answer(request: Request, out: Out) -> None:
        await out.head(200, {"Content-Encoding": encoding}, bomb)

    async with hostile(answer) as server, session_at(server.url, waits, max_response_bytes=CAP) as http:
        with pytest.raises(ResponseTooLarge):
            await http.request(READ, "GET", "/edfs/x")


@pytest.mark.parametrize(
    ("encoding", "wbits"),
    [
        ("gzip", zlib.MAX_WBITS | 16),
        ("deflate", zlib.MAX_WBITS),
        ("deflate", -15),
        ("identity", None),
        ("", None),
    ],
)
async def test_answers_within_the_cap_are_decoded(waits: Waits, encoding: str, wbits: int | None) -> None:
    payload = json.dumps({"timers": [{"id": str(n)} for n in range(20_000)]}).encode()
    body = payload if wbits is None else compressed(payload, wbits)
    headers = {"Content-Encoding": encoding} if encoding else {}

    async def answer(request: Request, out: Out) -> None:
        await out.head(200, headers, body)

    async with hostile(answer) as server, session_at(server.url, waits, max_response_bytes=CAP) as http:
        answer_ = await http.request(READ, "GET", "/edfs/x")
    assert answer_.content == payload and len(answer_.json()["timers"]) == 20_000
    assert server.requests[0].headers["accept-encoding"] == "gzip, deflate"


async def test_a_body_of_exactly_the_cap_is_accepted(waits: Waits) -> None:
    async def answer(request: Request, out: Out) -> None:
        await out.head(200, {"Content-Encoding": "gzip"}, gzip_of_zeros(CAP))

    async with hostile(answer) as server, session_at(server.url, waits, max_response_bytes=CAP) as http:
        assert len((await http.request(READ, "GET", "/edfs/x")).content) == CAP


@pytest.mark.parametrize(
    ("encoding", "body"),
    [("gzip", b"\x1f\x8b\x08\x00garbage-garbage"), ("br", b"\x0b\x02\x80{}\x03"), ("gzip, gzip", b"")],
)
async def test_an_undecodable_answer_is_retried_for_a_read_and_unknown_for_a_write(
    waits: Waits, encoding: str, body: bytes
) -> None:
    async def answer(request: Request, out: Out) -> None:
        await out.head(200, {"Content-Encoding": encoding}, body)

    async with hostile(answer) as server, session_at(server.url, waits) as http:
        with pytest.raises(OutcomeUnknown, match="undecodable answer"):
            await http.request(READ, "GET", "/edfs/x")
        assert len(server.requests) == 3
        with pytest.raises(OutcomeUnknown, match="undecodable answer"):
            await http.request(WRITE, "POST", "/edfs/x", json_body={})
        assert len(server.requests) == 4


async def test_a_write_whose_answer_is_too_large_may_have_run(waits: Waits) -> None:
    async with hostile(endless) as server, session_at(server.url, waits, max_response_bytes=CAP) as http:
        with sent_writes() as journal, pytest.raises(OutcomeUnknown) as caught:
            await http.request(WRITE, "POST", "/edfs/x", json_body={"variables": []})
    assert isinstance(caught.value.limit, ResponseTooLarge) and caught.value.limit.limit_bytes == CAP
    assert "1 MiB" in caught.value.reason and "EDFS_MCP_MAX_RESPONSE_BYTES" in caught.value.reason
    assert len(server.requests) == 1
    assert journal.operations == (WRITE,) and journal.writes[0].status == 200


# -- the deadline ---------------------------------------------------------------------------------

QUICK = Timeouts(connect=1, read=0.5, long_read=0.75)
TRICKLE_EVERY = 0.05  # well under the 0.5 s per-read timeout: only a deadline ends the call


async def trickle(request: Request, out: Out) -> None:
    await out.head(200, {"Content-Length": "1000000"}, body=None)
    while True:
        await out.body(b" ")
        await asyncio.sleep(TRICKLE_EVERY)


async def test_a_trickling_read_ends_at_its_deadline(waits: Waits) -> None:
    async with hostile(trickle) as server, session_at(server.url, waits, timeouts=QUICK) as http:
        with pytest.raises(DeadlineExceeded) as caught:
            await http.request(READ, "GET", "/edfs/x")
    assert caught.value.seconds == 0.5 and caught.value.setting == "EDFS_MCP_READ_TIMEOUT"
    assert len(server.requests) == 3  # a read is retried like any lost answer, a bounded number of times


async def test_a_trickling_write_is_sent_once_and_its_outcome_is_unknown(waits: Waits) -> None:
    async with hostile(trickle) as server, session_at(server.url, waits, timeouts=QUICK) as http:
        with pytest.raises(OutcomeUnknown) as caught:
            await http.request(WRITE, "POST", "/edfs/x", json_body={}, long_running=True)
    assert isinstance(caught.value.limit, DeadlineExceeded)
    assert caught.value.limit.seconds == 0.75 and caught.value.limit.setting == "EDFS_MCP_EXECUTE_TIMEOUT"
    assert len(server.requests) == 1


# -- error bodies ---------------------------------------------------------------------------------


def many_details(count: int) -> bytes:
    details = ",".join(
        f'{{"code":"InvalidValue","message":"Value {n} is not valid.","target":"variables[{n}]"}}'
        for n in range(count)
    )
    return (
        f'{{"error":{{"code":"InvalidRequest","message":"Bad variables.","details":[{details}]}}}}'.encode()
    )


async def test_an_error_with_200000_details_reads_at_most_the_error_cap(waits: Waits) -> None:
    body = many_details(200_000)  # ~16 MB
    assert len(body) > 200 * ERROR_BODY_LIMIT

    async def answer(request: Request, out: Out) -> None:
        await out.head(422, {"Content-Type": "application/json"}, body)

    async with hostile(answer) as server, session_at(server.url, waits) as http:
        with pytest.raises(InvalidInput) as caught:
            await http.request(WRITE, "POST", "/edfs/x", json_body={})
        await server.hung_up.wait()
    error = caught.value
    assert (error.code, error.message) == ("InvalidRequest", "Bad variables.")
    assert len(error.details) == MAX_DETAILS and error.details[0].target == "variables[0]"
    assert 0 < error.more_details < ERROR_BODY_LIMIT // 50  # counted within the cut body only
    assert len(str(error)) < 200
    assert server.sent < len(body) // 2


async def test_a_huge_5xx_page_is_read_only_up_to_the_error_cap(waits: Waits) -> None:
    async def answer(request: Request, out: Out) -> None:
        await out.head(502, {"Content-Type": "text/html"}, b"<html>" + b"x" * (8 << 20))

    async with hostile(answer) as server, session_at(server.url, waits) as http:
        with pytest.raises(ServerError) as caught:
            await http.request(READ, "GET", "/edfs/x")
    assert caught.value.status == 502 and caught.value.code is None
    assert caught.value.attempts == 3 and len(server.requests) == 3


async def test_absurdly_nested_json_is_an_unexpected_answer_not_a_crash(waits: Waits) -> None:
    async def answer(request: Request, out: Out) -> None:
        await out.head(200, {"Content-Type": "application/json"}, b'{"timers":' + b"[" * 200_000)

    async with hostile(answer) as server:
        client = EdfsClient(
            api_base=server.url,
            tokens=StaticTokenSource("t"),
            timeouts=QUICK,
            max_rate_limit_wait=0,
            sleep=waits,
        )
        try:
            with pytest.raises(ServerError, match="HTTP 200 UnexpectedResponse"):
                await client.list_timers("2f4b8c1e-7a3d-4e59-b6c0-91d2e3f4a5b1")
        finally:
            await client.aclose()


# -- one big answer does not hold up the others ---------------------------------------------------


async def test_a_small_call_completes_while_a_big_answer_streams(waits: Waits) -> None:
    big_started, small_done = asyncio.Event(), asyncio.Event()
    order: list[str] = []

    async def answer(request: Request, out: Out) -> None:
        if request.path.endswith("/small"):
            await out.head(200, {}, b'{"timers": []}')
            return
        await out.head(200, {"Transfer-Encoding": "chunked"}, body=None)
        block = b"y" * CHUNK
        for _ in range(8):  # some of the big body, then nothing until the small call has its answer
            await out.chunk(block)
        big_started.set()
        await small_done.wait()
        while True:
            await out.chunk(block)

    async def big(http: HttpSession) -> None:
        with pytest.raises(ResponseTooLarge):
            await http.request(READ, "GET", "/edfs/big")
        order.append("big")

    async with (
        hostile(answer) as server,
        session_at(server.url, waits, max_response_bytes=4 * CAP) as http,
        anyio.create_task_group() as group,
    ):
        group.start_soon(big, http)
        await big_started.wait()
        await http.request(READ, "GET", "/edfs/small")
        order.append("small")
        small_done.set()
    assert order == ["small", "big"]


async def test_in_process_the_deadline_is_the_read_timeout_itself(waits: Waits) -> None:
    """The ASGI transport reports no progress, so the deadline runs from the start: no connect slack."""
    state = SandboxState()
    state.faults.latency(3)  # shorter than read + 2 x connect (10.3 s), far longer than read (0.3 s)
    transport = httpx2.ASGITransport(app=build_app(state))
    client = EdfsClient(
        api_base="http://sandbox.invalid",
        tokens=ClientCredentialsSource(
            token_endpoint="http://sandbox.invalid/connect/token",
            client_id=seed.CLIENT_ADMIN_ID,
            client_secret=seed.CLIENT_ADMIN_SECRET,
            scope="itwin-platform",
            transport=transport,
        ),
        timeouts=Timeouts(connect=5, read=0.3, long_read=0.3),
        max_rate_limit_wait=0,
        transport=transport,
        sleep=waits,
    )
    try:
        with pytest.raises(DeadlineExceeded) as caught:
            await client.list_timers(seed.ITWIN_NORTHGATE_BRIDGE)
        assert caught.value.seconds == 0.3 and len(waits.seconds) == 2
        with pytest.raises(OutcomeUnknown) as unknown:
            await client.execute_package(seed.ITWIN_NORTHGATE_BRIDGE, seed.SQL_CUSTOMERS_TABLE, [])
        assert isinstance(unknown.value.limit, DeadlineExceeded)
    finally:
        await client.aclose()


async def hang(request: Request, out: Out) -> None:
    await asyncio.sleep(3600)


async def test_a_hung_upstream_ends_within_the_call_timeout_saying_how_long_and_how_many_tries(
    waits: Waits,
) -> None:
    """Each try gets the read timeout; the call as a whole gets the call timeout, not 3 x read."""
    timeouts = Timeouts(connect=1, read=0.5, long_read=5, call=2.2)
    async with hostile(hang) as server, session_at(server.url, waits, timeouts=timeouts) as http:
        started = anyio.current_time()
        with pytest.raises(DeadlineExceeded) as caught:
            await http.request(READ, "GET", "/edfs/x")
        elapsed = anyio.current_time() - started
    error = caught.value
    # After two tries (1 s; backoff is not really waited here) the second retry's backoff (0.5-1 s)
    # plus a try's minimum (1 s) would pass 2.2 s: the call stops, though read_retries allows one more.
    assert error.attempts == len(server.requests) == 2
    assert 1.0 <= error.elapsed <= elapsed < 2.2
    assert "within 0.5 s on any of 2 tries, 1 s in all (EDFS_MCP_READ_TIMEOUT)" in str(error)


# -- what follows the end of a compressed stream (hostile input round two) ------------------------

GZIP, ZLIB, RAW = zlib.MAX_WBITS | 16, zlib.MAX_WBITS, -15
SMALL = b'{"timers": []}'


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzip_of_zeros(400_000) + b"x"),  # a member, then one trailing byte (spun for good)
        ("gzip", gzip_of_zeros(400_000) + b"\x1f\x8b\x08\x00"),  # a member, then a cut one
        ("gzip", gzip_of_zeros(400_000) + b"not gzip at all"),  # a member, then garbage
        ("deflate", gzip_of_zeros(400_000, ZLIB) + b"x"),  # a stream, then one trailing byte
        ("deflate", gzip_of_zeros(400_000, ZLIB) + gzip_of_zeros(10, ZLIB)),  # two streams
        ("gzip", gzip_of_zeros(400_000)[:-4]),  # cut inside the trailer
    ],
    ids=["gzip+byte", "gzip+cut-member", "gzip+garbage", "deflate+byte", "deflate+deflate", "gzip-cut"],
)
async def test_bytes_after_or_missing_from_a_stream_are_a_corrupt_answer_not_a_hang(
    waits: Waits, encoding: str, body: bytes
) -> None:
    async def answer(request: Request, out: Out) -> None:
        if request.path.endswith("/small"):
            await out.head(200, {}, SMALL)
        else:
            await out.head(200, {"Content-Encoding": encoding}, body)

    order: list[str] = []

    async def hostile_call(http: HttpSession) -> None:
        with pytest.raises(OutcomeUnknown, match="corrupt compressed body"):
            await http.request(READ, "GET", "/edfs/x")
        order.append("hostile")

    async with (
        hostile(answer) as server,
        session_at(server.url, waits, max_response_bytes=CAP) as http,
        anyio.create_task_group() as group,
    ):
        group.start_soon(hostile_call, http)
        assert (await http.request(READ, "GET", "/edfs/small")).content == SMALL
        order.append("small")
    assert sorted(order) == ["hostile", "small"]
    assert len([r for r in server.requests if r.path == "/edfs/x"]) == 3  # a read: retried, bounded


async def test_several_gzip_members_are_one_body(waits: Waits) -> None:
    first, second = b'{"timers": [', b"]}"
    body = compressed(first, GZIP) + compressed(second, GZIP)

    async def answer(request: Request, out: Out) -> None:
        await out.head(200, {"Content-Encoding": "gzip"}, body)

    async with hostile(answer) as server, session_at(server.url, waits, max_response_bytes=CAP) as http:
        assert (await http.request(READ, "GET", "/edfs/x")).json() == {"timers": []}


@pytest.mark.scale
@pytest.mark.parametrize("size", [1 << 30, 2 << 30], ids=["1GiB", "2GiB"])
async def test_a_huge_bomb_stops_at_the_cap_and_lets_other_calls_run(waits: Waits, size: int) -> None:
    bomb = gzip_of_zeros(size)  # ~1 MB and ~2 MB on the wire

    async def answer(request: Request, out: Out) -> None:
        if request.path.endswith("/small"):
            await out.head(200, {}, SMALL)
        else:
            await out.head(200, {"Content-Encoding": "gzip"}, bomb)

    async with hostile(answer) as server, session_at(server.url, waits) as http:  # the default 256 MiB cap
        with pytest.raises(ResponseTooLarge):
            await http.request(READ, "GET", "/edfs/x")
        assert (await http.request(READ, "GET", "/edfs/small")).content == SMALL


@pytest.mark.parametrize("wbits", [GZIP, ZLIB, RAW], ids=["gzip", "zlib", "raw"])
async def test_the_bomb_maker_makes_exactly_the_zeros_it_says(wbits: int) -> None:
    size = (3 << 20) + 12345
    inflater = zlib.decompressobj(wbits)
    assert inflater.decompress(gzip_of_zeros(size, wbits)) + inflater.flush() == bytes(size)
    assert inflater.eof and not inflater.unused_data
