"""Timers: the cron schedules that run packages, and switching them on and off.

There is no blind flip among the tools: EDFS's toggle is the primitive behind set_timer_enabled, which
reads the timer first, toggles only when needed, and checks a lost answer by reading it back.

Long because three of the four timer tools check what EDFS did after a write whose answer may be
lost (switch: read it back; create: find the new one; delete: look again), and they share the
lookups that do it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import ElicitationResult, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import AcceptedElicitation, Elicit
from mcp.types import CallToolResult
from pydantic import (
    BaseModel,
    Field,
)

from edfs_mcp import messages
from edfs_mcp.api import EdfsClient
from edfs_mcp.api.models import ITwin, Timer, TimerDraft, Variable
from edfs_mcp.cron import next_runs
from edfs_mcp.cron import problem as cron_problem
from edfs_mcp.errors import ApiError, EdfsMcpError, OutcomeUnknown, ServerError
from edfs_mcp.schedule import describe_cron
from edfs_mcp.tools._annotations import ADDITIVE_WRITE, DESTRUCTIVE_WRITE, IDEMPOTENT_WRITE, READ_ONLY
from edfs_mcp.tools._args import Cron, ITwinId, TimerId, UniqueName, Variables
from edfs_mcp.tools._base import (
    ToolContext,
    ToolResult,
    ToolSpec,
    app,
    both,
    reply,
    waiter,
)
from edfs_mcp.tools._client import elicitation
from edfs_mcp.tools._confirm import YesOrNo
from edfs_mcp.tools._readiness import readiness
from edfs_mcp.tools._variables import screen_variable_names
from edfs_mcp.untrusted import UpstreamName, UpstreamText

logger = logging.getLogger("edfs_mcp.tools")


class TimerInfo(BaseModel):
    itwin_id: str | None = None  # across iTwins: whose timer it is
    itwin_name: UpstreamName | None = None
    id: UpstreamName
    name: UpstreamName
    package_unique_name: UpstreamName
    cron: UpstreamName  # in UTC, as the tools' descriptions say
    schedule: UpstreamText  # the cron in words
    enabled: bool
    next_runs: list[datetime] = Field(description="Empty when disabled or the cron is invalid")
    parameters: dict[UpstreamName, UpstreamText]
    schedule_problem: str | None = Field(default=None, description="Why EDFS cannot run this cron")


def timer_info(
    timer: Timer, zone: tzinfo = UTC, *, itwin_id: str | None = None, itwin_name: str | None = None
) -> TimerInfo:
    # A stored cron EDFS cannot run (never fires, or unreadable) is shown as such, not raised:
    # one bad timer must not hide the others from list_timers.
    problem = cron_problem(timer.cron_str)
    runs = next_runs(timer.cron_str) if timer.enabled and problem is None else []
    return TimerInfo(
        itwin_id=itwin_id,
        itwin_name=itwin_name,
        id=timer.id,
        name=timer.name,
        package_unique_name=timer.package_unique_name,
        cron=timer.cron_str,
        schedule=describe_cron(timer.cron_str),
        enabled=timer.enabled,
        next_runs=[run.astimezone(zone) for run in runs],
        parameters={p.name: p.value for p in timer.parameters},
        schedule_problem=problem,
    )


class TimerList(ToolResult):
    itwin_id: str | None = None  # null across iTwins
    itwin_name: UpstreamName | None = None
    timers: list[TimerInfo]
    unreadable: list[ITwinProblem] | None = None  # across iTwins: those whose timers could not be read
    more_itwins: bool | None = None  # across iTwins: more than ITWINS_ACROSS; the summary says so


class ITwinProblem(BaseModel):
    itwin_id: str
    itwin_name: UpstreamName
    problem: str


# Across iTwins: how many are looked at, and how many timer lists are read at once.
ITWINS_ACROSS = 100
TIMER_LISTS_AT_ONCE = 8


async def list_timers(
    ctx: ToolContext,
    itwin_id: ITwinId | None = None,
) -> Annotated[CallToolResult, TimerList]:
    """List timers: package, schedule in words (UTC), enabled, next run times. Without itwin_id, those
    of every iTwin you can see, each with its iTwin's name, in one call."""
    state = app(ctx)
    client, on_wait = state.client, waiter(ctx)
    if itwin_id is not None:
        found, name = await both(
            client.list_timers(itwin_id, on_wait=on_wait), client.itwin_name(itwin_id, on_wait=on_wait)
        )
        timers = [timer_info(t, state.zone) for t in found]
        text = messages.timers_summary(messages.itwin_label(itwin_id, name), timers)
        return reply(TimerList(itwin_id=itwin_id, itwin_name=name, timers=timers), text)
    listed = await client.search_itwins(limit=ITWINS_ACROSS, on_wait=on_wait)
    limiter = anyio.CapacityLimiter(TIMER_LISTS_AT_ONCE)
    per_itwin: dict[str, list[TimerInfo]] = {}
    unreadable: list[ITwinProblem] = []

    async def read(itwin: ITwin) -> None:
        async with limiter:
            try:
                found = await client.list_timers(itwin.id, on_wait=on_wait)
            except ApiError as exc:
                # One iTwin's refusal (a 403 there) is that iTwin's line, not a failed call.
                problem = ITwinProblem(
                    itwin_id=itwin.id, itwin_name=itwin.display_name, problem=messages.itwin_unreadable(exc)
                )
                unreadable.append(problem)
                return
        per_itwin[itwin.id] = [
            timer_info(t, state.zone, itwin_id=itwin.id, itwin_name=itwin.display_name) for t in found
        ]

    async with anyio.create_task_group() as group:
        for itwin in listed.itwins:
            group.start_soon(read, itwin)
    timers = [timer for itwin in listed.itwins for timer in per_itwin.get(itwin.id, [])]
    order = {itwin.id: index for index, itwin in enumerate(listed.itwins)}
    unreadable.sort(key=lambda problem: order[problem.itwin_id])
    result = TimerList(
        timers=timers, unreadable=unreadable or None, more_itwins=True if listed.more else None
    )
    text = messages.timers_across_summary(
        len(listed.itwins), timers, [p.itwin_name or p.itwin_id for p in unreadable], listed.more
    )
    return reply(result, text)


class TimerState(BaseModel):
    id: UpstreamName
    name: UpstreamName
    schedule: UpstreamText
    enabled: bool


def timer_state(timer: Timer) -> TimerState:
    return TimerState(
        id=timer.id, name=timer.name, schedule=describe_cron(timer.cron_str), enabled=timer.enabled
    )


class TimerChange(ToolResult):
    timer: TimerState
    was_enabled: bool  # read before the call: set_timer_enabled toggles only after reading
    changed: bool
    missing_systems: list[str] | None = None  # switched on, but each run fails without these


EvenIfNotReady = Annotated[
    bool,
    Field(description="Enable although a required system is missing here"),
]


async def _not_ready(
    ctx: ToolContext, itwin_id: str, unique_name: str, enabled: bool = True
) -> list[tuple[str, str]]:
    """The required systems the package lacks on the iTwin; empty when it can run, when that cannot
    be told (the timer is not held back on a guess), or for a timer left disabled (nothing to check)."""
    if not enabled:
        return []
    ready = await readiness(app(ctx).client, itwin_id, unique_name, on_wait=waiter(ctx))
    return [(need.system_type, need.system_id) for need in ready.missing]


async def _where(ctx: ToolContext, itwin_id: str) -> str:
    return messages.itwin_label(itwin_id, await app(ctx).client.itwin_name(itwin_id, on_wait=waiter(ctx)))


async def _find_timer(client: EdfsClient, ctx: ToolContext, itwin_id: str, timer_id: str) -> Timer | None:
    for timer in await client.list_timers(itwin_id, on_wait=waiter(ctx)):
        if timer.id.lower() == timer_id.lower():
            return timer
    return None


async def _reread(
    client: EdfsClient, ctx: ToolContext, itwin_id: str, timer_id: str
) -> tuple[bool, Timer | None]:
    """After a write's answer was lost: (whether the list could be read, the timer if present).

    The write is never re-sent; reading the list is safe and tells where things stand.
    """
    try:
        return True, await _find_timer(client, ctx, itwin_id, timer_id)
    except EdfsMcpError:
        return False, None


async def set_timer_enabled(
    ctx: ToolContext,
    itwin_id: ITwinId,
    timer_id: TimerId,
    enabled: bool,
    even_if_not_ready: EvenIfNotReady = False,
) -> Annotated[CallToolResult, TimerChange]:
    """Switch a timer on or off; it is read first, so repeating is safe. Refuses to enable one whose
    package cannot run on the iTwin (a system is missing) unless told to."""
    client = app(ctx).client
    timer = await _find_timer(client, ctx, itwin_id, timer_id)
    if timer is None:
        raise ToolError(messages.timer_not_in_list(itwin_id, timer_id))
    was = timer.enabled
    if was == enabled:
        info = timer_state(timer)
        return reply(
            TimerChange(timer=info, was_enabled=was, changed=False), messages.timer_already(info.name, was)
        )
    missing = await _not_ready(ctx, itwin_id, timer.package_unique_name, enabled)
    if missing and not even_if_not_ready:
        where = await _where(ctx, itwin_id)
        raise ToolError(messages.not_ready_refusal("enabled", timer.package_unique_name, where, missing))
    try:
        timer = await client.toggle_timer(itwin_id, timer_id, on_wait=waiter(ctx))
    except (OutcomeUnknown, ServerError) as exc:
        _, found = await _reread(client, ctx, itwin_id, timer_id)
        if found is None or found.enabled != enabled:
            raise ToolError(
                messages.toggle_outcome_unknown(exc, timer.name, None if found is None else found.enabled)
            ) from None
        timer = found
    if timer.enabled != enabled:
        # Someone else toggled in between: our toggle undid theirs. Say so rather than flip again.
        raise ToolError(messages.timer_raced(timer.name, timer.enabled))
    info = timer_state(timer)
    change = TimerChange(timer=info, was_enabled=was, changed=True)
    text = messages.timer_set(info.name, enabled)
    if missing:
        change.missing_systems = [f"{kind} {system_id}" for kind, system_id in missing]
        text += messages.not_ready_warning(timer.package_unique_name, await _where(ctx, itwin_id), missing)
    return reply(change, text)


def default_timer_name(unique_name: str, cron: str) -> str:
    """Like the reference's examples: 'SAP_WORK_ORDERS at 00:00, only on Saturday and Sunday'."""
    words = describe_cron(cron)
    if words == cron or cron_problem(cron) is not None:
        return f"{unique_name} ({cron})"
    return f"{unique_name} {words[:1].lower()}{words[1:]}"


class TimerCreated(ToolResult):
    itwin_id: str
    itwin_name: UpstreamName | None = None
    timer: TimerInfo
    unknown_parameters: list[str] = Field(description="Names not among the package's documented variables")
    missing_systems: list[str] | None = None  # enabled, but each run fails without these


async def create_timer(
    ctx: ToolContext,
    itwin_id: ITwinId,
    unique_name: UniqueName,
    cron: Cron,
    name: Annotated[str | None, Field(max_length=200, description="Default: package + schedule")] = None,
    enabled: bool = True,
    parameters: Variables = {},  # noqa: B006 - pydantic copies defaults
    even_if_not_ready: EvenIfNotReady = False,
) -> Annotated[CallToolResult, TimerCreated]:
    """Create a timer that runs a package for an iTwin on a cron schedule (UTC).
    Refuses an enabled timer whose package cannot run on the iTwin (a system is missing) unless told to."""
    client = app(ctx).client
    on_wait = waiter(ctx)
    # Checked before sending: a typo'd package fails here, not as an opaque 422; and a timer that
    # could never run is not created enabled without the model saying so (it would fail every run).
    (package, missing), itwin_name = await both(
        both(
            client.get_package(unique_name, on_wait=on_wait), _not_ready(ctx, itwin_id, unique_name, enabled)
        ),
        client.itwin_name(itwin_id, on_wait=on_wait),
    )
    unknown = screen_variable_names(unique_name, parameters, package.input_example)
    where = messages.itwin_label(itwin_id, itwin_name)
    if missing and not even_if_not_ready:
        raise ToolError(messages.not_ready_refusal("created", unique_name, where, missing))
    draft = TimerDraft(
        name=(name or "").strip() or default_timer_name(unique_name, cron),
        package_unique_name=unique_name,
        cron_str=cron,
        enabled=enabled,
        parameters=[Variable(name=key, value=value) for key, value in parameters.items()],
    )
    try:
        timer = await client.create_timer(itwin_id, draft, on_wait=on_wait)
    except (OutcomeUnknown, ServerError) as exc:
        # Never re-sent: look for it instead, so the model knows whether it exists.
        found = await _find_created(client, ctx, itwin_id, draft)
        if found is None:
            raise
        timer = found
        logger.info("create_timer: answer lost, but the timer exists (%s)", type(exc).__name__)
    info = timer_info(timer, app(ctx).zone)
    created = TimerCreated(
        itwin_id=itwin_id,
        itwin_name=itwin_name,
        timer=info,
        unknown_parameters=unknown,
    )
    text = messages.timer_created(info.name, info.schedule, info.enabled, info.id, unknown, where)
    if missing:
        created.missing_systems = [f"{kind} {system_id}" for kind, system_id in missing]
        text += messages.not_ready_warning(unique_name, where, missing)
    return reply(created, text)


async def _find_created(
    client: EdfsClient, ctx: ToolContext, itwin_id: str, draft: TimerDraft
) -> Timer | None:
    try:
        timers = await client.list_timers(itwin_id, on_wait=waiter(ctx))
    except EdfsMcpError:
        return None
    matches = [
        t
        for t in timers
        if (t.name, t.package_unique_name, t.cron_str)
        == (draft.name, draft.package_unique_name, draft.cron_str)
    ]
    return matches[-1] if len(matches) == 1 else None


class ConfirmDelete(YesOrNo):
    delete: bool = Field(False, description="Delete this timer? This cannot be undone.")


@dataclass(frozen=True)
class _NoPrompt:
    """The resolver did not ask: the timer is missing, or the client cannot be asked."""

    timer: Timer | None
    error: EdfsMcpError | None = None


async def _ask_before_delete(
    ctx: ToolContext, itwin_id: str, timer_id: str, confirm: bool
) -> Elicit[ConfirmDelete] | ConfirmDelete | _NoPrompt:
    try:
        timer = await _find_timer(app(ctx).client, ctx, itwin_id, timer_id)
    except EdfsMcpError as exc:
        return _NoPrompt(None, exc)
    if timer is None or confirm:
        return _NoPrompt(timer)
    if not elicitation(ctx).form:
        return _NoPrompt(timer)
    return Elicit(messages.confirm_delete_question(timer.name, describe_cron(timer.cron_str)), ConfirmDelete)


class TimerDeleted(ToolResult):
    deleted: bool
    timer: TimerState


async def delete_timer(
    ctx: ToolContext,
    itwin_id: ITwinId,
    timer_id: TimerId,
    answer: Annotated[ElicitationResult[Any], Resolve(_ask_before_delete)],
    confirm: Annotated[
        bool, Field(description="The user already agreed (for clients that cannot ask)")
    ] = False,
) -> Annotated[CallToolResult, TimerDeleted]:
    """Delete a timer for good. Asks the user to confirm when the client can ask; otherwise
    needs confirm=true, given only after the user agreed."""
    client = app(ctx).client
    if not isinstance(answer, AcceptedElicitation):
        raise ToolError(messages.delete_declined(timer_id, answer.action))
    decision = answer.data
    if isinstance(decision, _NoPrompt):
        if decision.error is not None:
            raise decision.error
        if decision.timer is None:
            raise ToolError(messages.timer_not_in_list(itwin_id, timer_id))
        if not confirm:
            raise ToolError(messages.delete_needs_confirm(decision.timer.name))
        timer = decision.timer
    else:
        if decision.unclear:
            raise ToolError(messages.delete_unclear(timer_id))
        if not decision.delete:
            raise ToolError(messages.delete_declined(timer_id, "decline"))
        found = await _find_timer(client, ctx, itwin_id, timer_id)
        if found is None:
            raise ToolError(messages.timer_not_in_list(itwin_id, timer_id))
        timer = found
    try:
        await client.delete_timer(itwin_id, timer_id, on_wait=waiter(ctx))
    except (OutcomeUnknown, ServerError):
        readable, still_there = await _reread(client, ctx, itwin_id, timer_id)
        if not readable or still_there is not None:
            raise
    info = timer_state(timer)
    return reply(TimerDeleted(deleted=True, timer=info), messages.timer_deleted(info.name))


TOOLS = [
    ToolSpec(list_timers, "List timers", READ_ONLY),
    ToolSpec(set_timer_enabled, "Enable or disable timer", IDEMPOTENT_WRITE),
    ToolSpec(create_timer, "Create timer", ADDITIVE_WRITE),
    ToolSpec(delete_timer, "Delete timer", DESTRUCTIVE_WRITE),
]
