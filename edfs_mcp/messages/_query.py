"""The words of SQL over a cached result (query_execution_result): hints, answers, refusals, limits.

Part of ``edfs_mcp.messages``, the one home of model-facing text.
"""

from __future__ import annotations

from edfs_mcp.untrusted import clean_text

__all__ = [
    "ALLOWED_SQL",
    "query_failed",
    "query_refused",
    "query_stopped",
    "query_summary",
    "sql_hint",
]

ALLOWED_SQL = (
    "query_execution_result runs one read-only SELECT (or WITH … SELECT) over the table result, "
    "with no other table and no table function but unnest, range and generate_series"
)


_EXAMPLE = "SELECT ... FROM result ..."


def sql_hint(result_id: str) -> str:
    """Appended to the summary of a result that has a result_id."""
    call = f"query_execution_result(result_id={result_id!r}, sql={_EXAMPLE!r})"
    return (
        f" To count, filter or group all its rows without reading them, use {call} with the columns listed."
    )


def query_summary(
    result_id: str,
    row_count: int,
    shown: int,
    capped: int | None,
    answer_id: str | None,
    next_offset: int | None,
) -> str:
    """``capped``: the row cap, when the answer had more rows than it (only the first ``capped`` are kept)."""
    text = f"The query over {result_id} returned {row_count} row(s)"
    if capped is not None:
        text += f" (it had more; only the first {capped} are kept: aggregate, filter or add LIMIT)"
    if shown >= row_count:
        return text + ", all included."
    text += f"; the first {shown} are included (size budget)."
    if answer_id is not None and next_offset is not None:
        text += f" The rest: read_execution_result(result_id={answer_id!r}, offset={next_offset})."
    else:
        text += " The rest is larger than the whole result cache: aggregate or filter more."
    return text


def query_refused(what: str) -> str:
    return f"Refused: {what}. {ALLOWED_SQL}; nothing was run."


def query_failed(error: str, columns: dict[str, str]) -> str:
    """DuckDB's own words (they name the column or function at fault), then the table's columns."""
    # The words can quote a cell of the result (a value that failed a cast): cleaned and cut as data.
    words = clean_text(" ".join(line.strip() for line in error.splitlines() if line.strip()), 600)
    listed = ", ".join(f"{name} {kind}" for name, kind in columns.items()) or "(none)"
    return (
        f"The SQL query failed: {words}. The table result has these columns (a name that holds anything "
        f"but letters, digits and _ goes in double quotes): {listed}."
    )


def query_stopped(limit: str, seconds: float, memory_mb: int) -> str:
    if limit == "time":
        cause = f"it ran longer than the time limit ({seconds:g} s)"
    else:
        cause = f"it needed more memory than the SQL engine may use (about {memory_mb} MB)"
    return (
        f"The query was stopped: {cause}. Nothing was kept. Ask for less: aggregate (GROUP BY), filter "
        "(WHERE) or add LIMIT, and avoid joining result with itself."
    )
