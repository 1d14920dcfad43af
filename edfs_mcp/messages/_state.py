"""Words for when the state the replicas share (Redis, ``EDFS_MCP_REDIS_URL``) does not answer a tool.

Part of ``edfs_mcp.messages``, the one home of model-facing text. Each says what did not work (the
result cache, at its location, never the URL's password), what the call did do all the same (a
package that ran, ran: it must not be run again just to get its rows) and what to do next.
"""

from __future__ import annotations

from edfs_mcp.results import ResultCacheUnavailable

__all__ = [
    "result_cache_down_after_run",
    "result_cache_down_answer",
    "result_cache_down_odata",
    "result_cache_down_read",
    "result_cache_unreachable",
]


def result_cache_unreachable(down: ResultCacheUnavailable) -> str:
    text = _unreachable(down)
    return text[0].upper() + text[1:]


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
