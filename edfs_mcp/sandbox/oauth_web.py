"""HTTP plumbing shared by the OAuth endpoints: authlib's request adapter and the sign-in pages.

The pages are plain HTML forms, no JavaScript. They are sent with ``no-store``, may not be framed,
and refuse a cross-site POST (a browser sends ``Origin`` with every POST; a script such as a test
sends none and is let through), which keeps another web page from approving a sign-in.
"""

from __future__ import annotations

from html import escape
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from starlette.requests import Request
from starlette.responses import HTMLResponse

from . import seed

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
}
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#222}"
    "label{display:block;margin:.8rem 0 .2rem}input[type=text],input[type=password]"
    "{width:100%;padding:.4rem;box-sizing:border-box}button{margin:1rem .5rem 0 0;padding:.4rem 1.2rem}"
    ".error{color:#a00}.note{color:#555;font-size:.9rem}"
)


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


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    """A whole HTML page; ``body`` is trusted markup (escape every value put into it)."""
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style>'
        f"</head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def paragraph(text: str, css: str = "") -> str:
    klass = f' class="{css}"' if css else ""
    return f"<p{klass}>{escape(text)}</p>"


def hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'


def text_input(name: str, label: str, value: str = "", kind: str = "text", autocomplete: str = "") -> str:
    extra = f' autocomplete="{escape(autocomplete)}"' if autocomplete else ""
    return (
        f'<label for="{escape(name)}">{escape(label)}</label>'
        f'<input type="{kind}" id="{escape(name)}" name="{escape(name)}" value="{escape(value)}"{extra}>'
    )


def decision_buttons() -> str:
    return (
        '<button type="submit" name="action" value="approve">Approve</button>'
        '<button type="submit" name="action" value="deny">Deny</button>'
    )


def users_note() -> str:
    names = ", ".join(seed.USERS)
    return paragraph(f"Sandbox users: {names}; every password is '{seed.SANDBOX_PASSWORD}'.", "note")
