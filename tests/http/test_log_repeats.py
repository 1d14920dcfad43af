"""Repeated log lines are collapsed: a flood cannot fill the disk, and the log says what it dropped."""

import io
import logging
from collections.abc import Iterator

import pytest

from edfs_mcp.logs import REPEAT_BURST, RedactingFilter, RepeatFilter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def logged(clock: Clock) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RepeatFilter(window=60, clock=clock, max_kinds=8))
    handler.addFilter(RedactingFilter(["sekrit-value-123"]))
    logger = logging.getLogger("edfs_mcp.test_log_repeats")
    logger.handlers[:] = [handler]
    logger.propagate = False
    try:
        yield logger, out
    finally:
        logger.handlers.clear()


def test_a_flood_of_one_message_is_cut_to_a_burst_per_window(
    logged: tuple[logging.Logger, io.StringIO], clock: Clock
) -> None:
    logger, out = logged
    for fd in range(10_000):  # like asyncio's accept() error, the numbers differ from line to line
        try:
            raise OSError(24, "Too many open files")
        except OSError:
            logger.exception("socket.accept() out of system resource, fd=%d, port %d", fd, 40000 + fd)
    lines = out.getvalue().splitlines()
    assert sum("out of system resource" in line for line in lines) == REPEAT_BURST
    assert f"(seen {REPEAT_BURST} times: similar lines suppressed for up to 60 s)" in out.getvalue()
    assert len(out.getvalue()) < 10_000

    clock.now += 60
    logger.error("socket.accept() out of system resource, fd=%d, port %d", 1, 2)
    last = out.getvalue().splitlines()[-1]
    assert last.endswith(f"({10_000 - REPEAT_BURST} similar suppressed in the last 60 s)"), last


def test_different_messages_levels_and_loggers_are_counted_apart(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = logged
    for _ in range(50):
        logger.warning("session limit reached")
        logger.error("session limit reached")
        logger.warning("connection limit reached")
        logging.getLogger("edfs_mcp.test_log_repeats.child").warning("session limit reached")
    text = out.getvalue()
    assert text.count("WARNING edfs_mcp.test_log_repeats: session limit reached") == REPEAT_BURST
    assert text.count("ERROR edfs_mcp.test_log_repeats: session limit reached") == REPEAT_BURST
    assert text.count("connection limit reached") == REPEAT_BURST
    assert text.count("test_log_repeats.child: session limit reached") == REPEAT_BURST


def test_what_it_remembers_is_bounded_and_secrets_stay_masked(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = logged
    for kind in "abcdefghijklmnopqrstuvwxyz":  # more kinds than it remembers (8): the oldest are forgotten
        logger.warning(f"kind {kind}")
    repeat_filter = next(f for f in logger.handlers[0].filters if isinstance(f, RepeatFilter))
    assert len(repeat_filter._runs) == 8
    for _ in range(REPEAT_BURST):
        logger.warning("token sekrit-value-123 refused")
    text = out.getvalue()
    assert "sekrit-value-123" not in text and "[redacted]" in text and "suppressed" in text
