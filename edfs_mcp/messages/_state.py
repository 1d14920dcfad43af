"""Words for a replica's own state: the shared result cache (Redis, ``EDFS_MCP_REDIS_URL``) not
answering a tool, and a call stopped because its replica is shutting down.

Part of ``edfs_mcp.messages``, the one home of model-facing text. Each says what did not work (the
result cache, at its location, never the URL's password; the replica's grace period), what the call
did do all the same (a package that ran, ran: it must not be run again just to get its rows; a write
that was sent may have run) and what to do next.
"""

from __future__ import annotations

from edfs_mcp.errors import Operation, OutcomeUnknown
from edfs_mcp.messages._errors import after_write, describe
from edfs_mcp.results import ResultCacheUnavailable

__all__ = [
    "SIGN_IN_OUTAGE_RETRY_SECONDS",
    "call_stopped_by_shutdown",
    "result_cache_down_after_run",
    "result_cache_down_answer",
    "result_cache_down_odata",
    "result_cache_down_read",
    "sign_in_store_down",
]

SIGN_IN_OUTAGE_RETRY_SECONDS = 30  # what a call told the state store is down is asked to wait


def sign_in_store_down(problem: str) -> str:
    """A request whose sign-in could not be checked because the shared state store (Redis) does not
    answer: nothing ran, and when to try again."""
    return (
        f"edfs-mcp could not check this sign-in: {problem}. Nothing ran. Try again in about "
        f"{SIGN_IN_OUTAGE_RETRY_SECONDS} seconds; if it keeps failing, the people who run this server must "
        "bring Redis back (its /readyz says why)."
    )


def _unreachable(down: ResultCacheUnavailable) -> str:
    return (
        f"the shared result cache (Redis at {down.location}, EDFS_MCP_REDIS_URL) is unreachable "
        f"({down.detail})."
    )


def result_cache_down_after_run(source: str, row_count: int, shown: int, down: ResultCacheUnavailable) -> str:
    """An execute that ran, whose whole result could not be kept: its preview is all there is."""
    return (
        f"Ran {source}: the run itself succeeded and is complete; {row_count} rows, the first {shown} are "
        f"included (size budget). The rest could not be kept for paging: {_unreachable(down)} "
        "So there is no result_id for read_execution_result or "
        "query_execution_result. Do not run the package again to see more rows (a run may write to the "
        "connected system again): work with these rows, or ask the user before running it again later."
    )


def result_cache_down_odata(down: ResultCacheUnavailable) -> str:
    """Appended to an OData answer whose rows could not be kept for SQL."""
    return (
        f" These rows could not be kept for query_execution_result: {_unreachable(down)} "
        "The query itself was not affected (it only reads); call it again later to ask them in SQL."
    )


def result_cache_down_read(result_id: str, down: ResultCacheUnavailable) -> str:
    """read_execution_result or query_execution_result could not fetch ``result_id``."""
    return (
        f"Could not read the cached result {result_id!r}: {_unreachable(down)} Nothing was "
        "run or changed, and the result stays in the cache until it expires. Try the same call again in "
        "a minute; do not run the package again to get its rows, which may repeat its effects. If it "
        "keeps failing, tell the user the server's Redis is down."
    )


def result_cache_down_answer(result_id: str, row_count: int, shown: int, down: ResultCacheUnavailable) -> str:
    """A SQL answer too large to show whole, whose rest could not be kept."""
    return (
        f"The query over {result_id} returned {row_count} row(s); the first {shown} are included (size "
        f"budget). The rest could not be kept for paging: {_unreachable(down)} Aggregate, "
        "filter or add LIMIT so the answer fits, or ask again in a minute."
    )


# Why a call in progress ended when its replica's grace period did (the reason inside the outcome).
STOPPED_BY_SHUTDOWN = (
    "the edfs-mcp replica serving this call was shutting down for a restart, upgrade or scale-down, and "
    "stopped waiting for EDFS when its grace period ended: EDFS_MCP_HTTP_DRAIN_SECONDS"
)


def call_stopped_by_shutdown(write: Operation | None, status: int | None) -> str:
    """A tool call stopped at the end of its replica's grace period. ``write``: the last write it sent
    (None: it sent none), ``status``: that write's answer, if one came."""
    if write is None:
        return (
            f"The call was stopped before it changed anything: {STOPPED_BY_SHUTDOWN}. Nothing was "
            "changed. Call it again: another replica answers."
        )
    if status is None:
        return describe(OutcomeUnknown(write, STOPPED_BY_SHUTDOWN))
    return after_write(write, status, STOPPED_BY_SHUTDOWN[0].upper() + STOPPED_BY_SHUTDOWN[1:] + ".")
