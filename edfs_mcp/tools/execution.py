"""Running a package, and paging through what it returned."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from edfs_mcp import messages
from edfs_mcp.api.models import Variable
from edfs_mcp.results import (
    CHARS_PER_TOKEN,
    Page,
    ResultCacheUnavailable,
    ResultGone,
    estimate_tokens,
    page_rows,
)
from edfs_mcp.tabular import Table, TooDeep, parse_json_payload, parse_xml_payload
from edfs_mcp.tools._annotations import READ_ONLY, RUNS_A_PACKAGE
from edfs_mcp.tools._args import ITwinId, UniqueName, Variables
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
from edfs_mcp.tools._variables import checked_variable_names
from edfs_mcp.tools.roles import refusal_explained
from edfs_mcp.untrusted import UpstreamName, clean_text

# Payloads above this are parsed off the event loop, so other calls keep flowing.
PARSE_IN_THREAD_BYTES = 512 * 1024
# A result that does not fit the budget whole is previewed in this many tokens of rows: enough to see
# its shape, while the model pages (read_execution_result) or asks in SQL (query_execution_result).
PREVIEW_TOKENS = 1000
# Tokens of a column list (names and types) that the result's fixed overhead already covers.
COLUMNS_ALLOWANCE = 200
# Asked for XML, the model also gets the document itself, this many tokens of it, from the rows' share.
XML_TOKENS = 1000


class ExecutionResult(ToolResult):
    itwin_id: str
    itwin_name: UpstreamName | None = None
    unique_name: str
    format: Literal["json", "xml", "text"]
    row_count: int
    columns: dict[str, str]
    rows: list[dict[str, Any]]
    next_offset: int | None = None
    result_id: str | None = Field(None, description="For read_execution_result and query_execution_result")
    expires_in_seconds: int | None = None
    text: str | None = None  # the output when it is not tabular (format "text"), cut to the budget
    xml: str | None = None  # with return_as_xml: the XML as EDFS sent it, cut to XML_TOKENS
    undocumented_variables: list[str] | None = None  # sent, though the package does not document them


Parsed = tuple[Literal["json", "xml", "text"], Table | str]


_LEADING_SPACE = re.compile(rb"\s*")


def payload_kind(data: bytes, media_type: str) -> Literal["json", "xml", "text"]:
    """What a body is, from its first byte (the content type only breaks a tie): XML is parsed only
    when the body is XML, so a large text body is never fed to the XML parser."""
    first = data[_LEADING_SPACE.match(data).end() :][:1]  # type: ignore[union-attr]
    if first == b"<":
        return "xml"
    if first in (b"{", b"[") or (not first and "json" in media_type):
        return "json"
    return "text"


def parse_payload(box: list[bytes], media_type: str) -> Parsed:
    """The table in a package's output, or its text when it is neither JSON nor XML (or malformed).

    ``box`` holds the only reference to the body: it is emptied, and the bytes are freed once
    parsed. JSON is read from the bytes a window at a time into columns, so a 10 MB result is
    never also held as one decoded string or as Python objects. Raises TooDeep for a document
    nested too deeply to read.
    """
    data = box.pop()
    kind = payload_kind(data, media_type)
    try:
        if kind == "json":
            return kind, parse_json_payload(data)
        if kind == "xml":
            return kind, parse_xml_payload(data)
    except TooDeep:
        raise
    except ValueError:
        pass  # malformed: shown as text
    text = data.decode("utf-8", errors="replace")
    del data
    return "text", clean_text(text, len(text))


async def execute_integration_package(
    ctx: ToolContext,
    itwin_id: ITwinId,
    unique_name: UniqueName,
    variables: Variables = {},  # noqa: B006 - pydantic copies defaults
    return_as_xml: Annotated[bool, Field(description="Ask the package for XML instead of JSON")] = False,
) -> Annotated[CallToolResult, ExecutionResult]:
    """Run an integration package for an iTwin and return its rows.

    A large result comes as a preview plus result_id (never run again to see more). Not idempotent:
    a run may write to the connected system.
    """
    state = app(ctx)
    undocumented = await checked_variable_names(state.client, ctx, unique_name, variables)
    payload, itwin_name = await both(
        refusal_explained(  # a 403 says which package role is missing, and who can give it
            ctx,
            itwin_id,
            unique_name,
            state.client.execute_package(
                itwin_id,
                unique_name,
                [Variable(name=name, value=value) for name, value in variables.items()],
                return_as_xml=return_as_xml,
                on_wait=waiter(ctx),
            ),
        ),
        state.client.itwin_name(itwin_id),
    )
    size, box, media_type = len(payload.content), [payload.content], payload.media_type
    xml, xml_cut = _xml_excerpt(payload.content) if return_as_xml else (None, False)
    del payload
    if size > PARSE_IN_THREAD_BYTES:
        kind, table = await anyio.to_thread.run_sync(parse_payload, box, media_type)
    else:
        kind, table = parse_payload(box, media_type)
    source = f"{unique_name} on {messages.itwin_label(itwin_id, itwin_name)}"
    if isinstance(table, str):
        return _text_result(table, itwin_id, itwin_name, unique_name, state.rows_budget, source, undocumented)
    columns = table.column_types
    budget = rows_budget(state.rows_budget, columns) - (estimate_tokens(xml) if xml else 0)
    page = preview_rows(table, max(budget, 100))
    result = ExecutionResult(
        itwin_id=itwin_id,
        itwin_name=itwin_name,
        unique_name=unique_name,
        format=kind,
        row_count=len(table.rows),
        columns=columns,
        rows=page.rows,
        next_offset=page.next_offset,
        undocumented_variables=undocumented or None,
        xml=xml,
    )
    notes = messages.xml_note(xml_cut) if xml else ""
    notes += messages.undocumented_variables_note(undocumented)
    hint = ""
    # Every table is cached, small ones too: "how many per status" is a SQL question, not counting by eye.
    try:
        stored = await state.results.put(table, source, owner=principal(ctx), size_bytes=table.nbytes)
    except ResultCacheUnavailable as down:
        if page.next_offset is not None:  # the run is done: its preview, and why there is no more
            summary = messages.result_cache_down_after_run(source, len(table.rows), len(page.rows), down)
            return reply(result, summary + notes)
        stored = None  # every row is shown; only SQL over them is missing
    if stored is not None:
        result.result_id = stored.result_id
        result.expires_in_seconds = int(state.results.ttl_seconds)
        hint = messages.sql_hint(stored.result_id)
    summary = messages.execution_summary(source, len(table.rows), len(page.rows), result.result_id)
    return reply(result, summary + hint + notes)


def _xml_excerpt(content: bytes) -> tuple[str | None, bool]:
    """The XML a package returned, for a model that asked for it: cleaned, cut to XML_TOKENS."""
    limit = int(XML_TOKENS * CHARS_PER_TOKEN)
    if payload_kind(content[:4096], "") != "xml":
        return None, False
    head = content[: limit * 4].decode("utf-8", errors="replace")  # a character is at most 4 bytes
    shown = clean_text(head, len(head))  # hidden characters out; the cut comes next, with its own marker
    if len(shown) > limit or len(content) > limit * 4:
        return f"{shown[:limit]}…[cut; the whole document is {len(content)} bytes]", True
    return shown, False


def rows_budget(budget_tokens: int, columns: dict[str, str]) -> int:
    """The rows' share of ``budget_tokens`` once a wide table's column list is paid for."""
    # As the text shows them (the longer form): one "columns.name: TYPE" line each.
    header = estimate_tokens("".join(f"columns.{name}: {kind}\n" for name, kind in columns.items()))
    return max(budget_tokens - max(0, header - COLUMNS_ALLOWANCE), 100)


def preview_rows(table: Table, budget_tokens: int) -> Page:
    """Every row when they fit ``budget_tokens``; else the first rows within ``PREVIEW_TOKENS``."""
    page = page_rows(table, offset=0, limit=len(table.rows), budget_tokens=budget_tokens)
    if page.next_offset is None:
        return page
    return page_rows(table, offset=0, limit=len(page.rows), budget_tokens=min(budget_tokens, PREVIEW_TOKENS))


def _text_result(
    text: str,
    itwin_id: str,
    itwin_name: str | None,
    unique_name: str,
    budget_tokens: int,
    source: str,
    undocumented: list[str],
) -> CallToolResult:
    limit = int(budget_tokens * CHARS_PER_TOKEN)
    cut = len(text) > limit
    result = ExecutionResult(
        itwin_id=itwin_id,
        itwin_name=itwin_name,
        unique_name=unique_name,
        format="text",
        row_count=0,
        columns={},
        rows=[],
        text=text[:limit],
        undocumented_variables=undocumented or None,
    )
    summary = messages.text_output_summary(source, len(text), cut)
    return reply(result, summary + messages.undocumented_variables_note(undocumented))


class ResultPage(ToolResult):
    result_id: str
    source: str
    row_count: int
    columns: dict[str, str]
    offset: int
    rows: list[dict[str, Any]]
    next_offset: int | None = None


async def read_execution_result(
    ctx: ToolContext,
    result_id: Annotated[str, Field(min_length=1, max_length=64)],
    offset: Annotated[int, Field(ge=0)] = 0,
    limit: Annotated[int, Field(ge=1, le=5000)] = 200,
    columns: Annotated[
        list[str] | None, Field(description="Only these columns: more rows fit a page", max_length=200)
    ] = None,
) -> Annotated[CallToolResult, ResultPage]:
    """Page through a cached result by result_id, without running the package again.

    A page ends at limit rows or at the size budget (a few thousand tokens), whichever comes first."""
    state = app(ctx)
    try:
        stored = await state.results.get(result_id, owner=principal(ctx))
    except ResultGone as gone:
        raise ToolError(messages.result_gone(gone, state.results.ttl_seconds)) from None
    except ResultCacheUnavailable as down:
        raise ToolError(messages.result_cache_down_read(result_id, down)) from None
    table = stored.table
    if columns:
        unknown = [name for name in columns if name not in table.columns]
        if unknown:
            raise ToolError(messages.unknown_columns(unknown, table.columns))
    if offset > len(table.rows):
        raise ToolError(messages.offset_past_end(offset, len(table.rows)))
    types = table.column_types
    shown = {name: types[name] for name in columns} if columns else types
    budget = rows_budget(state.rows_budget, shown)
    page = page_rows(table, offset=offset, limit=limit, budget_tokens=budget, columns=columns)
    result = ResultPage(
        result_id=result_id,
        source=stored.source,
        row_count=len(table.rows),
        columns=shown,
        offset=offset,
        rows=page.rows,
        next_offset=page.next_offset,
    )
    cut_by_budget = len(page.rows) < min(limit, len(table.rows) - offset)
    summary = messages.page_summary(
        result_id, offset, len(page.rows), len(table.rows), page.next_offset, limit if cut_by_budget else None
    )
    return reply(result, summary)


TOOLS = [
    ToolSpec(execute_integration_package, "Execute integration package", RUNS_A_PACKAGE),
    ToolSpec(read_execution_result, "Read execution result", READ_ONLY),
]
