"""EDFS timers: operations 4.12-4.15 of edfs-api.md, and the 5-field cron check of §8."""

from __future__ import annotations

import copy
import re
import uuid

from starlette.responses import JSONResponse, Response

from . import seed
from ._http import ApiError, BodyCheck, parse_json
from .router import Ctx, Operation, itwin_permission, op

LIST_INVALID = ("InvalidTimerListRequest", "Cannot retrieve TimerList.")
LIST_NOT_FOUND = ("TimerListNotFound", "Requested TimerList is not available.")
CREATE_INVALID = ("InvalidTimerRequest", "Cannot create Timer.")
REMOVE_INVALID = ("InvalidTimerRequest", "Cannot remove Timer.")
TOGGLE_INVALID = ("InvalidTimerRequest", "Cannot retrieve Timer.")
TIMER_NOT_FOUND = ("TimerNotFound", "Requested Timer is not available.")

# minute, hour, day of month, month, day of week (0 = Sunday)
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
_CRON_ITEM = re.compile(r"(\*|([0-9]+)(?:-([0-9]+))?)(?:/([0-9]+))?")


def cron_problem(expr: str) -> str | None:
    """Why ``expr`` is not a 5-field cron expression (lists, ranges, steps, ``*``), or None."""
    fields = expr.split()
    if len(fields) != 5:
        return (
            f"Cron expression must have 5 fields (minute hour day-of-month month day-of-week); "
            f"got {len(fields)}."
        )
    names = ("minute", "hour", "day-of-month", "month", "day-of-week")
    for text, (low, high), field_name in zip(fields, _CRON_RANGES, names, strict=True):
        for item in text.split(","):
            match = _CRON_ITEM.fullmatch(item)
            if match is None:
                return f"Cron {field_name} field '{text}' is not valid."
            _, first, last, step = match.groups()
            numbers = [int(n) for n in (first, last) if n is not None]
            if any(not low <= n <= high for n in numbers) or (len(numbers) == 2 and numbers[0] > numbers[1]):
                return f"Cron {field_name} field '{text}' is outside {low}-{high}."
            if step is not None and int(step) == 0:
                return f"Cron {field_name} field '{text}' has a zero step."
    return None


def _find(ctx: Ctx) -> dict[str, object]:
    timers = ctx.state.timers.get(ctx.itwin_id)
    timer = timers.get(ctx.params["timerId"].lower()) if timers is not None else None
    if timer is None:
        raise ApiError(404, *TIMER_NOT_FOUND)
    return timer


async def list_timers(ctx: Ctx) -> Response:
    if ctx.state.itwin(ctx.itwin_id) is None:
        raise ApiError(404, *LIST_NOT_FOUND)
    return JSONResponse({"timers": ctx.state.timers_of(ctx.itwin_id)})


async def create_timer(ctx: Ctx) -> Response:
    org = ctx.state.org_of(ctx.itwin_id)
    if org is None:
        raise ApiError(404, *LIST_NOT_FOUND)
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
        op("GET", base, list_timers, perm, LIST_INVALID),
        op("POST", base, create_timer, perm, CREATE_INVALID),
        op("DELETE", f"{base}/{{timerId}}", delete_timer, perm, REMOVE_INVALID),
        op("PATCH", f"{base}/{{timerId}}/toggle", toggle_timer, perm, TOGGLE_INVALID),
    ]
