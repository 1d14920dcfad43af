"""The retry decision (edfs_mcp.api._retry), checked apart from any I/O.

Invariants, over every policy, operation, answer, header and history hypothesis can think of:
a write is never re-sent once it may have left; no wait is ≤ 0 or non-finite; 429 waits stay within
the cap; a call makes a bounded number of attempts; 429 is always "not processed" (retried or
reported with a finite retry_after, never treated as an answer).
"""

from __future__ import annotations

import email.utils
import math

import httpx2
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from edfs_mcp.api import sent_writes
from edfs_mcp.api._http import HttpSession, Timeouts
from edfs_mcp.api._retry import (
    MAX_RETRY_AFTER,
    TRANSPORT_FAILURES,
    Decision,
    Failure,
    Outcome,
    RefreshToken,
    Retry,
    RetryPolicy,
    Stop,
    StopReason,
    Tally,
    backoff_seconds,
    decide,
    rate_limit_wait,
    retry_after_seconds,
    transport_failure,
)
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
from tests.harness import Waits

NOW = 1_750_000_000.0  # a fixed wall clock: HTTP dates are judged against it
READ = Operation("list_timers", "list timers")
WRITE = Operation("execute", "execute package", write=True)


def http_date(offset: float) -> str:
    return email.utils.formatdate(NOW + offset, usegmt=True)


# Retry-After values a hostile or broken upstream sends, plus ordinary ones.
HOSTILE_RETRY_AFTER = [
    "0",
    "-1",
    "-0",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "1e-3",
    "0.0001",
    "1e308",
    "1e999",
    "99999999999999999999999",
    "garbage",
    "",
    "   ",
    "1,5",
    "0x10",
    http_date(-3600),
    http_date(-1),
    "Thu, 01 Jan 1970 00:00:00 GMT",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "Mon, 99 Foo 2024 99:99:99 GMT",
]

retry_after_headers = st.one_of(
    st.none(),
    st.sampled_from(HOSTILE_RETRY_AFTER),
    st.text(max_size=40),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(min_value=-1e6, max_value=1e6).map(lambda offset: http_date(offset)),
)

policies = st.builds(
    RetryPolicy,
    max_rate_limit_wait=st.floats(min_value=0, max_value=10_000),
    max_rate_limit_retries=st.integers(min_value=0, max_value=8),
    min_wait=st.floats(min_value=0.001, max_value=10),
    connect_attempts=st.integers(min_value=1, max_value=6),
    read_retries=st.integers(min_value=0, max_value=5),
    backoff_base=st.floats(min_value=0.001, max_value=5),
    backoff_cap=st.floats(min_value=0.001, max_value=60),
)

outcomes = st.one_of(
    st.builds(
        Outcome,
        status=st.one_of(
            st.sampled_from([200, 201, 204, 302, 400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 504]),
            st.integers(min_value=100, max_value=599),
        ),
        retry_after=retry_after_headers,
    ),
    st.builds(Outcome, failure=st.sampled_from(list(Failure))),
    # A too-large answer has its status too.
    st.builds(Outcome, status=st.integers(min_value=200, max_value=399), failure=st.just(Failure.TOO_LARGE)),
)

operations = st.sampled_from([READ, WRITE])
jitters = st.floats(min_value=0, max_value=1, exclude_max=True)


def tallies() -> st.SearchStrategy[Tally]:
    return st.builds(
        Tally,
        attempts=st.integers(min_value=1, max_value=50),
        rate_limited=st.integers(min_value=0, max_value=10),
        not_sent=st.integers(min_value=0, max_value=10),
        read_retries=st.integers(min_value=0, max_value=10),
        refreshed=st.booleans(),
        waited=st.floats(min_value=0, max_value=10_000),
    )


def attempt_bound(policy: RetryPolicy) -> int:
    """Most attempts one call can make: the first, every kind of retry, one token refresh."""
    return 1 + policy.max_rate_limit_retries + (policy.connect_attempts - 1) + policy.read_retries + 1


def may_have_left(outcome: Outcome) -> bool:
    """Whether the request may have been processed: anything but 'not sent', 401 and 429."""
    return outcome.failure is not Failure.NOT_SENT and outcome.status not in (401, 429)


# -- one decision ---------------------------------------------------------------------------------


@given(policies, operations, outcomes, tallies(), jitters)
def test_a_wait_is_always_positive_and_finite(
    policy: RetryPolicy, operation: Operation, outcome: Outcome, tally: Tally, jitter: float
) -> None:
    decision = decide(policy, operation, outcome, tally, now=NOW, jitter=jitter)
    if isinstance(decision, Retry):
        assert math.isfinite(decision.delay) and decision.delay > 0
    if isinstance(decision, Stop) and decision.retry_after is not None:
        assert math.isfinite(decision.retry_after) and decision.retry_after > 0


@given(policies, outcomes, tallies(), jitters)
def test_a_write_is_never_sent_again_once_it_may_have_left(
    policy: RetryPolicy, outcome: Outcome, tally: Tally, jitter: float
) -> None:
    decision = decide(policy, WRITE, outcome, tally, now=NOW, jitter=jitter)
    if may_have_left(outcome):
        assert isinstance(decision, Stop), (outcome, decision)
    if isinstance(decision, RefreshToken):
        assert outcome.status == 401 and outcome.failure is None


@given(policies, operations, retry_after_headers, tallies(), jitters)
def test_429_always_means_not_processed(
    policy: RetryPolicy, operation: Operation, header: str | None, tally: Tally, jitter: float
) -> None:
    outcome = Outcome(status=429, retry_after=header)
    decision = decide(policy, operation, outcome, tally, now=NOW, jitter=jitter)
    if isinstance(decision, Retry):
        assert decision.counter == "rate_limited" and decision.delay >= policy.min_wait
        assert tally.waited + decision.delay <= policy.max_rate_limit_wait
        assert tally.rate_limited < policy.max_rate_limit_retries
    else:
        assert isinstance(decision, Stop)
        assert decision.reason in (StopReason.RATE_LIMIT_BUDGET, StopReason.RATE_LIMIT_ATTEMPTS)
        assert decision.retry_after is not None and decision.retry_after >= policy.min_wait


@given(policies, operations, st.sampled_from(HOSTILE_RETRY_AFTER))
def test_a_hostile_retry_after_waits_at_least_the_minimum(
    policy: RetryPolicy, operation: Operation, header: str
) -> None:
    wait = rate_limit_wait(header, NOW, policy)
    assert math.isfinite(wait) and policy.min_wait <= wait <= max(policy.min_wait, MAX_RETRY_AFTER)


@pytest.mark.parametrize("header", ["0", "-1", "NaN", "1e-3", "inf", "garbage", http_date(-60)])
def test_the_measured_hostile_values_wait_one_second(header: str) -> None:
    assert rate_limit_wait(header, NOW, RetryPolicy()) == 1.0


def test_an_absurd_retry_after_gives_up_at_once_with_a_finite_value() -> None:
    decision = decide(RetryPolicy(), READ, Outcome(429, retry_after="1e308"), Tally(1), now=NOW, jitter=0.5)
    assert decision == Stop(StopReason.RATE_LIMIT_BUDGET, retry_after=MAX_RETRY_AFTER)


@given(st.one_of(st.none(), st.text(), st.sampled_from(HOSTILE_RETRY_AFTER)), st.floats(0, 4e9))
def test_retry_after_is_none_or_finite_seconds_never_an_exception(value: str | None, now: float) -> None:
    seconds = retry_after_seconds(value, now)
    assert seconds is None or (math.isfinite(seconds) and 0 <= seconds <= MAX_RETRY_AFTER)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3", 3.0),
        (" 2.5 ", 2.5),
        ("-4", 0.0),
        (http_date(30), 30.0),
        (http_date(-30), 0.0),
        ("1e308", 86_400.0),
    ],
)
def test_retry_after_values(header: str, expected: float) -> None:
    assert retry_after_seconds(header, NOW) == expected


@pytest.mark.parametrize("header", [None, "NaN", "inf", "-inf", "soon", "", "Mon, 99 Foo 2024 99:99:99 GMT"])
def test_retry_after_unusable_is_none(header: str | None) -> None:
    assert retry_after_seconds(header, NOW) is None


@given(st.integers(min_value=1, max_value=10_000), jitters, policies)
def test_backoff_is_between_half_and_all_of_its_step(retry: int, jitter: float, policy: RetryPolicy) -> None:
    seconds = backoff_seconds(retry, jitter, policy)
    step = min(policy.backoff_cap, policy.backoff_base * 2.0 ** min(retry, 30))
    assert 0 < step / 2 <= seconds <= step


def test_401_refreshes_once() -> None:
    tally = Tally(attempts=1)
    assert decide(RetryPolicy(), WRITE, Outcome(401), tally, now=NOW, jitter=0) == RefreshToken()
    refreshed = tally.after(RefreshToken()).sent()
    assert decide(RetryPolicy(), WRITE, Outcome(401), refreshed, now=NOW, jitter=0) == Stop(
        StopReason.TOKEN_REFUSED
    )


@pytest.mark.parametrize("failure", [Failure.NO_ANSWER, Failure.DEADLINE])
def test_a_lost_answer_is_retried_for_a_read_only(failure: Failure) -> None:
    read = decide(RetryPolicy(), READ, Outcome(failure=failure), Tally(1), now=NOW, jitter=0)
    assert isinstance(read, Retry) and read.counter == "read_retries"
    write = decide(RetryPolicy(), WRITE, Outcome(failure=failure), Tally(1), now=NOW, jitter=0)
    assert write == Stop(StopReason.WRITE_SENT)


def test_a_too_large_answer_is_never_asked_for_again() -> None:
    for operation in (READ, WRITE):
        decision = decide(
            RetryPolicy(), operation, Outcome(200, Failure.TOO_LARGE), Tally(1), now=NOW, jitter=0
        )
        assert decision == Stop(StopReason.TOO_LARGE)


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422])
def test_a_client_error_is_the_answer(status: int) -> None:
    assert decide(RetryPolicy(), READ, Outcome(status), Tally(1), now=NOW, jitter=0) == Stop(
        StopReason.ANSWERED
    )


def test_policy_refuses_numbers_that_would_allow_a_zero_or_endless_wait() -> None:
    for bad in (
        {"min_wait": 0},
        {"min_wait": math.nan},
        {"backoff_base": 0},
        {"max_rate_limit_wait": math.inf},
        {"max_rate_limit_wait": -1},
        {"connect_attempts": 0},
        {"max_rate_limit_retries": -1},
    ):
        with pytest.raises(ValueError, match="must be"):
            RetryPolicy(**bad)


# -- a whole call ---------------------------------------------------------------------------------


def run(
    policy: RetryPolicy, operation: Operation, answers: list[Outcome], jitter: float
) -> tuple[Tally, Decision | None, list[Retry]]:
    """The loop of HttpSession.request without I/O: the server answers ``answers`` in turn, and then
    keeps answering the last one; returns the tally, how it ended, and the waits."""
    tally = Tally()
    waits: list[Retry] = []
    for index in range(attempt_bound(policy) + 1):
        outcome = answers[min(index, len(answers) - 1)]
        tally = tally.sent()
        if outcome.failure is None and outcome.status is not None and outcome.status < 400:
            return tally, None, waits
        decision = decide(policy, operation, outcome, tally, now=NOW, jitter=jitter)
        if isinstance(decision, Stop):
            return tally, decision, waits
        if isinstance(decision, Retry):
            waits.append(decision)
        tally = tally.after(decision)
    raise AssertionError(f"no end after {tally.attempts} attempts: {tally}")


@given(policies, operations, st.lists(outcomes, min_size=1, max_size=40), jitters)
def test_every_call_ends_within_bounded_attempts_and_waits(
    policy: RetryPolicy, operation: Operation, answers: list[Outcome], jitter: float
) -> None:
    tally, _, waits = run(policy, operation, answers, jitter)
    assert tally.attempts <= attempt_bound(policy)
    rate_waits = [wait.delay for wait in waits if wait.counter == "rate_limited"]
    assert len(rate_waits) <= policy.max_rate_limit_retries
    assert sum(rate_waits) <= policy.max_rate_limit_wait + 1e-9
    assert math.isclose(sum(rate_waits), tally.waited, abs_tol=1e-9)
    other = [wait.delay for wait in waits if wait.counter != "rate_limited"]
    assert len(other) <= policy.connect_attempts - 1 + policy.read_retries
    assert all(delay <= policy.backoff_cap for delay in other)


@given(policies, st.lists(outcomes, min_size=1, max_size=40), jitters)
def test_a_write_is_sent_again_only_after_401_429_or_not_sent(
    policy: RetryPolicy, answers: list[Outcome], jitter: float
) -> None:
    tally = Tally()
    for outcome in answers:
        tally = tally.sent()
        if outcome.failure is None and outcome.status is not None and outcome.status < 400:
            return
        decision = decide(policy, WRITE, outcome, tally, now=NOW, jitter=jitter)
        if isinstance(decision, Stop):
            return
        assert not may_have_left(outcome), (outcome, decision)
        tally = tally.after(decision)


@given(st.sampled_from([*HOSTILE_RETRY_AFTER, None]), jitters)
def test_endless_429_with_a_hostile_retry_after_makes_at_most_six_requests(
    header: str | None, jitter: float
) -> None:
    policy = RetryPolicy(max_rate_limit_wait=60)
    tally, end, waits = run(policy, READ, [Outcome(429, retry_after=header)], jitter)
    assert isinstance(end, Stop) and end.retry_after is not None and math.isfinite(end.retry_after)
    assert tally.attempts <= 6
    assert all(wait.delay >= 1.0 for wait in waits) and tally.waited <= 60


@given(policies, operations, jitters)
def test_a_server_that_always_fails_the_same_way_is_left_alone(
    policy: RetryPolicy, operation: Operation, jitter: float
) -> None:
    for answer in [
        Outcome(503),
        Outcome(401),
        Outcome(429, retry_after="0"),
        *[Outcome(failure=f) for f in Failure],
    ]:
        tally, end, _ = run(policy, operation, [answer], jitter)
        assert isinstance(end, Stop) and tally.attempts <= attempt_bound(policy)


@given(policies, jitters)
def test_a_read_after_503_is_retried_read_retries_times(policy: RetryPolicy, jitter: float) -> None:
    assume(policy.read_retries <= 5)
    tally, end, waits = run(policy, READ, [Outcome(503)], jitter)
    assert end == Stop(StopReason.READ_RETRIES)
    assert tally.attempts == 1 + policy.read_retries and len(waits) == policy.read_retries


# -- the call's deadline --------------------------------------------------------------------------


@given(policies, operations, outcomes, tallies(), jitters, st.floats(min_value=0, max_value=120))
def test_no_retry_is_started_that_would_not_fit_before_the_deadline(
    policy: RetryPolicy, operation: Operation, outcome: Outcome, tally: Tally, jitter: float, remaining: float
) -> None:
    decision = decide(policy, operation, outcome, tally, now=NOW, jitter=jitter, remaining=remaining)
    unbounded = decide(policy, operation, outcome, tally, now=NOW, jitter=jitter)
    if isinstance(decision, Retry):
        assert decision.delay + policy.min_try <= remaining and decision == unbounded
    elif isinstance(unbounded, Retry):  # only the deadline stopped it
        assert isinstance(decision, Stop) and decision.reason is StopReason.CALL_TIMEOUT
        if unbounded.counter == "rate_limited":  # a 429 is still reported with when to come back
            assert decision.retry_after == unbounded.delay
    else:
        assert decision == unbounded


def test_a_429_whose_wait_passes_the_deadline_stops_with_its_retry_after() -> None:
    outcome, tally = Outcome(status=429, retry_after="30"), Tally().sent()
    assert isinstance(decide(RetryPolicy(), READ, outcome, tally, now=NOW, jitter=0, remaining=45), Retry)
    stopped = decide(RetryPolicy(), READ, outcome, tally, now=NOW, jitter=0, remaining=30.5)
    assert stopped == Stop(StopReason.CALL_TIMEOUT, retry_after=30.0)


# Every httpx2 exception is mapped: to "not sent" (NotSent, safe to send again) or to "may have been
# processed" (OutcomeUnknown, a write is never re-sent). The classes are found by walking httpx2's
# hierarchy, so a class added upstream fails here until someone decides what it means.
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
