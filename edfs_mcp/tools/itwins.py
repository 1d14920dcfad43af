"""iTwin discovery: from a project's name or number to its iTwin ID."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from edfs_mcp.api.models import ITwin
from edfs_mcp.tools._base import READ_ONLY, ToolContext, ToolSpec, app, reply, waiter

SubClass = Literal["Account", "Portfolio", "Asset", "Program", "Project", "WorkPackage"]


class ITwinSummary(BaseModel):
    id: str
    name: str
    number: str | None = None
    sub_class: str | None = None
    status: str | None = None
    exact_match: bool = Field(False, description="Name or number equals the query exactly")


class FoundITwins(BaseModel):
    query: str
    itwins: list[ITwinSummary]


def _summary(itwin: ITwin, query: str) -> ITwinSummary:
    wanted = query.strip().casefold()
    exact = wanted in (itwin.display_name.casefold(), (itwin.number or "").casefold())
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
    query: Annotated[str, Field(min_length=1, max_length=200, description="Part of the name or number")],
    sub_class: Annotated[SubClass | None, Field(description="Only this kind of iTwin")] = None,
    include_inactive: bool = False,
    limit: Annotated[int, Field(ge=1, le=50)] = 10,
) -> Annotated[CallToolResult, FoundITwins]:
    """Find iTwins you are a member of by name or number (case-insensitive substring).

    Returns their IDs, which every other tool takes as itwin_id. Exact matches come first.
    """
    itwins = await app(ctx).client.search_itwins(
        search=query.strip(),
        sub_class=sub_class,
        include_inactive=include_inactive,
        limit=limit,
        on_wait=waiter(ctx),
    )
    found = sorted((_summary(itwin, query) for itwin in itwins), key=lambda s: not s.exact_match)
    if not found:
        text = (
            f"No iTwin you are a member of matches {query!r}. Try a shorter part of the name or the number."
        )
    else:
        best = found[0]
        number = best.number or "no number"
        text = f"{len(found)} iTwin(s) match {query!r}; first: {best.name} ({number}), id {best.id}."
    return reply(FoundITwins(query=query, itwins=found), text)


TOOLS = [ToolSpec(find_itwins, "Find iTwins", READ_ONLY)]
