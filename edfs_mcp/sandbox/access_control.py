"""Access Control v2, the one operation EDFS package roles need: the iTwin's roles.

``GET /accesscontrol/itwins/{id}/roles`` (developer.bentley.com, Access Control v2, "Get iTwin roles"):
``{"roles":[{"id","displayName","description","permissions":[...]}]}``. Org Admin of the iTwin's
organization or ``administration_manage_roles`` on the iTwin; the roles are ``seed.itwin_roles``, the
ones package-role assignments (4.17-4.20) name.
"""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from . import seed
from ._http import ErrorReply, valid_guid
from .router import Ctx, Operation, itwin_permission, op

NOT_FOUND = ("ItwinNotFound", "Requested iTwin is not available.")
V2 = "application/vnd.bentley.itwin-platform.v2+json"
ACCEPTED = frozenset({"*/*", "application/json", V2})


async def itwin_roles(ctx: Ctx) -> Response:
    itwin_id = ctx.params["iTwinId"]
    if not valid_guid(itwin_id) or ctx.state.itwin(itwin_id) is None:
        raise ErrorReply(404, *NOT_FOUND)
    roles = [
        {
            "id": role_id,
            "displayName": role.name,
            "description": role.description,
            "permissions": list(role.permissions),
        }
        for role_id, role in seed.itwin_roles(itwin_id).items()
    ]
    return JSONResponse({"roles": roles})


def operations() -> list[Operation]:
    return [
        op(
            "GET",
            "/accesscontrol/itwins/{iTwinId}/roles",
            itwin_roles,
            permission=itwin_permission(seed.MANAGE_ROLES),
            accept=ACCEPTED,
        )
    ]
