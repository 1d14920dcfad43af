"""Every httpx2 exception is mapped: to "not sent" (NotSent, safe to send again) or to "may have been
processed" (OutcomeUnknown, a write is never re-sent). The classes are found by walking httpx2's
hierarchy, so a class added upstream fails here until someone decides what it means."""

from __future__ import annotations

import httpx2
import pytest

from edfs_mcp.api import sent_writes
from edfs_mcp.api._http import HttpSession, Timeouts
from edfs_mcp.api._retry import TRANSPORT_FAILURES, Failure, transport_failure
from edfs_mcp.auth import StaticTokenSource
from edfs_mcp.errors import (
    DeadlineExceeded,
    EdfsMcpError,
    NotSent,
    Operation,
    OutcomeUnknown,
    ResponseTooLarge,
)
from edfs_mcp.messages import describe
from edfs_mcp.sandbox import ConnectionDropped

READ = Operation("list_timers", "list timers")
WRITE = Operation("toggle_timer", "toggle timer", write=True)

# Raised before a byte of the request is written: the only ones it is safe to send again after.
SURELY_NOT_SENT = {
    httpx2.ConnectError,
    httpx2.ConnectTimeout,
    httpx2.PoolTimeout,
    httpx2.ProxyError,
    httpx2.UnsupportedProtocol,
    httpx2.LocalProtocolError,
}


def httpx2_exception_classes() -> set[type[BaseException]]:
    """httpx2.HTTPError, httpx2.TransportError and every subclass httpx2 itself defines."""
    found: set[type[BaseException]] = set()
    pending: list[type[BaseException]] = [httpx2.HTTPError, httpx2.TransportError]
    while pending:
        cls = pending.pop()
        if cls in found or not cls.__module__.startswith("httpx2"):
            continue  # subclasses made elsewhere (the sandbox's, tests') inherit their base's entry
        found.add(cls)
        pending.extend(cls.__subclasses__())
    return found


CLASSES = sorted(httpx2_exception_classes(), key=lambda cls: cls.__name__)


def test_the_mapping_knows_exactly_the_classes_httpx2_has() -> None:
    walked = set(CLASSES)
    known = set(TRANSPORT_FAILURES)
    unknown = sorted(cls.__name__ for cls in walked - known)
    assert not unknown, (
        f"httpx2 has exception classes the client does not know: {unknown}. "
        "Decide for each whether the request surely never left (Failure.NOT_SENT) or may have been "
        "processed (Failure.NO_ANSWER), and add it to TRANSPORT_FAILURES."
    )
    assert known - walked == set(), f"gone from httpx2: {sorted(c.__name__ for c in known - walked)}"
    assert len(walked) >= 20  # the walk itself works


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_each_class_is_not_sent_or_maybe_processed(cls: type[Exception]) -> None:
    expected = Failure.NOT_SENT if cls in SURELY_NOT_SENT else Failure.NO_ANSWER
    assert transport_failure(make(cls)) is expected


def test_subclasses_made_elsewhere_inherit_their_base() -> None:
    class ProxyRefused(httpx2.ProxyError):
        pass

    assert transport_failure(ProxyRefused("no")) is Failure.NOT_SENT
    assert transport_failure(ConnectionDropped("dropped after processing")) is Failure.NO_ANSWER
    assert transport_failure(RuntimeError("anything else")) is Failure.NO_ANSWER


def make(cls: type[Exception]) -> Exception:
    request = httpx2.Request("POST", "http://edfs.invalid/edfs/x")
    if issubclass(cls, httpx2.HTTPStatusError):
        return cls("boom", request=request, response=httpx2.Response(500, request=request))
    if issubclass(cls, httpx2.RequestError):
        return cls("boom", request=request)
    return cls("boom")


class Waits:
    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


@pytest.mark.anyio
@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("operation", [READ, WRITE], ids=["read", "write"])
async def test_the_loop_raises_the_mapped_error(cls: type[Exception], operation: Operation) -> None:
    """Through HttpSession.request, with an httpx2 transport that raises ``cls`` on every request."""
    attempts: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        attempts.append(request)
        raise make(cls)

    waits = Waits()
    session = HttpSession(
        base_url="http://edfs.invalid",
        tokens=StaticTokenSource("t"),
        timeouts=Timeouts(connect=1, read=1, long_read=1),
        max_rate_limit_wait=0,
        transport=httpx2.MockTransport(handler),
        sleep=waits,
    )
    try:
        with sent_writes() as journal:
            if cls in SURELY_NOT_SENT:
                with pytest.raises(NotSent) as not_sent:
                    await session.request(operation, "PATCH", "/edfs/x")
                assert not_sent.value.reason == cls.__name__
                assert len(attempts) == 3 and len(waits.seconds) == 2  # connect retries, backed off
                assert journal.operations == ()  # it never left: nothing to report as its outcome
            else:
                with pytest.raises(OutcomeUnknown) as unknown:
                    await session.request(operation, "PATCH", "/edfs/x")
                assert unknown.value.reason == cls.__name__ and unknown.value.limit is None
                # A write that may have been processed is never sent again; a read is, twice.
                assert len(attempts) == (1 if operation.write else 3)
                assert journal.operations == ((WRITE,) if operation.write else ())
    finally:
        await session.aclose()


@pytest.mark.parametrize(
    "error",
    [
        ResponseTooLarge(READ, "EDFS_MCP_MAX_RESPONSE_BYTES", limit_bytes=64 << 20),
        DeadlineExceeded(READ, "EDFS_MCP_READ_TIMEOUT", seconds=60),
        OutcomeUnknown(
            WRITE, "no complete answer within 600 s", limit=DeadlineExceeded(WRITE, "X", seconds=600)
        ),
    ],
    ids=lambda error: type(error).__name__,
)
def test_the_new_errors_have_words_naming_the_limit(error: EdfsMcpError) -> None:
    text = describe(error)
    assert ("64 MiB" in text or "60 s" in text or "600 s" in text) and len(text) < 1000, text
