"""OData: the entity sets of an OData-enabled package, and bounded queries on them."""

from __future__ import annotations

import re
from typing import Annotated, Any

import anyio
from mcp.types import CallToolResult
from pydantic import AfterValidator, BaseModel, Field

from edfs_mcp import messages
from edfs_mcp.errors import ApiError
from edfs_mcp.messages import describe
from edfs_mcp.results import ResultCacheUnavailable, page_rows
from edfs_mcp.tabular import Table
from edfs_mcp.tools._annotations import READ_ONLY
from edfs_mcp.tools._args import ITwinId, UniqueName
from edfs_mcp.tools._base import (
    ToolContext,
    ToolResult,
    ToolSpec,
    app,
    both,
    principal,
    reply,
    waiter,
)
from edfs_mcp.tools.execution import rows_budget
from edfs_mcp.untrusted import UpstreamName

ENTITY_SET = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,127}")
DEFAULT_TOP = 100


def _check_entity_set(value: str) -> str:
    if not ENTITY_SET.fullmatch(value):
        raise ValueError(messages.not_an_entity_set(value))
    return value


EntitySetName = Annotated[str, AfterValidator(_check_entity_set)]
Option = Annotated[str | None, Field(max_length=2000)]


class EntitySetInfo(BaseModel):
    name: UpstreamName
    columns: dict[str, str] | None = Field(None, description="Column -> OData type, from $metadata")


class ODataResult(ToolResult):
    itwin_id: str
    itwin_name: UpstreamName | None = None
    unique_name: str
    entity_sets: list[EntitySetInfo] | None = Field(
        None, description="Without entity_set: what you can query"
    )
    filter_syntax: str | None = None
    columns_note: str | None = Field(None, description="Why the columns are unknown, when they are")
    entity_set: str | None = None
    columns: dict[str, str] | None = None
    rows: list[dict[str, Any]] | None = None
    next_skip: int | None = Field(None, description="Pass as skip for the next page; null at the end")
    result_id: str | None = Field(None, description="For query_execution_result")


async def query_odata(
    ctx: ToolContext,
    itwin_id: ITwinId,
    unique_name: UniqueName,
    entity_set: Annotated[EntitySetName | None, Field(description="Omit to list the entity sets")] = None,
    select: Annotated[Option, Field(description="$select, e.g. 'Equipment,Description'")] = None,
    filter: Annotated[
        Option, Field(description="$filter, e.g. \"Plant eq 'NG01' and Status ne 'CLSD'\"")
    ] = None,
    orderby: Annotated[Option, Field(description="$orderby, e.g. 'Equipment desc'")] = None,
    top: Annotated[int, Field(ge=1, le=1000, description="$top")] = DEFAULT_TOP,
    skip: Annotated[int, Field(ge=0, description="$skip")] = 0,
) -> Annotated[CallToolResult, ODataResult]:
    """Query an OData package (is_odata): without entity_set, list its entity sets and their columns;
    with one, return rows, bounded in size.
    $filter: eq ne gt ge lt le, and or not, contains/startswith/endswith(Column,'text')."""
    state = app(ctx)
    on_wait = waiter(ctx)
    if entity_set is None:
        return await _entity_sets(ctx, itwin_id, unique_name)
    query = {"$top": str(top), "$skip": str(skip)}
    for option, value in (("$select", select), ("$filter", filter), ("$orderby", orderby)):
        if value:
            query[option] = value
    page, itwin_name = await both(
        state.client.query_entity_set(itwin_id, unique_name, entity_set, query, on_wait=on_wait),
        state.client.itwin_name(itwin_id, on_wait=on_wait),
    )
    table = Table(rows=page.rows)
    columns = table.column_types
    shown = page_rows(
        table, offset=0, limit=len(table.rows), budget_tokens=rows_budget(state.rows_budget, columns)
    )
    cut = shown.next_offset is not None
    # No nextLink in EDFS OData: a full page means there may be more.
    more = cut or len(page.rows) >= top
    result = ODataResult(
        itwin_id=itwin_id,
        itwin_name=itwin_name,
        unique_name=unique_name,
        entity_set=entity_set,
        columns=columns,
        rows=shown.rows,
        next_skip=skip + len(shown.rows) if more else None,
    )
    hint = ""
    if len(table.rows):
        # The rows returned are cached like a package result, so SQL can count, group and join them.
        source = f"{entity_set} of {unique_name} on {messages.itwin_label(itwin_id, itwin_name)}"
        try:
            stored = await state.results.put(table, source, owner=principal(ctx), size_bytes=table.nbytes)
        except ResultCacheUnavailable as down:
            stored, hint = None, messages.result_cache_down_odata(down)
        if stored is not None:
            result.result_id = stored.result_id
            hint = messages.sql_hint(stored.result_id)
    summary = messages.odata_summary(entity_set, skip, len(shown.rows), result.next_skip, cut)
    return reply(result, summary + hint)


async def _entity_sets(ctx: ToolContext, itwin_id: str, unique_name: str) -> CallToolResult:
    client, on_wait = app(ctx).client, waiter(ctx)
    columns: dict[str, dict[str, str]] = {}
    note: list[str] = []

    async def read_columns() -> None:
        try:
            columns.update(await client.entity_set_columns(itwin_id, unique_name, on_wait=on_wait))
        except ApiError as exc:
            note.append(describe(exc))

    async with anyio.create_task_group() as group:
        group.start_soon(read_columns)
        sets = await client.list_entity_sets(itwin_id, unique_name, on_wait=on_wait)
    result = ODataResult(
        itwin_id=itwin_id,
        unique_name=unique_name,
        entity_sets=[EntitySetInfo(name=s.name, columns=columns.get(s.name)) for s in sets],
        filter_syntax=messages.ODATA_FILTER_SYNTAX,
        columns_note=note[0] if note else None,
    )
    return reply(result, messages.entity_sets_summary(unique_name, [s.name for s in sets]))


TOOLS = [ToolSpec(query_odata, "Query OData", READ_ONLY)]
