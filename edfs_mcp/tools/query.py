"""Asking a cached result a question in SQL, so its rows never have to enter the context."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from edfs_mcp import messages
from edfs_mcp.results import ResultCacheUnavailable, ResultGone, page_rows
from edfs_mcp.sql import MAX_SQL_CHARS, SqlFailed, SqlRefused, SqlStopped
from edfs_mcp.tools._annotations import READ_ONLY
from edfs_mcp.tools._base import ToolContext, ToolResult, ToolSpec, app, principal, reply
from edfs_mcp.tools.execution import rows_budget


class QueryAnswer(ToolResult):
    row_count: int
    columns: dict[str, str]
    rows: list[dict[str, Any]]
    answer_id: str | None = None  # when rows were cut: the answer, cached for read_execution_result
    next_offset: int | None = None


async def query_execution_result(
    ctx: ToolContext,
    result_id: Annotated[str, Field(min_length=1, max_length=64)],
    sql: Annotated[str, Field(min_length=1, max_length=MAX_SQL_CHARS)],
) -> Annotated[CallToolResult, QueryAnswer]:
    """Ask a cached result (result_id) a question in one read-only DuckDB SELECT over the table result
    (its listed columns) instead of paging through its rows.

    SELECT status, count(*) AS n FROM result WHERE value > 10 GROUP BY status"""
    state = app(ctx)
    owner = principal(ctx)
    try:
        stored = await state.results.get(result_id, owner=owner)
    except ResultGone as gone:
        raise ToolError(messages.result_gone(gone, state.results.ttl_seconds)) from None
    except ResultCacheUnavailable as down:
        raise ToolError(messages.result_cache_down_read(result_id, down)) from None
    engine = state.results.sql_engine()
    try:
        answer = await anyio.to_thread.run_sync(engine.query, result_id, stored.table, sql)
    except SqlRefused as refused:
        raise ToolError(messages.query_refused(refused.what)) from None
    except SqlFailed as failed:
        raise ToolError(messages.query_failed(str(failed), stored.table.column_types)) from None
    except SqlStopped as stopped:
        raise ToolError(messages.query_stopped(stopped.limit, engine.seconds, engine.memory_mb)) from None
    table = answer.table
    columns = table.column_types
    page = page_rows(
        table, offset=0, limit=table.row_count, budget_tokens=rows_budget(state.rows_budget, columns)
    )
    result = QueryAnswer(
        row_count=table.row_count,
        columns=columns,
        rows=page.rows,
        next_offset=page.next_offset,
    )
    if page.next_offset is not None:
        try:
            kept = await state.results.put(
                table, f"SQL over {result_id}", owner=owner, size_bytes=table.nbytes
            )
        except ResultCacheUnavailable as down:
            return reply(
                result, messages.result_cache_down_answer(result_id, table.row_count, len(page.rows), down)
            )
        result.answer_id = kept.result_id if kept is not None else None
    capped = engine.max_rows if answer.more else None
    summary = messages.query_summary(
        result_id, table.row_count, len(page.rows), capped, result.answer_id, page.next_offset
    )
    return reply(result, summary)


TOOLS = [ToolSpec(query_execution_result, "Query execution result", READ_ONLY)]
