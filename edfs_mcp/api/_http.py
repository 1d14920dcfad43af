"""HTTP plumbing: headers, auth, timeouts, safe paths, bounded answers, the retry loop, error bodies.

``HttpSession.request`` is a thin loop: send one attempt, then ask the pure ``_retry.decide`` what to
do (the rules are written there). Around every attempt:

- a deadline for the whole answer (send, wait, read the body): the read timeout, or the execute
  timeout for a package run, counted from the moment the request starts to be written;
- a deadline for the whole call, every try and wait included (``Timeouts.call``; package runs have
  only their execute timeout): no try runs past it and no retry starts that would not fit;
- a byte cap on the body, counted after decompression while it streams: ``max_response_bytes``
  for answers below 400, ``ERROR_BODY_LIMIT`` for error answers (only code, message and details
  are needed);
- every httpx2 exception mapped by ``_retry.transport_failure`` to "not sent" or "may have been
  processed";
- writes recorded in the caller's ``sent_writes()`` journal just before they are handed over.

A write is never re-sent once it may have left this machine: a lost, cut, too large or too slow
answer to a write is ``OutcomeUnknown`` (with ``limit`` naming the limit it broke), a 5xx is
``ServerError`` on a write operation, and the caller decides how to find out what happened.

Long because the retry loop, the deadlines, the byte caps and the salvage of a cut error body all
act on one attempt and its state; the decision is already apart (``_retry``), and what is left is
one attempt's mechanics.
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import quote

import anyio
import httpx2

from edfs_mcp._version import __version__
from edfs_mcp.api import _journal
from edfs_mcp.api._body import ACCEPT_ENCODING, ERROR_BODY_LIMIT, UndecodableBody, read_capped
from edfs_mcp.api._retry import (
    Failure,
    Outcome,
    RefreshToken,
    Retry,
    RetryPolicy,
    Stop,
    StopReason,
    Tally,
    decide,
    retry_after_seconds,
    transport_failure,
)
from edfs_mcp.auth.base import TokenSource
from edfs_mcp.errors import (
    AnswerRefused,
    ApiError,
    DeadlineExceeded,
    EdfsMcpError,
    ErrorDetail,
    NotSent,
    Operation,
    OutcomeUnknown,
    ResponseTooLarge,
    api_error_class,
)

logger = logging.getLogger("edfs_mcp.api")

ACCEPT = "application/vnd.bentley.itwin-platform.v1+json"
# The sandbox's largest legitimate answer (SENSOR_READINGS_ARCHIVE, 1 000 000 rows) is ~100 MB; the cap is
# counted after decompression, and a body is parsed into columns of a fraction of its size (BENCHMARKS.md).
DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024
# Details of an error answer kept; the others are only counted.
MAX_DETAILS = 20
# Closing a response runs even when the call is cancelled, but not for longer than this.
CLOSE_SECONDS = 5.0

# Called before each wait: (seconds about to wait, why) — lets the server report progress.
WaitCallback = Callable[[float, str], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Timeouts:
    """Seconds. ``read`` / ``long_read`` bound each read *and* the whole answer of one attempt
    (from the first byte written to the last byte read); ``long_read`` is for package runs.
    ``call`` bounds a whole call other than a package run: its tries, backoff and 429 waits."""

    connect: float
    read: float
    long_read: float
    call: float = math.inf


@dataclass(frozen=True)
class Answer:
    """A complete answer with a status below 400, its body read within the size cap."""

    status: int
    headers: httpx2.Headers
    content: bytes
    path: str  # the request's URL path, for messages

    def json(self) -> Any:
        """The body as JSON; ValueError (or RecursionError when absurdly nested) otherwise."""
        return json.loads(self.content)


def segment(value: str) -> str:
    """One percent-encoded path segment: nothing in ``value`` can add a segment or a query.

    Callers validate formats first; this is the last line, so it refuses rather than guesses.
    """
    if value in ("", ".", "..") or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError(f"unsafe path segment {value!r}")
    return quote(value, safe="")


class Target(NamedTuple):
    """Where a request goes: the path, and the parameters it was made from (messages name them)."""

    path: str
    params: Mapping[str, str]


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def target(template: str, **params: str) -> Target:
    """``target("/edfs/itwins/{iTwinId}/timers", iTwinId=...)``: one spelling gives both the path
    (each value one percent-encoded segment) and the parameters an error message names."""
    path = _PLACEHOLDER.sub(lambda match: segment(params[match.group(1)]), template)
    return Target(path, params)


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as finite seconds ≥ 0 from now: an integer, a decimal, or an HTTP date."""
    return retry_after_seconds(value, time.time())


# -- error bodies -----------------------------------------------------------------------------------


class ErrorBody(NamedTuple):
    code: str | None
    message: str | None
    details: tuple[ErrorDetail, ...]  # the first MAX_DETAILS
    more_details: int  # details read beyond those


NO_ERROR_BODY = ErrorBody(None, None, (), 0)


def read_error_body(content: bytes, *, complete: bool = True) -> ErrorBody:
    """Code, message and the first details of an EDFS error body, tolerating any shape.

    At most ``ERROR_BODY_LIMIT`` bytes are looked at. A body that was cut (``complete=False``) is
    read as far as it goes: the code, message and details before the cut are kept.
    """
    if len(content) > ERROR_BODY_LIMIT:
        content, complete = content[:ERROR_BODY_LIMIT], False
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _salvage(content.decode("utf-8", "replace")) if not complete else NO_ERROR_BODY
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return NO_ERROR_BODY
    raw_details = error.get("details")
    items = [item for item in raw_details if isinstance(item, dict)] if isinstance(raw_details, list) else []
    return _error_body(error.get("code"), error.get("message"), items, max(0, len(items) - MAX_DETAILS))


def _error_body(code: Any, message: Any, items: list[dict[str, Any]], more: int) -> ErrorBody:
    details = tuple(
        ErrorDetail(
            code=_text(item.get("code")) or "",
            message=_text(item.get("message")) or "",
            target=_text(item.get("target")),
        )
        for item in items[:MAX_DETAILS]
    )
    return ErrorBody(_text(code), _text(message), details, more)


def _text(value: Any) -> str | None:
    # Upstream text is shown to a model: keep it short and single-line.
    if isinstance(value, str) and value:
        return " ".join(value.split())[:300]
    return None


class _Cut(Exception):
    """The text ends (or stops making sense) here."""


_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class _Scanner:
    """Walks a JSON text that may be cut anywhere, one value at a time."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        match = _SPACE.match(self.text, self.pos)
        self.pos = match.end() if match else self.pos
        if self.pos >= len(self.text):
            raise _Cut
        return self.text[self.pos]

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise _Cut
        self.pos += 1

    def value(self) -> Any:
        self.peek()
        try:
            value, self.pos = _DECODER.raw_decode(self.text, self.pos)
        except (ValueError, RecursionError):
            raise _Cut from None
        return value

    def members(self) -> Iterator[str]:
        """The keys of the object here; the caller reads each value before asking for the next key."""
        self.expect("{")
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            key = self.value()
            if not isinstance(key, str):
                raise _Cut
            self.expect(":")
            yield key
            if self.peek() == "}":
                self.pos += 1
                return
            self.expect(",")

    def elements(self) -> Iterator[None]:
        """One step per element of the array here; the caller reads each element."""
        self.expect("[")
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            yield None
            if self.peek() == "]":
                self.pos += 1
                return
            self.expect(",")


def _salvage(text: str) -> ErrorBody:
    """What a cut error body says before the cut: ``{"error": {"code", "message", "details": [...``."""
    scan = _Scanner(text)
    fields: dict[str, Any] = {}
    items: list[dict[str, Any]] = []
    more = 0
    try:
        for key in scan.members():
            if key != "error" or scan.peek() != "{":
                scan.value()
                continue
            for inner in scan.members():
                if inner == "details" and scan.peek() == "[":
                    for _ in scan.elements():
                        item = scan.value()
                        if isinstance(item, dict):
                            if len(items) < MAX_DETAILS:
                                items.append(item)
                            else:
                                more += 1
                else:
                    fields[inner] = scan.value()
            break
    except _Cut:
        pass
    return _error_body(fields.get("code"), fields.get("message"), items, more)


def error_from_response(
    answer: Answer,
    operation: Operation,
    path_params: Mapping[str, str],
    waited: float = 0.0,
    *,
    complete: bool = True,
    retry_after: float | None = None,
    attempts: int = 1,
) -> ApiError:
    """The ApiError for an error answer (``complete=False``: its body was cut at the cap).

    ``retry_after`` replaces the header's value (the wait the policy would have made)."""
    body = read_error_body(answer.content, complete=complete)
    if retry_after is None or not math.isfinite(retry_after):
        retry_after = parse_retry_after(answer.headers.get("retry-after"))
    return api_error_class(answer.status)(
        status=answer.status,
        operation=operation,
        code=body.code,
        message=body.message,
        details=body.details,
        retry_after=retry_after,
        waited=waited,
        path_params=dict(path_params),
        more_details=body.more_details,
        attempts=attempts,
    )


# -- one attempt ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Attempt:
    """What one attempt produced: the outcome for the policy, and what an error needs."""

    outcome: Outcome
    headers: httpx2.Headers | None = None
    content: bytes = b""
    complete: bool = True
    cause: str = ""  # the exception's class name, for NotSent / OutcomeUnknown


class _SendWatch:
    """httpcore's ``trace`` hook: tells whether the request started to be written, and starts the
    answer deadline then. No event at all (an ASGI transport) means "unknown": assume it was sent."""

    def __init__(self, scope: anyio.CancelScope, answer_seconds: float, call_deadline: float) -> None:
        self._scope = scope
        self._answer_seconds = answer_seconds
        self._call_deadline = call_deadline
        self.traced = False
        self.sending = False

    async def __call__(self, event: str, info: Mapping[str, Any]) -> None:
        self.traced = True
        if not self.sending and event.endswith(".send_request_headers.started"):
            self.sending = True
            self._scope.deadline = min(anyio.current_time() + self._answer_seconds, self._call_deadline)

    @property
    def surely_unsent(self) -> bool:
        return self.traced and not self.sending


class HttpSession:
    """One pooled async HTTP client for the whole process, with the bounds and retries above.

    ``sleep``, ``jitter`` and ``clock`` are the loop's only contact with time and chance (tests pass
    their own so nothing really waits).
    """

    def __init__(
        self,
        *,
        base_url: str,
        tokens: TokenSource,
        timeouts: Timeouts,
        max_rate_limit_wait: float,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        transport: httpx2.AsyncBaseTransport | None = None,
        policy: RetryPolicy | None = None,
        sleep: Sleep | None = None,
        jitter: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._tokens = tokens
        self._timeouts = timeouts
        self._max_response_bytes = max_response_bytes
        self._policy = policy or RetryPolicy(max_rate_limit_wait=max_rate_limit_wait)
        self._sleep: Sleep = sleep or anyio.sleep
        self._jitter = jitter
        self._clock = clock
        self._host = httpx2.URL(base_url).host or base_url
        # httpcore reports when writing starts; other transports (in-process ASGI) report nothing.
        self._traced = transport is None or isinstance(transport, httpx2.AsyncHTTPTransport)
        self._client = httpx2.AsyncClient(
            base_url=base_url,
            headers={
                "Accept": ACCEPT,
                "Accept-Encoding": ACCEPT_ENCODING,
                "User-Agent": f"edfs-mcp/{__version__}",
            },
            timeout=httpx2.Timeout(timeouts.read, connect=timeouts.connect),
            limits=httpx2.Limits(max_connections=100, max_keepalive_connections=20),
            transport=transport,
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        operation: Operation,
        method: str,
        path: str | Target,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        long_running: bool = False,
        on_wait: WaitCallback | None = None,
    ) -> Answer:
        """Send with the retry policy; return a complete answer below 400 or raise an EdfsMcpError."""
        path, path_params = (path, {}) if isinstance(path, str) else path
        read_timeout = self._timeouts.long_read if long_running else self._timeouts.read
        timeout = httpx2.Timeout(read_timeout, connect=self._timeouts.connect)
        tally = Tally()
        started = anyio.current_time()
        deadline = started + (math.inf if long_running else self._timeouts.call)
        while True:
            token = await self._tokens.get_token()
            request = self._client.build_request(
                method,
                path,
                params=params,
                json=json_body,
                headers={**(headers or {}), "Authorization": f"Bearer {token}"},
                timeout=timeout,
            )
            attempt = await self._attempt(operation, request, path_params, read_timeout, deadline)
            tally = tally.sent()
            outcome = attempt.outcome
            if outcome.failure is None and outcome.status is not None and outcome.status < 400:
                assert attempt.headers is not None
                return Answer(outcome.status, attempt.headers, attempt.content, request.url.path)
            decision = decide(
                self._policy,
                operation,
                outcome,
                tally,
                now=self._clock(),
                jitter=self._jitter(),
                remaining=deadline - anyio.current_time(),
            )
            if isinstance(decision, RefreshToken):
                tally = tally.after(decision)
                if await self._tokens.reject(token):
                    continue
                decision = Stop(StopReason.TOKEN_REFUSED)
            if isinstance(decision, Retry):
                logger.info("%s: %s, retrying in %.2f s", operation.name, decision.why, decision.delay)
                if on_wait is not None and decision.report:
                    await on_wait(decision.delay, decision.why)
                await self._sleep(decision.delay)
                tally = tally.after(decision)
                continue
            elapsed = anyio.current_time() - started
            raise self._error(operation, path_params, attempt, tally, decision, long_running, elapsed)

    async def _attempt(
        self,
        operation: Operation,
        request: httpx2.Request,
        path_params: Mapping[str, str],
        answer_seconds: float,
        call_deadline: float,
    ) -> _Attempt:
        """Send once and read the answer within the deadlines and the byte cap; never raises for
        what the server or the network does."""
        # Over httpcore, connect and pool timeouts bound the wait until the request starts to be
        # written (this first deadline is only a backstop); from then on the answer has
        # answer_seconds. A transport that reports nothing gets answer_seconds from the start.
        # Neither runs past the call's own deadline.
        backstop = 2 * self._timeouts.connect if self._traced else 0.0
        scope = anyio.CancelScope(
            deadline=min(anyio.current_time() + answer_seconds + backstop, call_deadline)
        )
        watch = _SendWatch(scope, answer_seconds, call_deadline)
        request.extensions = {**request.extensions, "trace": watch}
        entry = _journal.record(operation, path_params) if operation.write else None
        attempt: _Attempt | None = None
        try:
            with scope:
                attempt = await self._exchange(request, entry)
        except UndecodableBody as exc:
            attempt = _Attempt(Outcome(failure=Failure.NO_ANSWER), cause=f"undecodable answer: {exc}")
        except httpx2.HTTPError as exc:
            attempt = _Attempt(Outcome(failure=transport_failure(exc)), cause=type(exc).__name__)
        if attempt is None or scope.cancelled_caught:  # the deadline passed
            if watch.surely_unsent:
                attempt = _Attempt(Outcome(failure=Failure.NOT_SENT), cause="ConnectTimeout")
            else:
                attempt = _Attempt(Outcome(failure=Failure.DEADLINE), cause="deadline")
        if attempt.outcome.failure is Failure.NOT_SENT or attempt.outcome.status in (401, 429):
            _journal.retract(entry)  # surely not processed
        return attempt

    async def _exchange(self, request: httpx2.Request, entry: _journal.SentWrite | None) -> _Attempt:
        response = await self._client.send(request, stream=True)
        try:
            status = response.status_code
            if entry is not None:
                entry.status = status
            retry_after = response.headers.get("retry-after")
            if status < 400:
                content, complete = await read_capped(response, self._max_response_bytes, keep_prefix=False)
                if not complete:
                    return _Attempt(Outcome(status, Failure.TOO_LARGE), response.headers, cause="too large")
            else:
                content, complete = await read_capped(response, ERROR_BODY_LIMIT, keep_prefix=True)
            return _Attempt(Outcome(status, None, retry_after), response.headers, content, complete)
        finally:
            # Closing an unfinished body drops the connection: nothing more is read from it.
            with anyio.CancelScope(shield=True, deadline=anyio.current_time() + CLOSE_SECONDS):
                await response.aclose()

    def _error(
        self,
        operation: Operation,
        path_params: Mapping[str, str],
        attempt: _Attempt,
        tally: Tally,
        decision: Stop,
        long_running: bool,
        elapsed: float,
    ) -> EdfsMcpError:
        failure = attempt.outcome.failure
        logger.info("%s: giving up (%s)", operation.name, decision.reason)
        if failure is Failure.NOT_SENT:
            return NotSent(operation, attempt.cause, self._host)
        if failure is Failure.NO_ANSWER:
            return OutcomeUnknown(operation, attempt.cause)
        if failure is not None:
            limit = self._limit(operation, failure, long_running, tally.attempts, elapsed)
            return OutcomeUnknown(operation, limit.what(), limit=limit) if operation.write else limit
        assert attempt.headers is not None and attempt.outcome.status is not None
        retry_after = decision.retry_after
        if retry_after is None:
            retry_after = retry_after_seconds(attempt.outcome.retry_after, self._clock())
        return error_from_response(
            Answer(attempt.outcome.status, attempt.headers, attempt.content, ""),
            operation,
            path_params,
            tally.waited,
            complete=attempt.complete,
            retry_after=retry_after,
            attempts=tally.attempts,
        )

    def _limit(
        self, operation: Operation, failure: Failure, long_running: bool, attempts: int, elapsed: float
    ) -> AnswerRefused:
        if failure is Failure.TOO_LARGE:
            return ResponseTooLarge(
                operation, "EDFS_MCP_MAX_RESPONSE_BYTES", limit_bytes=self._max_response_bytes
            )
        if long_running:
            setting, seconds = "EDFS_MCP_EXECUTE_TIMEOUT", self._timeouts.long_read
        else:
            setting, seconds = "EDFS_MCP_READ_TIMEOUT", self._timeouts.read
        return DeadlineExceeded(operation, setting, seconds=seconds, attempts=attempts, elapsed=elapsed)
