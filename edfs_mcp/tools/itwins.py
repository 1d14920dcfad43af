"""iTwin discovery: from a project's name or number to its iTwin ID."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from edfs_mcp import messages
from edfs_mcp.api.models import ITwin
from edfs_mcp.tools._annotations import READ_ONLY
from edfs_mcp.tools._base import ToolContext, ToolResult, ToolSpec, app, reply, waiter
from edfs_mcp.untrusted import UpstreamName

SubClass = Literal["Account", "Portfolio", "Asset", "Program", "Project", "WorkPackage"]


class ITwinSummary(BaseModel):
    id: UpstreamName
    name: UpstreamName
    number: UpstreamName | None = None
    sub_class: UpstreamName | None = None
    status: UpstreamName | None = None
    exact_match: bool = Field(False, description="Name or number equals the query exactly")


class FoundITwins(ToolResult):
    query: str | None = None  # null when listing all
    offset: int
    itwins: list[ITwinSummary]
    next_offset: int | None = Field(None, description="Pass as offset for the next page; null at the end")
    inactive_included: bool


def _summary(itwin: ITwin, query: str | None) -> ITwinSummary:
    wanted = (query or "").strip().casefold()
    exact = bool(wanted) and wanted in (itwin.display_name.casefold(), (itwin.number or "").casefold())
    return ITwinSummary(
        id=itwin.id,
        name=itwin.display_name,
        number=itwin.number,
        sub_class=itwin.sub_class,
        status=itwin.status,
        exact_match=exact,
    )


async def find_itwins(
    ctx: ToolContext,
    query: Annotated[
        str | None,
        Field(min_length=1, max_length=200, description="Part of the name or number; omit to list all"),
    ] = None,
    sub_class: Annotated[SubClass | None, Field(description="Only this kind of iTwin")] = None,
    include_inactive: Annotated[bool, Field(description="Also inactive iTwins (hidden by default)")] = False,
    limit: Annotated[int, Field(ge=1, le=100)] = 25,
    offset: Annotated[int, Field(ge=0, le=10_000)] = 0,
) -> Annotated[CallToolResult, FoundITwins]:
    """Find your iTwins by name or number (case-insensitive substring); omit query to list them all.

    Gives each one's ID (the itwin_id of the other tools) and status.
    """
    search = query.strip() if query else None
    found = await app(ctx).client.search_itwins(
        search=search or None,
        sub_class=sub_class,
        include_inactive=include_inactive,
        skip=offset,
        limit=limit,
        on_wait=waiter(ctx),
    )
    itwins = sorted((_summary(itwin, search) for itwin in found.itwins), key=lambda s: not s.exact_match)
    result = FoundITwins(
        query=search or None,
        offset=offset,
        itwins=itwins,
        next_offset=offset + len(itwins) if found.more else None,
        inactive_included=include_inactive,
    )
    return reply(
        result,
        messages.itwins_summary(result.query, offset, len(itwins), result.next_offset, include_inactive),
    )


TOOLS = [ToolSpec(find_itwins, "Find iTwins", READ_ONLY)]
