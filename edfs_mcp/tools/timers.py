"""Timers: the cron schedules that run packages, and switching them on and off."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from edfs_mcp import messages
from edfs_mcp.api import EdfsClient
from edfs_mcp.api.models import Timer
from edfs_mcp.errors import EdfsMcpError, OutcomeUnknown, ServerError
from edfs_mcp.schedule import describe_cron, next_runs
from edfs_mcp.tools._args import ITwinId, TimerId
from edfs_mcp.tools._base import READ_ONLY, ToolContext, ToolSpec, app, reply, waiter

# Flipping twice undoes it: not idempotent, but nothing is lost.
TOGGLE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)
SET_ENABLED = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)


class TimerInfo(BaseModel):
    id: str
    name: str
    package_unique_name: str
    cron: str = Field(description="5-field cron, evaluated in UTC")
    schedule: str = Field(description="The cron schedule in words")
    enabled: bool
    next_runs_utc: list[datetime] = Field(description="Next run times; empty when disabled")
    parameters: dict[str, str]


def timer_info(timer: Timer) -> TimerInfo:
    return TimerInfo(
        id=timer.id,
        name=timer.name,
        package_unique_name=timer.package_unique_name,
        cron=timer.cron_str,
        schedule=describe_cron(timer.cron_str),
        enabled=timer.enabled,
        next_runs_utc=next_runs(timer.cron_str) if timer.enabled else [],
        parameters={p.name: p.value for p in timer.parameters},
    )


class TimerList(BaseModel):
    itwin_id: str
    timers: list[TimerInfo]


async def list_timers(ctx: ToolContext, itwin_id: ITwinId) -> Annotated[CallToolResult, TimerList]:
    """List an iTwin's timers: package, schedule in words, enabled, next run times (UTC)."""
    timers = [timer_info(t) for t in await app(ctx).client.list_timers(itwin_id, on_wait=waiter(ctx))]
    enabled = sum(t.enabled for t in timers)
    text = f"{len(timers)} timer(s) in iTwin {itwin_id}, {enabled} enabled."
    return reply(TimerList(itwin_id=itwin_id, timers=timers), text)


class TimerChange(BaseModel):
    timer: TimerInfo
    was_enabled: bool | None = Field(description="Before the call; null when unknown")
    changed: bool


async def _find_timer(client: EdfsClient, ctx: ToolContext, itwin_id: str, timer_id: str) -> Timer | None:
    for timer in await client.list_timers(itwin_id, on_wait=waiter(ctx)):
        if timer.id.lower() == timer_id.lower():
            return timer
    return None


async def _state_after_lost_answer(
    client: EdfsClient, ctx: ToolContext, itwin_id: str, timer_id: str
) -> bool | None:
    # The toggle is never re-sent; reading the list is safe, and tells the model where things stand.
    try:
        timer = await _find_timer(client, ctx, itwin_id, timer_id)
    except EdfsMcpError:
        return None
    return None if timer is None else timer.enabled


async def toggle_timer(
    ctx: ToolContext, itwin_id: ITwinId, timer_id: TimerId
) -> Annotated[CallToolResult, TimerChange]:
    """Flip a timer between enabled and disabled (EDFS's toggle operation).

    Not idempotent: calling twice flips it back. To reach a definite state, use set_timer_enabled.
    """
    client = app(ctx).client
    try:
        timer = await client.toggle_timer(itwin_id, timer_id, on_wait=waiter(ctx))
    except (OutcomeUnknown, ServerError) as exc:
        enabled = await _state_after_lost_answer(client, ctx, itwin_id, timer_id)
        raise ToolError(messages.toggle_outcome_unknown(exc, timer_id, enabled)) from None
    info = timer_info(timer)
    change = TimerChange(timer=info, was_enabled=not timer.enabled, changed=True)
    return reply(change, f"Timer {info.name!r} is now {'enabled' if info.enabled else 'disabled'}.")


async def set_timer_enabled(
    ctx: ToolContext, itwin_id: ITwinId, timer_id: TimerId, enabled: bool
) -> Annotated[CallToolResult, TimerChange]:
    """Make a timer enabled or disabled. Reads it first and only toggles when needed; safe to repeat."""
    client = app(ctx).client
    timer = await _find_timer(client, ctx, itwin_id, timer_id)
    if timer is None:
        raise ToolError(messages.timer_not_in_list(itwin_id, timer_id))
    was = timer.enabled
    if was == enabled:
        info = timer_info(timer)
        return reply(
            TimerChange(timer=info, was_enabled=was, changed=False), messages.timer_already(info.name, was)
        )
    try:
        timer = await client.toggle_timer(itwin_id, timer_id, on_wait=waiter(ctx))
    except (OutcomeUnknown, ServerError) as exc:
        found = await _find_timer(client, ctx, itwin_id, timer_id)
        if found is None or found.enabled != enabled:
            raise ToolError(
                messages.toggle_outcome_unknown(exc, timer.name, None if found is None else found.enabled)
            ) from None
        timer = found
    if timer.enabled != enabled:
        # Someone else toggled in between: our toggle undid theirs. Say so rather than flip again.
        raise ToolError(messages.timer_raced(timer.name, timer.enabled))
    info = timer_info(timer)
    return reply(
        TimerChange(timer=info, was_enabled=was, changed=True), messages.timer_set(info.name, enabled)
    )


TOOLS = [
    ToolSpec(list_timers, "List timers", READ_ONLY),
    ToolSpec(toggle_timer, "Toggle timer", TOGGLE),
    ToolSpec(set_timer_enabled, "Enable or disable timer", SET_ENABLED),
]
