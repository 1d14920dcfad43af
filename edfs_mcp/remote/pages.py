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
"""

from __future__ import annotations

import logging
import re
from contextlib import suppress
from html import escape
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

__all__ = ["CALLBACK_PATH", "CONSENT_PATH", "consent_routes"]

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
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}"
    "code{word-break:break-all}button{margin:1rem .5rem 0 0;padding:.4rem 1.2rem}.note{color:#555}"
)


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


def _page(title: str, body: str, status: int = 200, onward: tuple[str, ...] = ()) -> HTMLResponse:
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style>'
        f"</head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=_page_headers(onward))


def _problem(title: str, text: str, status: int) -> HTMLResponse:
    return _page(title, f"<p>{escape(text)}</p>", status)


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


def consent_routes(
    *,
    provider: EdfsAuthorizationProvider,
    store: KeyValueStore,
    sealer: Sealer,
    vault: PersonVault,
    bentley: BentleyWebApp,
    public_origin: str,
) -> list[Route]:
    secure_cookies = public_origin.startswith("https://")
    cookie_life = int(provider.lifetimes.consent)

    def set_cookie(response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name, value, max_age=max_age, path="/", secure=secure_cookies, httponly=True, samesite="lax"
        )

    def cookie(request: Request, name: str) -> str | None:
        raw = request.cookies.get(name)
        opened = sealer.open(raw, f"cookie:{name}") if raw else None
        return opened.decode() if opened is not None else None

    def back_to_client(pending: dict[str, Any], **params: str | None) -> Response:
        # RFC 9207 `iss` (MCP 2026-07-28, SEP-2468): the client can tell which server answered.
        url = construct_redirect_uri(
            pending["redirect_uri"], state=pending.get("state"), iss=provider.issuer, **params
        )
        response = RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})
        response.delete_cookie(CONSENT_COOKIE, path="/")
        return response

    async def consent_page(request_id: str, pending: dict[str, Any], signed_in_as: str | None) -> Response:
        client = await provider.get_client(pending["client_id"])
        if client is None:
            return _problem("Unknown application", "This application is no longer registered.", 400)
        name = client.client_name or "An application without a name"
        who = (
            f"<p>You are signed in to Bentley as <strong>{escape(signed_in_as)}</strong>.</p>"
            if signed_in_as
            else "<p>After you approve, you sign in with your Bentley account.</p>"
        )
        body = (
            f"<p><strong>{escape(name)}</strong> asks to use Bentley iTwin EDFS as you: run integration "
            "packages, read their results and manage timers, with your Bentley permissions.</p>"
            f'<p class="note">Application id: <code>{escape(client.client_id)}</code></p>'
            f"<p>Your approval is sent to:<br><code>{escape(pending['redirect_uri'])}</code></p>"
            "<p>Approve only if you started this from an MCP client you use and this address "
            "belongs to it.</p>"
            f"{who}"
            f'<form method="post" action="{CONSENT_PATH}">'
            f'<input type="hidden" name="request" value="{escape(request_id)}">'
            '<button type="submit" name="action" value="approve">Approve</button>'
            '<button type="submit" name="action" value="deny">Deny</button></form>'
        )
        # Approve goes on to Bentley's sign-in (or, when Bentley already said who, to the client);
        # Deny goes back to the client.
        onward = [pending["redirect_uri"]]
        with suppress(AuthError):  # unreachable: Approve answers with our page saying so
            onward.append((await bentley.endpoints()).authorization)
        response = _page("Allow access to EDFS?", body, onward=tuple(onward))
        set_cookie(
            response, CONSENT_COOKIE, sealer.seal(request_id.encode(), f"cookie:{CONSENT_COOKIE}"), 900
        )
        return response

    async def to_bentley(request_id: str, pending: dict[str, Any], remembered_for: str | None) -> Response:
        state, verifier = new_secret(""), new_secret("")
        pending["upstream"] = {"state": state, "verifier": verifier, "remembered_for": remembered_for}
        await provider.park(request_id, pending)
        await store.put(f"upstream:{sealer.lookup(state)}", request_id, provider.lifetimes.pending)
        try:
            url = await bentley.authorize_url(state=state, verifier=verifier)
        except AuthError as exc:
            return _problem("Bentley cannot be reached", str(exc), 502)
        response = RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})
        set_cookie(
            response, CONSENT_COOKIE, sealer.seal(request_id.encode(), f"cookie:{CONSENT_COOKIE}"), 900
        )
        return response

    async def finish(pending: dict[str, Any], subject: str, name: str) -> Response:
        await provider.remember_consent(subject, pending["client_id"], pending["redirect_uri"])
        code = await provider.issue_code(pending, subject, name)
        response = back_to_client(pending, code=code)
        set_cookie(
            response, PERSON_COOKIE, sealer.seal(subject.encode(), f"cookie:{PERSON_COOKIE}"), cookie_life
        )
        return response

    async def show(request: Request) -> Response:
        request_id = request.query_params.get("request", "")
        pending = await provider.pending(request_id) if request_id else None
        if pending is None or "upstream" in pending:
            return _problem(
                "Sign-in request expired",
                "This sign-in request is unknown, expired or already used. Start again from your MCP client.",
                400,
            )
        who = cookie(request, PERSON_COOKIE)
        if who and await provider.consented(who, pending["client_id"], pending["redirect_uri"]):
            return await to_bentley(request_id, pending, remembered_for=who)
        return await consent_page(request_id, pending, pending.get("name"))

    async def decide(request: Request) -> Response:
        if _cross_site(request, public_origin):
            return _problem("Request refused", "This form may only be sent from its own page.", 403)
        form = await request.form()
        request_id, action = str(form.get("request") or ""), form.get("action")
        if not request_id or cookie(request, CONSENT_COOKIE) != request_id:
            return _problem(
                "Request refused",
                "This approval did not come from the page this browser was shown. "
                "Start again from your MCP client.",
                403,
            )
        pending = await provider.pending(request_id)
        if pending is None or "upstream" in pending:
            return _problem("Sign-in request expired", "Start again from your MCP client.", 400)
        if action not in ("approve", "deny"):
            return _problem("Choose Approve or Deny", "Go back and choose Approve or Deny.", 400)
        if action == "deny":
            await provider.pending(request_id, take=True)
            return back_to_client(
                pending, error="access_denied", error_description="the person denied access"
            )
        if "subject" in pending:  # consent asked after Bentley's sign-in
            await provider.pending(request_id, take=True)
            return await finish(pending, pending["subject"], pending["name"])
        return await to_bentley(request_id, pending, remembered_for=None)

    async def callback(request: Request) -> Response:
        state = request.query_params.get("state", "")
        request_id = await store.take(f"upstream:{sealer.lookup(state)}") if state else None
        if request_id is None:
            return _problem("Sign-in not recognised", "This sign-in is unknown or already finished.", 400)
        if cookie(request, CONSENT_COOKIE) != request_id:
            return _problem(
                "Sign-in refused",
                "This sign-in was finished in another browser than the one that approved it. "
                "Start again from your MCP client.",
                403,
            )
        pending = await provider.pending(request_id, take=True)
        if pending is None:
            return _problem("Sign-in request expired", "Start again from your MCP client.", 400)
        upstream = pending.pop("upstream")
        code = request.query_params.get("code")
        if not code:
            return back_to_client(
                pending, error="access_denied", error_description="the Bentley sign-in was not completed"
            )
        try:
            tokens = await bentley.exchange(code, upstream["verifier"])
        except AuthError as exc:
            logger.warning("Bentley sign-in failed: %s", exc)
            return _problem("Bentley sign-in failed", str(exc), 502)
        await vault.save(tokens)
        remembered = upstream.get("remembered_for")
        if (
            remembered is not None
            and remembered != tokens.subject
            and not await provider.consented(tokens.subject, pending["client_id"], pending["redirect_uri"])
        ):
            # The consent remembered in this browser was another person's: ask this one.
            asked = new_secret("")
            pending.update(subject=tokens.subject, name=tokens.name)
            await provider.park(asked, pending)
            return await consent_page(asked, pending, tokens.name)
        return await finish(pending, tokens.subject, tokens.name)

    return [
        Route(CONSENT_PATH, show, methods=["GET"]),
        Route(CONSENT_PATH, decide, methods=["POST"]),
        Route(CALLBACK_PATH, callback, methods=["GET"]),
    ]
