"""Operation matching on the raw path, then the checks of edfs-api.md §8 in order.

Routing splits the *raw* (still percent-encoded) path on ``/`` and decodes each segment on its own,
so ``%2F`` inside a segment stays inside it and is rejected by validation instead of being routed
elsewhere. Order: operation + Accept (404) → auth (401) → per-client limit (429) → permission (403)
→ path validation (422) → the handler (existence 404, body 422, conflict 409).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from . import seed
from ._http import (
    ACCEPTED_MEDIA,
    FORBIDDEN,
    HEADER_NOT_FOUND,
    TOO_MANY,
    UNAUTHORIZED,
    ErrorReply,
    accept_ok,
    base_url,
    detail,
    operation_not_found,
    rate_limited,
    valid_guid,
    valid_name,
)
from .oauth import verify_access_token
from .state import SandboxState

# Path parameter → validator; parameters not listed (the iTwins API's id) are not validated.
_ENTITY_SEGMENT = re.compile(r"[A-Za-z0-9_.-]+(\(.*\))?", re.DOTALL)
PARAM_CHECKS: dict[str, Callable[[str], bool]] = {
    "iTwinId": valid_guid,
    "timerId": valid_guid,
    "id": valid_guid,
    "uniqueName": valid_name,
    "systemType": valid_name,
    "entitySet": lambda value: _ENTITY_SEGMENT.fullmatch(value) is not None,
}


@dataclass(frozen=True)
class Ctx:
    """What a handler gets: the request, the state, who called, and the decoded path parameters."""

    request: Request
    state: SandboxState
    identity: seed.Identity
    params: dict[str, str]

    @property
    def base(self) -> str:
        return base_url(self.request)

    @property
    def itwin_id(self) -> str:
        return self.params["iTwinId"].lower()


Handler = Callable[[Ctx], Awaitable[Response]]
Permission = Callable[[SandboxState, seed.Identity, dict[str, str]], bool]


@dataclass(frozen=True)
class Operation:
    method: str
    template: tuple[str, ...]  # literal segments, or "{name}" placeholders
    handler: Handler
    permission: Permission | None = None  # None: any authenticated caller
    invalid: tuple[str, str] | None = None  # 422 code and message for bad path parameters
    rate_code: str = TOO_MANY[0]
    accept: frozenset[str] = ACCEPTED_MEDIA  # the media types of Accept it answers (else 404)

    @property
    def literals(self) -> int:
        return sum(not s.startswith("{") for s in self.template)


def op(
    method: str,
    path: str,
    handler: Handler,
    *,
    permission: Permission | None = None,
    invalid: tuple[str, str] | None = None,
    rate_code: str = TOO_MANY[0],
    accept: frozenset[str] = ACCEPTED_MEDIA,
) -> Operation:
    """One endpoint: ``op("GET", "/edfs/packages/{uniqueName}", handler, permission=..., invalid=...)``."""
    template = tuple(path.strip("/").split("/"))
    return Operation(method, template, handler, permission, invalid, rate_code, accept)


def raw_path_of(scope: Scope) -> str:
    raw = scope.get("raw_path")
    if isinstance(raw, bytes):
        return raw.decode("latin-1")
    return quote(str(scope.get("path", "/")))


def _bind(template: tuple[str, ...], segments: list[str]) -> dict[str, str] | None:
    if len(template) != len(segments):
        return None
    params: dict[str, str] = {}
    for part, raw in zip(template, segments, strict=True):
        value = unquote(raw, errors="replace")
        if part.startswith("{"):
            if not raw:
                return None
            params[part[1:-1]] = value
        elif value != part:
            return None
    return params


class Router:
    """Matches a raw path to the most specific operation (literals beat placeholders)."""

    def __init__(self, operations: Sequence[Operation]) -> None:
        self.operations = sorted(operations, key=lambda o: -o.literals)

    def match(self, method: str, raw_path: str) -> tuple[Operation, dict[str, str]] | None:
        segments = raw_path.lstrip("/").split("/")
        for operation in self.operations:
            if operation.method != method:
                continue
            params = _bind(operation.template, segments)
            if params is not None:
                return operation, params
        return None

    async def __call__(self, request: Request) -> Response:
        state: SandboxState = request.app.state.sandbox
        found = self.match(request.method, raw_path_of(request.scope))
        if found is None or not accept_ok(request.headers.get("accept"), found[0].accept):
            return operation_not_found()
        operation, params = found
        try:
            identity, client_id = _authenticate(state, request)
            retry_after = state.faults.client_hit(client_id)
            if retry_after is not None:
                return rate_limited(retry_after, operation.rate_code)
            if operation.permission is not None and not operation.permission(state, identity, params):
                raise ErrorReply(403, *FORBIDDEN)
            bad = [detail(name) for name, value in params.items() if not _param_ok(name, value)]
            if bad and operation.invalid is not None:
                raise ErrorReply(422, *operation.invalid, bad)
            return await operation.handler(Ctx(request, state, identity, params))
        except ErrorReply as exc:
            return exc.response()


def _param_ok(name: str, value: str) -> bool:
    check = PARAM_CHECKS.get(name)
    return check is None or check(value)


def _authenticate(state: SandboxState, request: Request) -> tuple[seed.Identity, str]:
    header = request.headers.get("authorization")
    if header is None:
        raise ErrorReply(401, *HEADER_NOT_FOUND, headers={"WWW-Authenticate": "Bearer"})
    scheme, _, token = header.strip().partition(" ")
    claims: dict[str, Any] | None = None
    if scheme.lower() == "bearer" and token.strip():
        claims = verify_access_token(state, token.strip(), base_url(request))
    identity = state.identities.get(str(claims.get("sub"))) if claims else None
    if claims is None or identity is None:
        raise ErrorReply(401, *UNAUTHORIZED, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return identity, str(claims.get("client_id", ""))


# --- permission rules (edfs-api.md §2) ----------------------------------------------------------------


def org_permission(*perms: str) -> Permission:
    """Org Admin, or every ``perms`` held at organization level."""
    needed = frozenset(perms)

    def check(state: SandboxState, who: seed.Identity, params: dict[str, str]) -> bool:
        return who.org_admin or needed <= who.org_permissions

    return check


def itwin_permission(*perms: str) -> Permission:
    """Org Admin of the iTwin's organization, or every ``perms`` on the addressed iTwin.

    An admin passes for an iTwin no organization owns (unknown or malformed ID) so that it then
    sees the 422/404 of the later checks; anyone else without the permission there gets 403.
    """
    needed = frozenset(perms)

    def check(state: SandboxState, who: seed.Identity, params: dict[str, str]) -> bool:
        itwin_id = params["iTwinId"].lower()
        org = state.org_of(itwin_id)
        if who.org_admin and org in (None, who.organization_id):
            return True
        return needed <= state.permissions_on(who.id, itwin_id)

    return check


def package_role(role_id: str, *perms: str) -> Permission:
    """Org Admin of the iTwin's organization, or: one of the caller's iTwin roles there has the package
    role ``role_id`` for the addressed package (4.17-4.20), plus every ``perms`` on the iTwin."""
    on_itwin = itwin_permission(*perms)

    def check(state: SandboxState, who: seed.Identity, params: dict[str, str]) -> bool:
        itwin_id = params["iTwinId"].lower()
        if who.org_admin and state.org_of(itwin_id) in (None, who.organization_id):
            return True
        held = state.holds_package_role(who.id, itwin_id, params["uniqueName"], role_id)
        return held and on_itwin(state, who, params)

    return check


def any_itwin_permission(*perms: str) -> Permission:
    """Org Admin, or every ``perms`` on at least one iTwin of the caller's organization (4.16)."""
    needed = frozenset(perms)

    def check(state: SandboxState, who: seed.Identity, params: dict[str, str]) -> bool:
        return who.org_admin or any(
            needed <= state.permissions_on(who.id, itwin_id) for itwin_id in state.itwins_of(who.id)
        )

    return check
