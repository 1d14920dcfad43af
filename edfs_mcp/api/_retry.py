"""The retry policy as pure functions: what one attempt ended with → wait and retry, or stop and why.

Nothing here does I/O, reads a clock or draws a random number: the HTTP loop passes the wall
clock (for a ``Retry-After`` given as an HTTP date) and a uniform draw in [0, 1) (for jitter), so
every decision can be checked exhaustively, apart from any network.

The rules:

- 429 was not processed (docs/edfs-api.md §7), so reads and writes alike are retried: wait
  ``Retry-After``, but at least ``min_wait`` (a value ≤ 0, NaN, infinite, unreadable or a past date
  means ``min_wait``); at most ``max_rate_limit_retries`` times and while the total stays within
  ``max_rate_limit_wait``.
- 401: retry once with a fresh token (``RefreshToken``).
- Nothing sent (connect errors, pool timeouts, …): retry with jittered backoff, ``connect_attempts``
  attempts in all.
- 5xx, a lost, cut or undecodable answer, or an answer slower than the deadline: reads are retried
  (``read_retries`` times); a write is never re-sent once it may have left this machine.
- An answer larger than the size cap: never retried (it would be as large again).
- Any other status: the answer stands.
- Nothing is retried past the call's own deadline (``remaining``): a retry whose wait would leave
  less than ``min_try`` seconds for the next try stops the call instead, so a call ends within its
  budget (``EDFS_MCP_CALL_TIMEOUT``) and the person hears back before their client gives up.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

import httpx2

from edfs_mcp.errors import Operation

__all__ = [
    "TRANSPORT_FAILURES",
    "Decision",
    "Failure",
    "Outcome",
    "RefreshToken",
    "Retry",
    "RetryPolicy",
    "Stop",
    "StopReason",
    "Tally",
    "backoff_seconds",
    "decide",
    "rate_limit_wait",
    "retry_after_seconds",
    "transport_failure",
]

# A Retry-After longer than a day is treated as a day: it is only ever reported, never waited.
MAX_RETRY_AFTER = 86_400.0


class Failure(StrEnum):
    """How an attempt failed without a usable answer."""

    NOT_SENT = "not sent"  # the request surely never left this machine: safe to send again
    NO_ANSWER = "no answer"  # it may have left; the answer was lost, cut short or undecodable
    DEADLINE = "deadline"  # it left; the complete answer did not arrive within the deadline
    TOO_LARGE = "too large"  # it was answered, but the body was larger than the size cap


# Every httpx2 exception class, by what it says about the request. Looked up along the raised
# exception's MRO, so a subclass (the sandbox's ``ConnectionDropped``) inherits its base's entry.
# tests/api/test_retry.py fails when httpx2 gains a class that is not listed here.
TRANSPORT_FAILURES: Mapping[type[Exception], Failure] = {
    # Raised before a single byte of the request was written.
    httpx2.ConnectError: Failure.NOT_SENT,
    httpx2.ConnectTimeout: Failure.NOT_SENT,
    httpx2.PoolTimeout: Failure.NOT_SENT,
    httpx2.ProxyError: Failure.NOT_SENT,  # the proxy refused to open the tunnel
    httpx2.UnsupportedProtocol: Failure.NOT_SENT,  # no transport for the URL's scheme
    httpx2.LocalProtocolError: Failure.NOT_SENT,  # h11/h2 refused to send what we asked
    # Raised once the request may have left: the server may have processed it.
    httpx2.ReadTimeout: Failure.NO_ANSWER,
    httpx2.WriteTimeout: Failure.NO_ANSWER,  # part of the request may have been written
    httpx2.ReadError: Failure.NO_ANSWER,
    httpx2.WriteError: Failure.NO_ANSWER,
    httpx2.CloseError: Failure.NO_ANSWER,
    httpx2.RemoteProtocolError: Failure.NO_ANSWER,  # e.g. disconnected without a response
    httpx2.DecodingError: Failure.NO_ANSWER,  # the answer came but could not be decoded
    httpx2.TooManyRedirects: Failure.NO_ANSWER,
    httpx2.HTTPStatusError: Failure.NO_ANSWER,
    httpx2.SSEError: Failure.NO_ANSWER,
    # Bases, for anything raised as a base class: when in doubt, it may have been processed.
    httpx2.HTTPError: Failure.NO_ANSWER,
    httpx2.RequestError: Failure.NO_ANSWER,
    httpx2.TransportError: Failure.NO_ANSWER,
    httpx2.TimeoutException: Failure.NO_ANSWER,
    httpx2.NetworkError: Failure.NO_ANSWER,
    httpx2.ProtocolError: Failure.NO_ANSWER,
}


def transport_failure(error: BaseException) -> Failure:
    """What an exception raised while sending or reading says about the request."""
    for cls in type(error).__mro__:
        failure = TRANSPORT_FAILURES.get(cls)
        if failure is not None:
            return failure
    return Failure.NO_ANSWER


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """``Retry-After`` as finite seconds in [0, MAX_RETRY_AFTER]: an integer, a decimal, or an
    HTTP date (``now`` is the wall clock). None when absent, unreadable, NaN or infinite."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
            seconds = when.timestamp() - now
        except (TypeError, ValueError, OverflowError, IndexError):
            return None
    if not math.isfinite(seconds):
        return None
    return min(MAX_RETRY_AFTER, max(0.0, seconds))


@dataclass(frozen=True)
class RetryPolicy:
    """The numbers of the policy. ``max_rate_limit_wait`` is ``EDFS_MCP_MAX_RATE_LIMIT_WAIT``."""

    max_rate_limit_wait: float = 60.0
    max_rate_limit_retries: int = 5
    min_wait: float = 1.0
    connect_attempts: int = 3
    read_retries: int = 2
    backoff_base: float = 0.25
    backoff_cap: float = 4.0
    min_try: float = 1.0  # the least time worth giving a retry before the call's deadline

    def __post_init__(self) -> None:
        waits = (self.max_rate_limit_wait, self.min_wait, self.backoff_base, self.backoff_cap, self.min_try)
        if not all(math.isfinite(value) for value in waits) or min(waits[0], self.min_try) < 0:
            raise ValueError("the policy's seconds must be finite, and max_rate_limit_wait, min_try >= 0")
        if self.min_wait <= 0 or self.backoff_base <= 0 or self.backoff_cap <= 0:
            raise ValueError("min_wait, backoff_base and backoff_cap must be > 0")
        if self.max_rate_limit_retries < 0 or self.connect_attempts < 1 or self.read_retries < 0:
            raise ValueError("retry counts must be >= 0 (connect_attempts >= 1)")


@dataclass(frozen=True)
class Outcome:
    """What one attempt ended with: an HTTP status, or a failure (a too-large answer has both)."""

    status: int | None = None
    failure: Failure | None = None
    retry_after: str | None = None  # the raw Retry-After header


@dataclass(frozen=True)
class Tally:
    """What the call has done so far."""

    attempts: int = 0  # requests handed to the transport
    rate_limited: int = 0  # 429s waited out
    not_sent: int = 0  # retries after nothing was sent
    read_retries: int = 0  # reads re-sent after 5xx or a lost answer
    refreshed: bool = False  # the token was replaced after a 401
    waited: float = 0.0  # seconds spent waiting out 429s
    backed_off: float = 0.0  # seconds spent in backoff before other retries

    def sent(self) -> Tally:
        return replace(self, attempts=self.attempts + 1)

    def after(self, decision: Retry | RefreshToken) -> Tally:
        """The tally once ``decision`` was carried out."""
        if isinstance(decision, RefreshToken):
            return replace(self, refreshed=True)
        if decision.counter == "rate_limited":
            return replace(self, rate_limited=self.rate_limited + 1, waited=self.waited + decision.delay)
        if decision.counter == "not_sent":
            return replace(self, not_sent=self.not_sent + 1, backed_off=self.backed_off + decision.delay)
        return replace(self, read_retries=self.read_retries + 1, backed_off=self.backed_off + decision.delay)


@dataclass(frozen=True)
class Retry:
    """Wait ``delay`` seconds (always > 0 and finite), then send again."""

    delay: float
    why: str
    report: bool  # worth a progress notification to the person waiting
    counter: str  # which Tally counter it uses up: rate_limited, not_sent or read_retries


@dataclass(frozen=True)
class RefreshToken:
    """Drop the token, get a new one, and send again at once (only after a 401, only once)."""


class StopReason(StrEnum):
    ANSWERED = "answered"  # the answer stands (2xx/3xx, or a 4xx that retrying cannot change)
    WRITE_SENT = "write sent"  # a write that may have been processed is never re-sent
    RATE_LIMIT_BUDGET = "rate limit budget"  # waiting would pass max_rate_limit_wait
    RATE_LIMIT_ATTEMPTS = "rate limit attempts"  # max_rate_limit_retries 429s already waited out
    CONNECT_ATTEMPTS = "connect attempts"  # could not send connect_attempts times
    READ_RETRIES = "read retries"  # the read was already retried read_retries times
    TOO_LARGE = "too large"  # the answer would be as large again
    TOKEN_REFUSED = "token refused"  # noqa: S105 - 401 again with a fresh token
    CALL_TIMEOUT = "call timeout"  # the wait and another try would not fit before the call's deadline
    NOT_RETRIED = "not retried"  # the operation gets one try (Operation.retried is False)


@dataclass(frozen=True)
class Stop:
    """Do not send again. ``retry_after``: finite seconds to tell the caller after a 429."""

    reason: StopReason
    retry_after: float | None = None


Decision = Retry | RefreshToken | Stop


def backoff_seconds(retry: int, jitter: float, policy: RetryPolicy) -> float:
    """Before the ``retry``-th retry (1, 2, …): between half and all of an exponential step, so
    concurrent calls spread apart but never retry at once. ``jitter`` is a draw in [0, 1)."""
    step = min(policy.backoff_cap, policy.backoff_base * 2.0 ** min(retry, 30))
    return step / 2 * (1 + min(max(jitter, 0.0), 1.0))


def rate_limit_wait(retry_after: str | None, now: float, policy: RetryPolicy) -> float:
    """Seconds to wait after a 429: ``Retry-After`` when readable, never less than ``min_wait``."""
    seconds = retry_after_seconds(retry_after, now)
    return max(policy.min_wait, seconds if seconds is not None else policy.min_wait)


def decide(
    policy: RetryPolicy,
    operation: Operation,
    outcome: Outcome,
    tally: Tally,
    *,
    now: float,
    jitter: float,
    remaining: float = math.inf,
) -> Decision:
    """Retry or stop after ``outcome``; ``tally`` is what the call did before (this attempt counted),
    ``remaining`` the seconds left before the call's deadline."""
    decision = _decide(policy, operation, outcome, tally, now=now, jitter=jitter)
    if isinstance(decision, Retry) and not operation.retried:
        return Stop(StopReason.NOT_RETRIED)
    if isinstance(decision, Retry) and decision.delay + policy.min_try > remaining:
        rate_limited = decision.counter == "rate_limited"
        return Stop(StopReason.CALL_TIMEOUT, retry_after=decision.delay if rate_limited else None)
    return decision


def _decide(
    policy: RetryPolicy, operation: Operation, outcome: Outcome, tally: Tally, *, now: float, jitter: float
) -> Decision:
    failure, status = outcome.failure, outcome.status
    if failure is Failure.NOT_SENT:
        if tally.not_sent + 1 >= policy.connect_attempts:
            return Stop(StopReason.CONNECT_ATTEMPTS)
        delay = backoff_seconds(tally.not_sent + 1, jitter, policy)
        return Retry(delay, "cannot connect", report=delay >= 1.0, counter="not_sent")
    if failure is Failure.TOO_LARGE:
        return Stop(StopReason.TOO_LARGE)
    if failure is not None:
        return _retry_read(policy, operation, tally, jitter, "no answer")
    if status is None or status < 400:
        return Stop(StopReason.ANSWERED)
    if status == 429:
        wait = rate_limit_wait(outcome.retry_after, now, policy)
        if tally.rate_limited >= policy.max_rate_limit_retries:
            return Stop(StopReason.RATE_LIMIT_ATTEMPTS, retry_after=wait)
        if tally.waited + wait > policy.max_rate_limit_wait:
            return Stop(StopReason.RATE_LIMIT_BUDGET, retry_after=wait)
        return Retry(wait, "rate limited by EDFS", report=True, counter="rate_limited")
    if status == 401:
        return Stop(StopReason.TOKEN_REFUSED) if tally.refreshed else RefreshToken()
    if status >= 500:
        return _retry_read(policy, operation, tally, jitter, f"HTTP {status}")
    return Stop(StopReason.ANSWERED)


def _retry_read(policy: RetryPolicy, operation: Operation, tally: Tally, jitter: float, why: str) -> Decision:
    if operation.write:
        return Stop(StopReason.WRITE_SENT)
    if tally.read_retries >= policy.read_retries:
        return Stop(StopReason.READ_RETRIES)
    delay = backoff_seconds(tally.read_retries + 1, jitter, policy)
    return Retry(delay, why, report=delay >= 1.0, counter="read_retries")
