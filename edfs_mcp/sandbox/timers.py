"""EDFS timers: operations 4.12-4.15 of edfs-api.md; §8's cron rule is edfs_mcp.cron, as for the tools."""

from __future__ import annotations

import copy
import uuid

from starlette.responses import JSONResponse, Response

from edfs_mcp.cron import problem as cron_problem

from . import seed
from ._http import BodyCheck, ErrorReply, parse_json
from .router import Ctx, Operation, itwin_permission, op

LIST_INVALID = ("InvalidTimerListRequest", "Cannot retrieve TimerList.")
LIST_NOT_FOUND = ("TimerListNotFound", "Requested TimerList is not available.")
CREATE_INVALID = ("InvalidTimerRequest", "Cannot create Timer.")
REMOVE_INVALID = ("InvalidTimerRequest", "Cannot remove Timer.")
TOGGLE_INVALID = ("InvalidTimerRequest", "Cannot retrieve Timer.")
TIMER_NOT_FOUND = ("TimerNotFound", "Requested Timer is not available.")


def _find(ctx: Ctx) -> dict[str, object]:
    timers = ctx.state.timers.get(ctx.itwin_id)
    timer = timers.get(ctx.params["timerId"].lower()) if timers is not None else None
    if timer is None:
        raise ErrorReply(404, *TIMER_NOT_FOUND)
    return timer


async def list_timers(ctx: Ctx) -> Response:
    if ctx.state.itwin(ctx.itwin_id) is None:
        raise ErrorReply(404, *LIST_NOT_FOUND)
    return JSONResponse({"timers": ctx.state.timers_of(ctx.itwin_id)})


async def create_timer(ctx: Ctx) -> Response:
    org = ctx.state.org_of(ctx.itwin_id)
    if org is None:
        raise ErrorReply(404, *LIST_NOT_FOUND)
    check = BodyCheck(*parse_json(await ctx.request.body()))
    name = check.string("name", required=True)
    package = check.string("packageUniqueName", required=True)
    cron = check.string("cronStr", required=True)
    enabled = check.boolean("enabled", True)
    parameters = check.pairs("parameters", strict=False)
    if package is not None and not ctx.state.subscribes(org, package):
        check.fail("packageUniqueName", f"Package '{package}' is not subscribed by the iTwin's organization.")
    problem = cron_problem(cron) if cron is not None else None
    if problem:
        check.fail("cronStr", problem)
    check.raise_if_failed(*CREATE_INVALID)
    timer = {
        "id": str(uuid.uuid4()),
        "name": name,
        "packageUniqueName": package,
        "cronStr": cron,
        "enabled": enabled,
        "parameters": parameters,
    }
    with ctx.state.lock:
        ctx.state.timers.setdefault(ctx.itwin_id, {})[str(timer["id"])] = timer
        ctx.state.writes["timer_create"] += 1
        return JSONResponse(copy.deepcopy(timer), status_code=201)


async def delete_timer(ctx: Ctx) -> Response:
    with ctx.state.lock:
        timer = _find(ctx)
        del ctx.state.timers[ctx.itwin_id][str(timer["id"])]
        ctx.state.writes["timer_delete"] += 1
    return Response(status_code=204)


async def toggle_timer(ctx: Ctx) -> Response:
    # Any body is ignored (none is documented), so a malformed one cannot fail the call.
    with ctx.state.lock:
        timer = _find(ctx)
        timer["enabled"] = not timer["enabled"]
        ctx.state.writes["timer_toggle"] += 1
        return JSONResponse(copy.deepcopy(timer))


def operations() -> list[Operation]:
    base = "/edfs/itwins/{iTwinId}/timers"
    perm = itwin_permission(seed.LISTMNG)
    return [
        op("GET", base, list_timers, permission=perm, invalid=LIST_INVALID),
        op("POST", base, create_timer, permission=perm, invalid=CREATE_INVALID),
        op("DELETE", f"{base}/{{timerId}}", delete_timer, permission=perm, invalid=REMOVE_INVALID),
        op("PATCH", f"{base}/{{timerId}}/toggle", toggle_timer, permission=perm, invalid=TOGGLE_INVALID),
    ]
