"""The consent page and Bentley's callback: where a person approves an MCP client, then signs in.

``GET /consent?request=…`` names the MCP client (its name, id and the redirect URI its answer goes
to) and asks the person to approve or deny before anything is sent to Bentley. A person who already
approved this client and redirect URI in this browser (a sealed cookie says who) goes straight on.
Approving sends the browser to Bentley's sign-in (authorization code + PKCE, as the server's web
app); ``GET /auth/callback`` takes Bentley's answer, seals the person's tokens, remembers the
consent for that person and client, and redirects to the MCP client with a code of our own.

Against a confused deputy: the page cannot be framed, a cross-site POST is refused, the approval
must come from the browser that was shown the page (a sealed cookie names the request), and the
callback must reach that same browser. A remembered consent is checked again once Bentley has said
who signed in: another person gets the consent page.

The pages are ``consent.html`` and ``remote.html`` (a problem), rendered autoescaped by
``edfs_mcp.templates``; ``ConsentFlow`` has one method per route and per step they share.
"""

from __future__ import annotations

import logging
import re
from contextlib import suppress
from typing import Any
from urllib.parse import urlsplit

from mcp.server.auth.provider import construct_redirect_uri
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from edfs_mcp.errors import AuthError
from edfs_mcp.remote.crypto import Sealer, new_secret
from edfs_mcp.remote.people import PersonVault
from edfs_mcp.remote.provider import EdfsAuthorizationProvider
from edfs_mcp.remote.upstream import BentleyWebApp
from edfs_mcp.state.stores import KeyValueStore
from edfs_mcp.templates import render

__all__ = ["CALLBACK_PATH", "CONSENT_PATH", "ConsentFlow"]

logger = logging.getLogger(__name__)

CONSENT_PATH = "/consent"
CALLBACK_PATH = "/auth/callback"
CONSENT_COOKIE = "edfs_mcp_consent"
PERSON_COOKIE = "edfs_mcp_person"
# What each header is for, and why it does not get in a real browser's way (README, "What a
# person sees"):
# - no-store: a sign-in page or answer is never replayed from a cache;
# - X-Frame-Options / frame-ancestors: no other page can frame ours and have the person click in it;
# - default-src 'none': no script, image or font runs or loads; only the inline style;
# - form-action: the form may go to this server only, and (browsers apply it to the redirects
#   after the POST too) on to exactly where its answer goes next: Bentley's sign-in or the MCP
#   client's redirect URI. Each page lists its own (``_page_headers``);
# - Referrer-Policy same-origin: the page's URL (it names the sign-in request) is never sent to
#   another site, while the form's own POST keeps its real ``Origin`` (``no-referrer`` makes a
#   browser send ``Origin: null``, which cannot be told from a sandboxed attacker frame).
_BASE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'"
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
_HOST = re.compile(r"[a-z0-9.-]+")


def form_action_source(url: str) -> str | None:
    """The CSP source that lets a form's answer go on to ``url``: its origin for http(s), its scheme
    for a private-use scheme (``cursor://…``, RFC 8252). ``None`` when ``url`` cannot be written as a
    source (it is the client's, untrusted: nothing of it may add a directive to the header)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if not _SCHEME.fullmatch(scheme):
        return None
    if scheme not in ("http", "https"):
        return f"{scheme}:"
    if ":" in host:  # an IPv6 literal has no CSP host-source form: allow the scheme
        return f"{scheme}:"
    if not _HOST.fullmatch(host):
        return None
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


def _page_headers(onward: tuple[str, ...] = ()) -> dict[str, str]:
    sources = " ".join(dict.fromkeys(s for url in onward if (s := form_action_source(url))))
    return {**_BASE_HEADERS, "Content-Security-Policy": f"{_CSP} {sources}".rstrip()}


def _page(template: str, status: int = 200, onward: tuple[str, ...] = (), **values: Any) -> HTMLResponse:
    return HTMLResponse(render(template, **values), status_code=status, headers=_page_headers(onward))


def _problem(title: str, text: str, status: int) -> HTMLResponse:
    return _page("remote.html", status, title=title, text=text)


def _cross_site(request: Request, public_origin: str) -> bool:
    """A POST a browser sent from anything but our own page.

    Browsers say so in ``Sec-Fetch-Site`` (only ``same-origin`` is ours: ``same-site`` is another
    port or subdomain of the host). Older ones send ``Origin``, which must be ours; ``null`` (an
    opaque origin, such as a sandboxed frame) is refused. A request with neither is not from a
    browser; the consent cookie still binds the approval to the browser that saw the page."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site.lower() != "same-origin"
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}".lower()
    return origin is not None and origin.rstrip("/").lower() not in (own, public_origin.lower())


class ConsentFlow:
    """One person's way from an MCP client's sign-in request to its code: one method per route
    (``show``, ``decide``, ``callback``) and per step they share."""

    def __init__(
        self,
        *,
        provider: EdfsAuthorizationProvider,
        store: KeyValueStore,
        sealer: Sealer,
        vault: PersonVault,
        bentley: BentleyWebApp,
        public_origin: str,
    ) -> None:
        self.provider = provider
        self.store = store
        self.sealer = sealer
        self.vault = vault
        self.bentley = bentley
        self.public_origin = public_origin
        self.secure_cookies = public_origin.startswith("https://")
        self.cookie_life = int(provider.lifetimes.consent)

    # --- the routes -------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        """The consent page (GET), its answer (POST) and Bentley's callback."""
        return [
            Route(CONSENT_PATH, self.show, methods=["GET"]),
            Route(CONSENT_PATH, self.decide, methods=["POST"]),
            Route(CALLBACK_PATH, self.callback, methods=["GET"]),
        ]

    async def show(self, request: Request) -> Response:
        """GET /consent?request=…: the consent page, or straight on to Bentley when this browser's
        person already approved this client and redirect URI."""
        request_id = request.query_params.get("request", "")
        pending = await self._unanswered(request_id)
        if pending is None:
            return _problem(
                "Sign-in request expired",
                "This sign-in request is unknown, expired or already used. Start again from your MCP client.",
                400,
            )
        who = self._cookie(request, PERSON_COOKIE)
        if who and await self.provider.consented(who, pending["client_id"], pending["redirect_uri"]):
            return await self._to_bentley(request_id, pending, remembered_for=who)
        return await self._consent_page(request_id, pending, pending.get("name"))

    async def decide(self, request: Request) -> Response:
        """POST /consent: Approve (on to Bentley, or to the client when Bentley already said who)
        or Deny (back to the client), from the page this browser was shown."""
        if _cross_site(request, self.public_origin):
            return _problem("Request refused", "This form may only be sent from its own page.", 403)
        form = await request.form()
        request_id, action = str(form.get("request") or ""), form.get("action")
        if not request_id or self._cookie(request, CONSENT_COOKIE) != request_id:
            return _problem(
                "Request refused",
                "This approval did not come from the page this browser was shown. "
                "Start again from your MCP client.",
                403,
            )
        pending = await self._unanswered(request_id)
        if pending is None:
            return _problem("Sign-in request expired", "Start again from your MCP client.", 400)
        if action == "approve":
            return await self._approved(request_id, pending)
        if action == "deny":
            await self.provider.pending(request_id, take=True)
            return self._back_to_client(
                pending, error="access_denied", error_description="the person denied access"
            )
        return _problem("Choose Approve or Deny", "Go back and choose Approve or Deny.", 400)

    async def callback(self, request: Request) -> Response:
        """GET /auth/callback: Bentley's answer, in the browser that approved; the person's tokens
        are sealed and the client gets a code (or this person is asked, when the consent remembered
        in this browser was another person's)."""
        taken = await self._called_back(request)
        if isinstance(taken, Response):
            return taken
        pending, upstream = taken
        code = request.query_params.get("code")
        if not code:
            return self._back_to_client(
                pending, error="access_denied", error_description="the Bentley sign-in was not completed"
            )
        try:
            tokens = await self.bentley.exchange(code, upstream["verifier"])
        except AuthError as exc:
            logger.warning("Bentley sign-in failed: %s", exc)
            return _problem("Bentley sign-in failed", str(exc), 502)
        await self.vault.save(tokens)
        if await self._someone_else(upstream.get("remembered_for"), tokens.subject, pending):
            # The consent remembered in this browser was another person's: ask this one.
            asked = new_secret("")
            pending.update(subject=tokens.subject, name=tokens.name)
            await self.provider.park(asked, pending)
            return await self._consent_page(asked, pending, tokens.name)
        return await self._finish(pending, tokens.subject, tokens.name)

    # --- the steps --------------------------------------------------------------------------------

    async def _unanswered(self, request_id: str) -> dict[str, Any] | None:
        """The sign-in request ``request_id`` names, unless it is unknown or already on its way to Bentley."""
        pending = await self.provider.pending(request_id) if request_id else None
        return None if pending is None or "upstream" in pending else pending

    async def _approved(self, request_id: str, pending: dict[str, Any]) -> Response:
        if "subject" in pending:  # consent asked after Bentley's sign-in
            await self.provider.pending(request_id, take=True)
            return await self._finish(pending, pending["subject"], pending["name"])
        return await self._to_bentley(request_id, pending, remembered_for=None)

    async def _called_back(self, request: Request) -> tuple[dict[str, Any], dict[str, Any]] | Response:
        """The sign-in request Bentley's answer is for (taken) and its upstream part, or the page
        that refuses the answer: unknown, finished in another browser, or expired."""
        state = request.query_params.get("state", "")
        request_id = await self.store.take(f"upstream:{self.sealer.lookup(state)}") if state else None
        if request_id is None:
            return _problem("Sign-in not recognised", "This sign-in is unknown or already finished.", 400)
        if self._cookie(request, CONSENT_COOKIE) != request_id:
            return _problem(
                "Sign-in refused",
                "This sign-in was finished in another browser than the one that approved it. "
                "Start again from your MCP client.",
                403,
            )
        pending = await self.provider.pending(request_id, take=True)
        if pending is None:
            return _problem("Sign-in request expired", "Start again from your MCP client.", 400)
        return pending, pending.pop("upstream")

    async def _someone_else(self, remembered: str | None, subject: str, pending: dict[str, Any]) -> bool:
        """True when the consent remembered in this browser (``remembered``) was another person's,
        and the one who signed in has not approved this client and redirect URI themselves."""
        if remembered is None or remembered == subject:
            return False
        return not await self.provider.consented(subject, pending["client_id"], pending["redirect_uri"])

    async def _consent_page(
        self, request_id: str, pending: dict[str, Any], signed_in_as: str | None
    ) -> Response:
        client = await self.provider.get_client(pending["client_id"])
        if client is None:
            return _problem("Unknown application", "This application is no longer registered.", 400)
        # Approve goes on to Bentley's sign-in (or, when Bentley already said who, to the client);
        # Deny goes back to the client.
        onward = [pending["redirect_uri"]]
        with suppress(AuthError):  # unreachable: Approve answers with our page saying so
            onward.append((await self.bentley.endpoints()).authorization)
        response = _page(
            "consent.html",
            onward=tuple(onward),
            title="Allow access to EDFS?",
            client_name=client.client_name or "An application without a name",
            client_id=client.client_id,
            redirect_uri=pending["redirect_uri"],
            signed_in_as=signed_in_as,
            action=CONSENT_PATH,
            request_id=request_id,
        )
        self._bind_to_browser(response, request_id)
        return response

    async def _to_bentley(
        self, request_id: str, pending: dict[str, Any], remembered_for: str | None
    ) -> Response:
        state, verifier = new_secret(""), new_secret("")
        pending["upstream"] = {"state": state, "verifier": verifier, "remembered_for": remembered_for}
        await self.provider.park(request_id, pending)
        await self.store.put(
            f"upstream:{self.sealer.lookup(state)}", request_id, self.provider.lifetimes.pending
        )
        try:
            url = await self.bentley.authorize_url(state=state, verifier=verifier)
        except AuthError as exc:
            return _problem("Bentley cannot be reached", str(exc), 502)
        response = RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})
        self._bind_to_browser(response, request_id)
        return response

    async def _finish(self, pending: dict[str, Any], subject: str, name: str) -> Response:
        await self.provider.remember_consent(subject, pending["client_id"], pending["redirect_uri"])
        code = await self.provider.issue_code(pending, subject, name)
        response = self._back_to_client(pending, code=code)
        self._set_cookie(
            response,
            PERSON_COOKIE,
            self.sealer.seal(subject.encode(), f"cookie:{PERSON_COOKIE}"),
            self.cookie_life,
        )
        return response

    def _back_to_client(self, pending: dict[str, Any], **params: str | None) -> Response:
        # RFC 9207 `iss` (MCP 2026-07-28, SEP-2468): the client can tell which server answered.
        url = construct_redirect_uri(
            pending["redirect_uri"], state=pending.get("state"), iss=self.provider.issuer, **params
        )
        response = RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})
        response.delete_cookie(CONSENT_COOKIE, path="/")
        return response

    # --- cookies ----------------------------------------------------------------------------------

    def _bind_to_browser(self, response: Response, request_id: str) -> None:
        """The consent cookie: the approval and the callback must come from this browser."""
        sealed = self.sealer.seal(request_id.encode(), f"cookie:{CONSENT_COOKIE}")
        self._set_cookie(response, CONSENT_COOKIE, sealed, 900)

    def _set_cookie(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name, value, max_age=max_age, path="/", secure=self.secure_cookies, httponly=True, samesite="lax"
        )

    def _cookie(self, request: Request, name: str) -> str | None:
        raw = request.cookies.get(name)
        opened = self.sealer.open(raw, f"cookie:{name}") if raw else None
        return opened.decode() if opened is not None else None
