"""The authorization endpoint: ``/connect/authorize`` with a sign-in page (authorization code + PKCE).

``GET /connect/authorize?response_type=code&client_id=...&redirect_uri=...&scope=...&state=...
&code_challenge=...&code_challenge_method=S256`` checks the request with authlib, then shows a form
(username, password, Approve / Deny) carrying the request's parameters. ``POST`` signs the person in
and redirects (302) to ``redirect_uri?code=...&state=...``, or ``?error=access_denied&state=...`` on
Deny. A request with an unknown client or an unregistered redirect URI is never redirected: the
person sees an error page (RFC 6749 section 4.1.2.1). Redirect URIs match as described in
``oauth.redirect_uri_matches`` (loopback: any port).

Under ``state.auto_approve`` the GET skips the form and redirects at once with a code issued to
``seed.AUTO_APPROVE_USER``, so scripts and tests need no HTML.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from authlib.oauth2.rfc6749 import OAuth2Error
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import seed
from .oauth_grants import authenticate_person, user_of
from .oauth_web import FormRequest, cross_site, page, read_form, sign_in_page
from .state import SandboxState

if TYPE_CHECKING:
    from .oauth import SandboxAuthorizationServer

TITLE = "Sign in to the EDFS sandbox"
_PERSON_FIELDS = ("username", "password", "action")


def _form(params: dict[str, str], username: str = "", error: str = "", status: int = 200) -> Response:
    return sign_in_page(
        TITLE,
        "authorize",
        status,
        client_id=params.get("client_id", ""),
        scope=params.get("scope") or seed.SCOPE,
        hidden=params,
        username=username,
        error=error,
    )


def routes(state: SandboxState, server: SandboxAuthorizationServer) -> list[Route]:
    def refuse(request: FormRequest, error: OAuth2Error) -> Response:
        if error.redirect_uri:  # the redirect URI was checked: the client hears of it there
            response: Response = server.handle_error_response(request, error)
            return response
        text = f"{error.error}: {error.description}" if error.description else str(error.error)
        return page(
            "Sign-in request refused",
            "The application's sign-in request is not valid, so it cannot be completed.",
            400,
            code=text,
        )

    async def show(request: Request) -> Response:
        oauth_request = FormRequest(request, {})
        try:
            grant = server.get_consent_grant(oauth_request)
        except OAuth2Error as error:
            return refuse(oauth_request, error)
        if state.auto_approve:
            user = user_of(seed.AUTO_APPROVE_USER)
            response: Response = server.create_authorization_response(oauth_request, user, grant)
            return response
        return _form(dict(request.query_params))

    async def decide(request: Request) -> Response:
        if cross_site(request):
            return page("Request refused", "This form may only be sent from its own page.", 403)
        form = await read_form(request)
        params = {k: v for k, v in form.items() if k not in _PERSON_FIELDS}
        oauth_request = FormRequest(request, params)
        try:
            grant = server.get_consent_grant(oauth_request)
        except OAuth2Error as error:
            return refuse(oauth_request, error)
        action, username = form.get("action"), form.get("username", "")
        if action == "deny":
            denied: Response = server.create_authorization_response(oauth_request, None, grant)
            return denied
        if action != "approve":
            return _form(params, username, "Choose Approve or Deny.", 400)
        user = authenticate_person(username, form.get("password", ""))
        if user is None:
            return _form(params, username, "Wrong username or password.", 401)
        approved: Response = server.create_authorization_response(oauth_request, user, grant)
        return approved

    return [
        Route("/connect/authorize", show, methods=["GET"]),
        Route("/connect/authorize", decide, methods=["POST"]),
    ]
