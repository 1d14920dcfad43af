"""EDFS package roles: operations 4.16-4.20 of edfs-api.md.

Assignments gate access: running a package (4.3, 4.6-4.8) needs the Exec role through one of the
caller's iTwin roles (``router.package_role``). The iTwin roles are ``seed.itwin_roles``, the same ones
Access Control lists (``access_control``).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from . import seed
from ._http import BodyCheck, ErrorReply, detail, parse_json, valid_guid
from .router import Ctx, Operation, any_itwin_permission, itwin_permission, op, package_role

NOT_FOUND = ("AssignmentListNotFound", "Requested AssignmentList is not available.")
CODE = "InvalidAssignmentListRequest"
GET_INVALID = (CODE, "Cannot retrieve AssignmentList.")
ADD_INVALID = (CODE, "Cannot create AssignmentList.")
UPDATE_INVALID = (CODE, "Cannot update AssignmentList.")
REMOVE_INVALID = (CODE, "Cannot remove AssignmentList.")
_PACKAGE_ROLES = {role_id: name for role_id, name, _ in seed.PACKAGE_ROLES}


async def package_roles(ctx: Ctx) -> Response:
    return JSONResponse(
        {"packageRoles": [{"roleId": r, "name": n, "description": d} for r, n, d in seed.PACKAGE_ROLES]}
    )


def _key(ctx: Ctx) -> tuple[str, str]:
    if ctx.state.package_for_itwin(ctx.itwin_id, ctx.params["uniqueName"]) is None:
        raise ErrorReply(404, *NOT_FOUND)
    return ctx.itwin_id, ctx.params["uniqueName"]


def _itwin_roles(itwin_id: str) -> dict[str, str]:
    return {role_id: role.name for role_id, role in seed.itwin_roles(itwin_id).items()}


def _listing(ctx: Ctx, key: tuple[str, str]) -> Response:
    names = _itwin_roles(key[0])
    current = ctx.state.assignments.get(key, {})
    return JSONResponse(
        {
            "assignments": [
                {
                    "iTwinRoleName": names.get(role_id, ""),
                    "iTwinRoleId": role_id,
                    "packageRoles": [
                        {"packageRoleName": _PACKAGE_ROLES[p], "packageRoleId": p} for p in sorted(pkg_roles)
                    ],
                }
                for role_id, pkg_roles in sorted(current.items())
                if pkg_roles
            ]
        }
    )


def _role_ids(check: BodyCheck, items: Any, target: str, known: set[str] | dict[str, str]) -> list[str]:
    out: list[str] = []
    for value in items if isinstance(items, list) else [items]:
        if not isinstance(value, str) or not valid_guid(value) or value.lower() not in known:
            check.details.append(detail(target))
        else:
            out.append(value.lower())
    return out


def _read_assignments(ctx: Ctx, check: BodyCheck) -> dict[str, set[str]]:
    """``{"assignments":[{"iTwinRoleId", "packageRoleIds":[...]}]}`` → iTwin role → package roles."""
    items = check.body.get("assignments")
    if not isinstance(items, list) or not items:
        check.fail("assignments", "Property 'assignments' must be a non-empty array.")
        return {}
    roles = _itwin_roles(ctx.itwin_id)
    out: dict[str, set[str]] = {}
    for item in items:
        item = item if isinstance(item, dict) else {}
        for role_id in _role_ids(check, item.get("iTwinRoleId"), "ITwinRoleId", roles):
            pkg_ids = item.get("packageRoleIds")
            pkg_ids = pkg_ids if isinstance(pkg_ids, list) and pkg_ids else [None]
            out.setdefault(role_id, set()).update(_role_ids(check, pkg_ids, "PackageRoleIds", _PACKAGE_ROLES))
    return out


async def get_assignments(ctx: Ctx) -> Response:
    with ctx.state.lock:
        return _listing(ctx, _key(ctx))


async def _change(ctx: Ctx, invalid: tuple[str, str], replace: bool) -> Response:
    key = _key(ctx)
    check = BodyCheck(*parse_json(await ctx.request.body()))
    wanted = _read_assignments(ctx, check)
    check.raise_if_failed(*invalid)
    with ctx.state.lock:
        current = ctx.state.assignments.setdefault(key, {})
        for role_id, pkg_roles in wanted.items():
            current[role_id] = set(pkg_roles) if replace else current.get(role_id, set()) | pkg_roles
        ctx.state.writes["roles_update" if replace else "roles_add"] += 1
        return _listing(ctx, key)


async def add_assignments(ctx: Ctx) -> Response:
    return await _change(ctx, ADD_INVALID, replace=False)


async def update_assignments(ctx: Ctx) -> Response:
    return await _change(ctx, UPDATE_INVALID, replace=True)


async def remove_assignments(ctx: Ctx) -> Response:
    key = _key(ctx)
    check = BodyCheck(*parse_json(await ctx.request.body()))
    ids = check.body.get("iTwinRoleIds")
    if not isinstance(ids, list) or not ids:
        check.fail("iTwinRoleIds", "Property 'iTwinRoleIds' must be a non-empty array.")
    role_ids = _role_ids(check, ids or [], "ITwinRoleId", _itwin_roles(ctx.itwin_id))
    check.raise_if_failed(*REMOVE_INVALID)
    with ctx.state.lock:
        current = ctx.state.assignments.setdefault(key, {})
        for role_id in role_ids:
            current.pop(role_id, None)
        ctx.state.writes["roles_remove"] += 1
        return _listing(ctx, key)


def operations() -> list[Operation]:
    path = "/edfs/itwins/{iTwinId}/packages/{uniqueName}/roles"
    read = itwin_permission(seed.ILSMNG, seed.MANAGE_ROLES)
    # Managing a package role also needs that role's own permission (edfs-api.md §2): here, the
    # Exec role on this package through one of the caller's iTwin roles.
    manage = package_role(seed.PACKAGE_ROLE_EXECUTE, seed.ILSMNG, seed.MANAGE_ROLES)
    return [
        op(
            "GET",
            "/edfs/packages/roles",
            package_roles,
            permission=any_itwin_permission(seed.ILSMNG, seed.MANAGE_ROLES),
        ),
        op("GET", path, get_assignments, permission=read, invalid=GET_INVALID),
        op("POST", path, add_assignments, permission=manage, invalid=ADD_INVALID),
        op("PATCH", path, update_assignments, permission=manage, invalid=UPDATE_INVALID),
        op("DELETE", path, remove_assignments, permission=manage, invalid=REMOVE_INVALID),
    ]
