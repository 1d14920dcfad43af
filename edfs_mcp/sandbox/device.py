"""The device flow's two HTTP faces (RFC 8628): the device authorization endpoint and the
verification page a person opens in a browser.

``POST /as/device_authz.oauth2`` (IMS's path, edfs-api.md §9) answers ``device_code``, ``user_code``
(``WDJB-MJHT``: consonants only), ``verification_uri`` (``{base}/device``),
``verification_uri_complete``, ``expires_in`` and ``interval`` from the state. With
``state.device_flow_enabled`` off it answers 404 and discovery does not list it.

``GET /device[?user_code=...]`` shows a form (user code, username, password, Approve / Deny);
``POST /device`` decides. User codes are accepted in any case, with or without the dash. Deny needs
no password (anyone holding the code may refuse it); Approve needs a sandbox user's credentials.

Under ``state.auto_approve`` nobody needs this page: the token endpoint approves a device code as
``seed.AUTO_APPROVE_USER`` on its first poll (that poll still answers ``authorization_pending``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import seed
from ._http import base_url
from .oauth_grants import ISSUER, authenticate_person
from .oauth_store import normalize_user_code
from .oauth_web import FormRequest, cross_site, page, read_form, sign_in_page
from .state import SandboxState

if TYPE_CHECKING:
    from .oauth import SandboxAuthorizationServer

TITLE = "Sign in to the EDFS sandbox"


def _form(
    state: SandboxState,
    user_code: str = "",
    username: str = "",
    error: str = "",
    *,
    title: str = TITLE,
    lead: str = "",
    status: int = 200,
) -> Response:
    code = normalize_user_code(user_code)
    pending = state.oauth.pending_device(code) if code else None
    return sign_in_page(
        title,
        "device",
        status,
        client_id=pending.client_id if pending is not None else None,
        scope=(pending.scope or seed.SCOPE) if pending is not None else "",
        user_code=code or user_code,
        username=username,
        error=error,
        lead=lead,
    )


def routes(state: SandboxState, server: SandboxAuthorizationServer) -> list[Route]:
    async def device_authorization(request: Request) -> Response:
        if not state.device_flow_enabled:
            return JSONResponse(
                {"error": "invalid_request", "error_description": "Device authorization is switched off."},
                status_code=404,
            )
        form = await read_form(request)
        reset = ISSUER.set(base_url(request))
        try:
            response: Response = server.create_endpoint_response(
                "device_authorization", FormRequest(request, form)
            )
        finally:
            ISSUER.reset(reset)
        return response

    async def show(request: Request) -> Response:
        return _form(state, request.query_params.get("user_code", ""))

    async def decide(request: Request) -> Response:
        if cross_site(request):
            return page("Request refused", "This form may only be sent from its own page.", 403)
        form = await read_form(request)
        raw_code, username = form.get("user_code", ""), form.get("username", "")
        action = form.get("action")
        if action not in ("approve", "deny"):
            return _form(state, raw_code, username, "Choose Approve or Deny.", status=400)
        code = normalize_user_code(raw_code)
        if code is None or state.oauth.pending_device(code) is None:
            return _form(
                state,
                "",
                username,
                title="Unknown or expired code",
                lead="That code is unknown, expired or already used. Start the sign-in again.",
                status=400,
            )
        if action == "deny":
            state.oauth.decide_device(code, None)
            return page("Denied", "The application was not signed in. You can close this tab.")
        user = authenticate_person(username, form.get("password", ""))
        if user is None:
            return _form(state, code, username, "Wrong username or password.", status=401)
        if not state.oauth.decide_device(code, user.username):
            return page("Unknown or expired code", "That code expired. Start the sign-in again.", 400)
        name = state.identities[user.identity_id].name
        return page("Signed in", f"Signed in as {name} ({user.username}); you can close this tab.")

    return [
        Route("/as/device_authz.oauth2", device_authorization, methods=["POST"]),
        Route("/device", show, methods=["GET"]),
        Route("/device", decide, methods=["POST"]),
    ]
