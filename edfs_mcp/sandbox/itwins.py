"""The iTwins API subset used to turn a project name into an iTwin ID (edfs-api.md §10)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.responses import JSONResponse, Response

from . import seed
from ._http import ErrorReply, detail
from .router import Ctx, Operation, op

INVALID = ("InvalidiTwinsRequest", "Cannot get iTwins.")
NOT_FOUND = ("iTwinNotFound", "Requested iTwin is not available.")
SUB_CLASSES = {
    "Account": "Account",
    "Portfolio": "Thing",
    "Asset": "Thing",
    "Program": "Endeavor",
    "Project": "Endeavor",
    "WorkPackage": "Endeavor",
}
STATUSES = ("Active", "Inactive", "Trial")
_ACCOUNTS = {seed.ORG_NORTHGATE: seed.ACCOUNT_NORTHGATE, seed.ORG_HARBOR: seed.ACCOUNT_HARBOR}
_EXACT = {"displayName": "display_name", "number": "number", "type": "type"}
_KNOWN = {
    "$search",
    "$top",
    "$skip",
    "subClass",
    "status",
    "includeInactive",
    "parentId",
    "iTwinAccountId",
    *_EXACT,
}


def itwin_json(itwin: seed.ITwinSeed, full: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": itwin.id,
        "class": SUB_CLASSES[itwin.sub_class],
        "subClass": itwin.sub_class,
        "type": itwin.type,
        "number": itwin.number,
        "displayName": itwin.display_name,
    }
    if full:
        account = _ACCOUNTS.get(itwin.organization_id)
        body.update(
            dataCenterLocation="East US",
            status=itwin.status,
            parentId=account,
            iTwinAccountId=account,
            imageName=None,
            image=None,
            createdDateTime=itwin.created,
            createdBy=seed.IDENTITY_ADMIN,
        )
    return body


def _int(
    options: dict[str, str], name: str, default: int, low: int, high: int, bad: list[dict[str, Any]]
) -> int:
    text = options.get(name)
    if text is None:
        return default
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        bad.append(detail(name, f"{name} must be an integer from {low} to {high}."))
        return default
    return int(text)


def _select(ctx: Ctx, options: dict[str, str], bad: list[dict[str, Any]]) -> list[seed.ITwinSeed]:
    search, status, inactive = options.get("$search"), options.get("status"), options.get("includeInactive")
    if search is not None and ("displayName" in options or "number" in options):
        bad.append(detail("$search", "$search cannot be combined with displayName or number."))
    if status is not None and status not in STATUSES:
        bad.append(detail("status", f"status must be one of {', '.join(STATUSES)}."))
    if inactive is not None and (status is not None or inactive.lower() not in ("true", "false")):
        bad.append(
            detail("includeInactive", "includeInactive must be true or false, and not combined with status.")
        )
    wanted_classes = [c.strip() for c in options.get("subClass", "").split(",") if c.strip()]
    if any(c not in SUB_CLASSES for c in wanted_classes):
        bad.append(detail("subClass", f"subClass must be a comma list of {', '.join(SUB_CLASSES)}."))
    items = [t for t in ctx.state.itwins.values() if t.id in ctx.identity.member_of]
    if status is not None:
        items = [t for t in items if t.status == status]
    elif (inactive or "").lower() != "true":
        items = [t for t in items if t.status != "Inactive"]
    if wanted_classes:
        items = [t for t in items if t.sub_class in wanted_classes]
    if search is not None:
        needle = search.lower()
        items = [t for t in items if needle in t.number.lower() or needle in t.display_name.lower()]
    for param, attr in _EXACT.items():
        if param in options:
            items = [t for t in items if getattr(t, attr) == options[param]]
    if "parentId" in options or "iTwinAccountId" in options:
        wanted = options.get("parentId") or options.get("iTwinAccountId") or ""
        items = [t for t in items if _ACCOUNTS.get(t.organization_id) == wanted.lower()]
    return sorted(items, key=lambda t: (t.display_name.lower(), t.id))


def _href(ctx: Ctx, options: dict[str, str], skip: int, top: int) -> dict[str, str]:
    params = [(k, v) for k, v in options.items() if k not in ("$skip", "$top")] + [
        ("$top", str(top)),
        ("$skip", str(skip)),
    ]
    return {"href": f"{ctx.base}/itwins/?{urlencode(params, safe='$,')}"}


async def list_itwins(ctx: Ctx) -> Response:
    options = dict(ctx.request.query_params)
    bad = [
        detail(k, f"Query option '{k}' is not supported by the sandbox.")
        for k in options
        if k.startswith("$") and k not in _KNOWN
    ]
    top = _int(options, "$top", 100, 1, 1000, bad)
    skip = _int(options, "$skip", 0, 0, 10**9, bad)
    max_return = ctx.request.headers.get("x-max-return")
    headers = {} if max_return is None else {"X-Max-Return": max_return}
    cap = _int(headers, "X-Max-Return", 1000, 1, 10000, bad)
    items = _select(ctx, options, bad)
    if bad:
        raise ErrorReply(422, *INVALID, bad)
    reachable = items[:cap]
    page = reachable[skip : skip + top]
    full = "return=representation" in ctx.request.headers.get("prefer", "").replace(" ", "").lower()
    links = {
        "self": _href(ctx, options, skip, top),
        "prev": _href(ctx, options, max(0, skip - top), top) if skip > 0 else None,
        "next": _href(ctx, options, skip + top, top) if skip + top < len(reachable) else None,
    }
    return JSONResponse(
        {"iTwins": [itwin_json(t, full) for t in page], "_links": links}, headers={"X-Max-Return": str(cap)}
    )


async def get_itwin(ctx: Ctx) -> Response:
    itwin = ctx.state.itwin(ctx.params["itwin"])
    if itwin is None or itwin.id not in ctx.identity.member_of:
        raise ErrorReply(404, *NOT_FOUND)
    return JSONResponse({"iTwin": itwin_json(itwin, full=True)})


def operations() -> list[Operation]:
    return [
        op("GET", "/itwins", list_itwins),
        Operation("GET", ("itwins", ""), list_itwins),  # the documented form has a trailing slash
        op("GET", "/itwins/{itwin}", get_itwin),
    ]
