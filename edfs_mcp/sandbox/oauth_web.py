"""HTTP plumbing shared by the OAuth endpoints: authlib's request adapter and the sign-in pages.

The pages are plain HTML forms, no JavaScript, rendered autoescaped from ``sandbox.html`` and
``sandbox_sign_in.html`` (``edfs_mcp.templates``). They are sent with ``no-store``, may not be framed,
and refuse a cross-site POST (a browser sends ``Origin`` with every POST; a script such as a test
sends none and is let through), which keeps another web page from approving a sign-in.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit, urlunsplit

from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from starlette.requests import Request
from starlette.responses import HTMLResponse

from edfs_mcp.templates import render

from . import seed

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
}


class FormRequest(OAuth2Request):  # type: ignore[misc]
    """An OAuth2Request over a form already read from the Starlette request (form reads are async)."""

    def __init__(self, request: Request, form: dict[str, str]) -> None:
        # The sandbox serves plain HTTP on loopback or in-process by design; authlib's transport check
        # protects real deployments, so it is handed the https form of the same URL.
        parts = urlsplit(str(request.url))
        super().__init__(request.method, urlunsplit(("https", *parts[1:])), headers=request.headers)
        self._form = form
        self._args = dict(request.query_params)
        self.payload = BasicOAuth2Payload({**self._args, **form})

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


MAX_FORM_BYTES = 64 * 1024


async def read_form(request: Request) -> dict[str, str]:
    """The url-encoded body as a dict (the last value of a repeated field wins); {} if unreadable
    or larger than ``MAX_FORM_BYTES`` (then it is not read further: a sign-in form is tiny)."""
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_FORM_BYTES:
            return {}
    try:
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    except (UnicodeDecodeError, ValueError):
        return {}


def cross_site(request: Request) -> bool:
    """True for a POST a browser sent from another origin (or an opaque one: ``Origin: null``)."""
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}".lower()
    return origin is not None and origin.rstrip("/").lower() != own


def page(title: str, text: str, status: int = 200, *, code: str = "") -> HTMLResponse:
    """A page that says one thing, ``text`` (and under it ``code``, the name of what was refused)."""
    return _answer(render("sandbox.html", title=title, text=text, code=code), status)


def sign_in_page(
    title: str,
    action: str,
    status: int = 200,
    *,
    client_id: str | None,
    scope: str = "",
    hidden: dict[str, str] | None = None,
    user_code: str | None = None,
    username: str = "",
    error: str = "",
    lead: str = "",
) -> HTMLResponse:
    """The sign-in form, sent to ``action``: who asks (``client_id`` for ``scope``; ``None``: a code is
    asked for), the request's parameters as ``hidden`` fields, a code field unless ``user_code`` is
    ``None``, username and password, Approve / Deny; ``error`` and ``lead`` above it."""
    html = render(
        "sandbox_sign_in.html",
        title=title,
        action=action,
        client_id=client_id,
        scope=scope,
        hidden=hidden or {},
        user_code=user_code,
        username=username,
        error=error,
        lead=lead,
        users=list(seed.USERS),
        password=seed.SANDBOX_PASSWORD,
    )
    return _answer(html, status)


def _answer(html: str, status: int) -> HTMLResponse:
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)
