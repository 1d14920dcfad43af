"""The page where a person types a system's credentials, so that they never pass through the model.

``set_up_system`` opens a *form*: what to create (iTwin, package, systemId, system type, display
name, prefilled non-secret values) and the system type's properties as EDFS lists them (4.5). The
person opens its link, types the values (secret ones in password inputs) and submits; this module
then creates the system (4.10) and records the *outcome* (what was created, or why not, never a
value). The tool learns the outcome from the same store.

Where it is served:

- over stdio (and a local HTTP server without oauth): on 127.0.0.1, an ephemeral port, by a
  listener this process starts on the first form (:func:`local_desk`). It runs in a thread of its
  own; the system is created on the event loop of the tool call that opened the form, with that
  call's API client.
- in the team deployment (``EDFS_MCP_HTTP_AUTH=oauth``): as ``/systems/setup/…`` under the public
  URL (``remote.app`` adds the routes). The form lives in the shared state store, so any replica
  serves its page and creates the system, as the person, with the person's own Bentley sign-in.

What protects a form:

- the link carries an unguessable token (32 random bytes); the store keeps only its hash. It
  expires after :data:`FORM_SECONDS`. The first browser to open it in a tab claims it (a cookie of
  its own); another browser is refused. A frame, embed or prefetch is refused and claims nothing.
- in the team deployment the person who opens it must be the one who asked: the sealed person cookie
  set when they approved their MCP client (``remote.pages``) must name the same Bentley subject.
- the page cannot be framed (``frame-ancestors 'none'``, ``X-Frame-Options: DENY``), loads nothing
  and runs no script; a POST must come from the page itself (``Sec-Fetch-Site``/``Origin``) and
  carry the form's CSRF token, which must match the claiming browser's cookie.
- a form is taken from the store atomically on submit: submitted twice, late or by someone else, it
  creates nothing and the page says why. Bodies are bounded (64 KiB), and so are field count and size.
- credential values live only in the memory of the one POST; they are not logged, stored, echoed
  back (a failed check re-renders the page without them) or put in an outcome (a reason EDFS gives
  is scrubbed of them).

The page (``system_setup.html``) is rendered by Jinja2 with autoescaping (``edfs_mcp.templates``):
property names and defaults come from EDFS and are untrusted.

Long because a form's whole life is here: the desk that opens, serves and settles it, the checks
that protect it (claim, CSRF, cross-site, bounds) and creating the system; splitting them would
spread one security argument over files.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from edfs_mcp.errors import EdfsMcpError
from edfs_mcp.templates import render

if TYPE_CHECKING:
    from edfs_mcp.api import EdfsClient
    from edfs_mcp.api.models import SystemTypeProperty
    from edfs_mcp.state.stores import KeyValueStore

__all__ = [
    "FORM_SECONDS",
    "SETUP_PATH",
    "SetupDesk",
    "SetupField",
    "SetupForm",
    "SetupOutcome",
    "TooManyForms",
    "is_secret",
    "local_desk",
    "team_desk",
]

logger = logging.getLogger(__name__)

SETUP_PATH = "/systems/setup"
FORM_SECONDS = 600.0
MAX_OPEN_FORMS = 50  # per process
MAX_OPEN_PER_OWNER = 5
MAX_FORM_BYTES = 64 * 1024
MAX_VALUE_CHARS = 4096
# Words in a property name that make it a secret (4.5 does not say which are: edfs-api.md, assumed).
SECRET_WORDS = ("password", "passwd", "pwd", "secret", "key", "token", "credential", "passphrase")
INT32 = (-(2**31), 2**31 - 1)
INTEGER_TYPES = ("int32", "int", "integer")
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'; "
        "base-uri 'none'"
    ),
}
BROWSER_COOKIE = "edfs_mcp_setup"


def is_secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


class SetupField(BaseModel):
    """One property of the system type, as the page shows it."""

    name: str
    data_type: str = "String"
    default: str | None = None
    choices: list[str] | None = None
    secret: bool = False
    value: str | None = None  # prefilled by the model (never for a secret)

    @classmethod
    def of(cls, prop: SystemTypeProperty, prefilled: dict[str, str]) -> SetupField:
        secret = is_secret(prop.name)
        return cls(
            name=prop.name,
            data_type=prop.data_type or "String",
            default=None if secret else prop.default_value,
            choices=prop.enum_values,
            secret=secret,
            value=None if secret else prefilled.get(prop.name, prop.default_value),
        )


class SetupForm(BaseModel):
    """A form waiting for its person: no secret in it (it is stored)."""

    key: str
    owner: str  # who asked (``tools._base.principal``)
    subject: str | None = None  # team deployment: the Bentley subject who must open it
    itwin_id: str
    unique_name: str
    system_id: str
    system_type: str
    name: str
    fields: list[SetupField]
    csrf: str
    expires_at: float
    link: str
    asked: str = ""  # a hash of what the model asked for (name, values): the same call reuses the form


class SetupOutcome(BaseModel):
    status: Literal["created", "failed", "unknown"]
    record_id: str | None = None
    system_name: str | None = None
    system_id: str
    system_type: str
    reason: str | None = None


class TooManyForms(EdfsMcpError):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def index_key(owner: str, itwin_id: str, system_id: str) -> str:
    return "setup-index:" + _hash(json.dumps([owner, itwin_id.lower(), system_id.casefold()]))


class _LockedMemory:
    """The few store operations the local desk needs, safe across the listener's thread and the
    tool calls' event loop (``state.stores.MemoryStore`` is for one loop)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._values: dict[str, tuple[str, float]] = {}

    def _prune(self) -> None:
        now = self._clock()
        for key in [k for k, (_, until) in self._values.items() if until <= now]:
            del self._values[key]

    async def put(self, key: str, value: str, ttl: float | None = None) -> None:
        with self._lock:
            self._prune()
            self._values[key] = (value, self._clock() + (ttl if ttl is not None else FORM_SECONDS * 6))

    async def put_new(self, key: str, value: str, ttl: float | None = None) -> bool:
        with self._lock:
            self._prune()
            if key in self._values:
                return False
            self._values[key] = (value, self._clock() + (ttl if ttl is not None else FORM_SECONDS * 6))
            return True

    async def get(self, key: str) -> str | None:
        with self._lock:
            self._prune()
            found = self._values.get(key)
            return found[0] if found else None

    async def take(self, key: str) -> str | None:
        with self._lock:
            self._prune()
            found = self._values.pop(key, None)
            return found[0] if found else None

    async def delete(self, key: str) -> None:
        with self._lock:
            self._values.pop(key, None)


# What creates the system for a form: given the credentials, the outcome. Local forms keep theirs in
# memory (the tool call's client and loop); team forms make theirs from the person's subject.
Creator = Callable[[SetupForm, dict[str, str]], Awaitable[SetupOutcome]]


@dataclass
class SetupDesk:
    """The forms of one process (local) or of the deployment (team, shared store)."""

    store: Any  # KeyValueStore or _LockedMemory
    base: str | None = None  # the page's origin; None until the local listener runs
    person_of: Callable[[Request], str | None] | None = None  # team: the signed-in person
    client_for: Callable[[str], EdfsClient] | None = None  # team: a person's API client
    clock: Callable[[], float] = time.time
    local: bool = False
    _creators: dict[str, tuple[EdfsClient, asyncio.AbstractEventLoop]] = field(default_factory=dict)
    _open: dict[str, tuple[str, float]] = field(default_factory=dict)  # key -> (owner, expires)
    _start_lock: threading.Lock = field(default_factory=threading.Lock)

    # --- the tool's side ------------------------------------------------------------------------

    async def origin(self) -> str:
        if self.base is None:
            self.base = await asyncio.to_thread(self._start_listener)
        return self.base

    async def open_form(
        self,
        *,
        owner: str,
        subject: str | None,
        client: EdfsClient,
        itwin_id: str,
        unique_name: str,
        system_id: str,
        system_type: str,
        name: str,
        fields: list[SetupField],
        asked: str = "",
    ) -> SetupForm:
        now = self.clock()
        self._open = {k: v for k, v in self._open.items() if v[1] > now}
        self._creators = {k: v for k, v in self._creators.items() if k in self._open}
        if len(self._open) >= MAX_OPEN_FORMS:
            raise TooManyForms(MAX_OPEN_FORMS)
        if sum(1 for o, _ in self._open.values() if o == owner) >= MAX_OPEN_PER_OWNER:
            raise TooManyForms(MAX_OPEN_PER_OWNER)
        token = secrets.token_urlsafe(32)
        key = _hash(token)[:40]
        origin = await self.origin()
        form = SetupForm(
            key=key,
            owner=owner,
            subject=subject,
            itwin_id=itwin_id,
            unique_name=unique_name,
            system_id=system_id,
            system_type=system_type,
            name=name,
            fields=fields,
            csrf=secrets.token_urlsafe(24),
            expires_at=now + FORM_SECONDS,
            link=f"{origin}{SETUP_PATH}/{token}",
            asked=asked,
        )
        if self.local:
            self._creators[key] = (client, asyncio.get_running_loop())
        self._open[key] = (owner, form.expires_at)
        await self.store.put(f"setup:{key}", form.model_dump_json(), FORM_SECONDS)
        await self.store.put(index_key(owner, itwin_id, system_id), key, FORM_SECONDS * 2)
        return form

    async def find(self, owner: str, itwin_id: str, system_id: str) -> SetupForm | SetupOutcome | None:
        """The open form, or the outcome of the last one, for this person, iTwin and systemId."""
        key = await self.store.get(index_key(owner, itwin_id, system_id))
        if key is None:
            return None
        return await self.state(key)

    async def state(self, key: str) -> SetupForm | SetupOutcome | None:
        outcome = await self.store.get(f"setup-outcome:{key}")
        if outcome is not None:
            return SetupOutcome.model_validate_json(outcome)
        form = await self.store.get(f"setup:{key}")
        if form is None:
            return None
        parsed = SetupForm.model_validate_json(form)
        return parsed if parsed.expires_at > self.clock() else None

    async def forget(self, form: SetupForm) -> None:
        """The person declined, or the outcome was reported: nothing more may come of this form."""
        await self.store.delete(f"setup:{form.key}")
        await self.store.delete(f"setup-outcome:{form.key}")
        await self.store.delete(index_key(form.owner, form.itwin_id, form.system_id))
        self._creators.pop(form.key, None)
        self._open.pop(form.key, None)

    async def settle(self, owner: str, itwin_id: str, system_id: str) -> None:
        """The outcome was reported: the next call for this system starts afresh."""
        key = await self.store.take(index_key(owner, itwin_id, system_id))
        if key is not None:
            await self.store.delete(f"setup-outcome:{key}")
            await self.store.delete(f"setup:{key}")

    async def wait(self, form: SetupForm, *, poll: float = 0.5) -> SetupOutcome | None:
        """The outcome once the form is submitted; None when it expired (or vanished) first."""
        while self.clock() < form.expires_at + 30:  # a submit at the last second still finishes
            state = await self.state(form.key)
            if isinstance(state, SetupOutcome):
                return state
            if state is None and await self.store.get(f"setup-taken:{form.key}") is None:
                return None
            await asyncio.sleep(poll)
        return None

    # --- the page's side ------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [
            Route(SETUP_PATH + "/{token}", self._show, methods=["GET"]),
            Route(SETUP_PATH + "/{token}", self._submit, methods=["POST"]),
        ]

    async def _form_for(self, request: Request) -> tuple[SetupForm | None, Response | None]:
        token = request.path_params.get("token", "")
        key = _hash(token)[:40] if token else ""
        raw = await self.store.get(f"setup:{key}") if key else None
        if raw is None:
            done = key and (
                await self.store.get(f"setup-outcome:{key}") or await self.store.get(f"setup-taken:{key}")
            )
            if done:
                return None, _page_problem(
                    "Already submitted",
                    "This form was already submitted; a form works once. Nothing more was created.",
                    409,
                )
            return None, _page_problem(
                "Link expired",
                "This link is unknown or has expired (links work for 10 minutes). Nothing was created. "
                "Ask the assistant to set the system up again for a new link.",
                410,
            )
        form = SetupForm.model_validate_json(raw)
        if form.expires_at <= self.clock():
            return None, _page_problem(
                "Link expired",
                "This form has expired (links work for 10 minutes). Nothing was created. Ask the "
                "assistant to set the system up again for a new link.",
                410,
            )
        if form.subject is not None:
            person = self.person_of(request) if self.person_of is not None else None
            if person is None or not hmac.compare_digest(person.encode(), form.subject.encode()):
                return None, _page_problem(
                    "Not your form",
                    "This form is for the person who asked for it, signed in to this edfs-mcp in this "
                    "browser (where they approved their MCP client). Nothing was created.",
                    403,
                )
        return form, None

    def _browser_ok(self, request: Request, form: SetupForm, claimed: str | None) -> bool:
        mine = request.cookies.get(_cookie_name(form.key), "")
        return claimed is not None and hmac.compare_digest(mine.encode(), claimed.encode())

    async def _show(self, request: Request) -> Response:
        form, problem = await self._form_for(request)
        if problem is not None or form is None:
            return problem or _page_problem("Link expired", "Nothing was created.", 410)
        if not _top_level(request):
            # Framed, embedded or prefetched: not shown, and the link stays unclaimed for its person.
            return _page_problem(
                "Open this link directly",
                "This page cannot be shown inside another page or prefetched. Open the link in a tab.",
                403,
            )
        claimed = await self.store.get(f"setup-opened:{form.key}")
        fresh = None
        if claimed is None:
            # The first browser to open the link claims it; a cookie says which one that was.
            candidate = secrets.token_urlsafe(24)
            if await self.store.put_new(f"setup-opened:{form.key}", candidate, FORM_SECONDS + 60):
                fresh = claimed = candidate
            else:
                claimed = await self.store.get(f"setup-opened:{form.key}")
        if fresh is None and not self._browser_ok(request, form, claimed):
            return _page_problem(
                "Link already used",
                "This link was already opened in another browser; a link works in one browser only. "
                "Nothing was created. Ask the assistant for a new link.",
                409,
            )
        response = _render(form, errors=[], values={})
        if fresh is not None:
            response.set_cookie(
                _cookie_name(form.key),
                fresh,
                max_age=int(FORM_SECONDS) + 60,
                path=SETUP_PATH,
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
            )
        return response

    async def _submit(self, request: Request) -> Response:
        if _cross_site(request, self.base):
            return _page_problem(
                "Request refused", "This form may only be sent from its own page. Nothing was created.", 403
            )
        form, problem = await self._form_for(request)
        if problem is not None or form is None:
            return problem or _page_problem("Link expired", "Nothing was created.", 410)
        claimed = await self.store.get(f"setup-opened:{form.key}")
        if not self._browser_ok(request, form, claimed):
            return _page_problem(
                "Request refused",
                "This form was not sent from the browser that opened the link. Nothing was created.",
                403,
            )
        try:
            fields = await _read_form(request, len(form.fields))
        except _BadForm as bad:
            return _page_problem("Request refused", f"{bad} Nothing was created.", 400)
        try:
            if not hmac.compare_digest(fields.pop("csrf", "").encode(), form.csrf.encode()):
                return _page_problem(
                    "Request refused",
                    "This form's check value did not match: send it from the page the link opened. "
                    "Nothing was created.",
                    403,
                )
            credentials, errors = _credentials(form, fields)
            if errors:
                kept = {k: v for k, v in fields.items() if not _field_is_secret(form, k)}
                return _render(form, errors=errors, values=kept, status=400)
            # Atomic: of two submits (a double click, a replay, another replica), one gets the form.
            if await self.store.take(f"setup:{form.key}") is None:
                return _page_problem(
                    "Already submitted", "This form was already submitted. Nothing more was created.", 409
                )
            await self.store.put(f"setup-taken:{form.key}", "1", FORM_SECONDS + 120)
            outcome = await self._create(form, credentials)
            await self.store.put(f"setup-outcome:{form.key}", outcome.model_dump_json(), FORM_SECONDS * 2)
            self._creators.pop(form.key, None)
            self._open.pop(form.key, None)
            return _outcome_page(outcome)
        finally:
            fields.clear()

    async def _create(self, form: SetupForm, credentials: dict[str, str]) -> SetupOutcome:
        try:
            if self.local:
                made = self._creators.get(form.key)
                if made is None:
                    return _failed(form, "the edfs-mcp session that asked for this form has ended.")
                client, loop = made
                future = asyncio.run_coroutine_threadsafe(create_system(client, form, credentials), loop)
                return await asyncio.wrap_future(future)
            assert self.client_for is not None and form.subject is not None
            return await create_system(self.client_for(form.subject), form, credentials)
        except Exception as exc:  # never str(exc): it could quote what was sent
            logger.error("set_up_system: creating the system failed (%s)", type(exc).__name__)
            return _failed(form, "edfs-mcp could not send it to EDFS.")
        finally:
            credentials.clear()

    # --- the local listener ---------------------------------------------------------------------

    def _start_listener(self) -> str:
        with self._start_lock:
            if self.base is not None:
                return self.base
            import uvicorn
            from starlette.applications import Starlette
            from starlette.middleware import Middleware
            from starlette.middleware.trustedhost import TrustedHostMiddleware

            from edfs_mcp.bodies import BoundedBody

            routes = [Route(r.path, BoundedBody(r.app), methods=r.methods) for r in self.routes()]
            # Only this machine's names: a DNS-rebound name would make another site "same-origin".
            hosts = Middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost"])
            app = Starlette(routes=routes, middleware=[hosts])
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.bind(("127.0.0.1", 0))
            listener.listen(32)
            port = listener.getsockname()[1]
            config = uvicorn.Config(
                app, log_config=None, access_log=False, lifespan="off", timeout_keep_alive=5
            )
            server = uvicorn.Server(config)
            thread = threading.Thread(
                target=server.run, kwargs={"sockets": [listener]}, name="edfs-mcp-setup-page", daemon=True
            )
            thread.start()
            deadline = time.monotonic() + 10
            while not server.started and thread.is_alive() and time.monotonic() < deadline:
                time.sleep(0.01)
            self.base = f"http://127.0.0.1:{port}"
            logger.info("system set-up pages are served on %s", self.base)
            return self.base


async def create_system(client: EdfsClient, form: SetupForm, credentials: dict[str, str]) -> SetupOutcome:
    """Create the form's system (4.10). A write: never re-sent; a lost answer is checked by listing."""
    from edfs_mcp.api.models import SystemDraft
    from edfs_mcp.errors import EdfsMcpError, OutcomeUnknown, ServerError
    from edfs_mcp.messages import describe

    draft = SystemDraft(
        name=form.name, system_id=form.system_id, system_type=form.system_type, credentials=dict(credentials)
    )
    try:
        system = await client.create_system(form.itwin_id, draft)
    except (OutcomeUnknown, ServerError):
        try:
            listed = await client.list_systems(form.itwin_id)
        except EdfsMcpError:
            listed = []
        found = [s for s in listed if s.system_id.casefold() == form.system_id.casefold()]
        if not found:
            return SetupOutcome(status="unknown", system_id=form.system_id, system_type=form.system_type)
        system = found[0]
    except EdfsMcpError as exc:
        return _failed(form, _scrub(describe(exc), credentials))
    finally:
        draft.credentials.clear()
    return SetupOutcome(
        status="created",
        record_id=system.id,
        system_name=system.system_name or form.name,
        system_id=system.system_id,
        system_type=system.system_type or form.system_type,
    )


def _failed(form: SetupForm, reason: str) -> SetupOutcome:
    return SetupOutcome(
        status="failed", system_id=form.system_id, system_type=form.system_type, reason=reason
    )


def _scrub(text: str, credentials: dict[str, str]) -> str:
    """An answer from EDFS could quote a value it refused: no typed value survives into an outcome."""
    for value in sorted(credentials.values(), key=len, reverse=True):
        if len(value) >= 3:
            text = text.replace(value, "•••")
    return text


def _cookie_name(key: str) -> str:
    return f"{BROWSER_COOKIE}_{key[:16]}"


def _field_is_secret(form: SetupForm, name: str) -> bool:
    index = name.removeprefix("p")
    return not index.isdigit() or int(index) >= len(form.fields) or form.fields[int(index)].secret


class _BadForm(Exception):
    pass


async def _read_form(request: Request, field_count: int) -> dict[str, str]:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != (
        "application/x-www-form-urlencoded"
    ):
        raise _BadForm("The form must be sent as the page sends it.")
    limit = field_count + 4
    try:
        parsed = await request.form(max_files=0, max_fields=limit, max_part_size=MAX_VALUE_CHARS * 4)
    except HTTPException:
        raise _BadForm("The form has more fields, or longer values, than the page allows.") from None
    try:
        if len(parsed) > limit:
            raise _BadForm("The form has more fields than the page has.")
        fields: dict[str, str] = {}
        for name, value in parsed.multi_items():
            if not isinstance(value, str) or name in fields:
                raise _BadForm("The form has fields the page does not have.")
            if len(name) > 16 or len(value) > MAX_VALUE_CHARS:
                raise _BadForm(f"A value is too long (at most {MAX_VALUE_CHARS} characters).")
            fields[name] = value
        return fields
    finally:
        await parsed.close()


def _credentials(form: SetupForm, fields: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The values to send, each checked against its property's type; problems in words (no values)."""
    credentials: dict[str, str] = {}
    errors: list[str] = []
    for index, prop in enumerate(form.fields):
        value = fields.get(f"p{index}", "")
        if not prop.secret:
            value = value.strip()
        if value == "":
            continue
        kind = prop.data_type.lower()
        if prop.choices and value not in prop.choices:
            errors.append(f"{prop.name}: choose one of the listed values.")
        elif kind == "boolean" and value.lower() not in ("true", "false"):
            errors.append(f"{prop.name}: must be true or false.")
        elif kind in INTEGER_TYPES:
            try:
                number = int(value)
            except ValueError:
                errors.append(f"{prop.name}: must be a whole number.")
                continue
            if not INT32[0] <= number <= INT32[1]:
                errors.append(f"{prop.name}: is out of range.")
        elif "\x00" in value:
            errors.append(f"{prop.name}: contains a character that cannot be sent.")
        credentials[prop.name] = value.lower() if kind == "boolean" else value
    return credentials, errors


def _top_level(request: Request) -> bool:
    """A browser's navigation to the page in a tab (or a client without fetch metadata), not a
    frame, an embed or a prefetch, which must not claim the link."""
    dest = request.headers.get("sec-fetch-dest", "document").lower()
    purpose = (request.headers.get("sec-purpose", "") + request.headers.get("purpose", "")).lower()
    return dest == "document" and "prefetch" not in purpose and "prerender" not in purpose


def _cross_site(request: Request, public_origin: str | None) -> bool:
    """A POST a browser sent from anything but our own page (as ``remote.pages`` decides it)."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site.lower() != "same-origin"
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}".lower()
    allowed = {own} | ({public_origin.lower()} if public_origin else set())
    return origin is not None and origin.rstrip("/").lower() not in allowed


# --- rendering (Jinja2, autoescaped) ------------------------------------------------------------


def _render(form: SetupForm, *, errors: list[str], values: dict[str, str], status: int = 200) -> HTMLResponse:
    fields = [_field_view(index, prop, values) for index, prop in enumerate(form.fields)]
    title = f"Set up system {form.system_id}"
    html = render("system_setup.html", title=title, form=form, fields=fields, errors=errors, text="")
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


def _field_view(index: int, prop: SetupField, values: dict[str, str]) -> dict[str, Any]:
    kind = prop.data_type.lower()
    value = None if prop.secret else values.get(f"p{index}", prop.value)
    options = prop.choices or (["true", "false"] if kind == "boolean" else None)
    if kind == "boolean" and value is not None:
        value = value.lower()
    note = prop.data_type + (", secret" if prop.secret else "")
    if prop.default is not None:
        note += f", default {prop.default}"
    return {
        "index": index,
        "name": prop.name,
        "note": note,
        "options": options,
        "secret": prop.secret,
        "value": value,
        "required": prop.default is None and not options,
        "input_type": "password" if prop.secret else "number" if kind in INTEGER_TYPES else "text",
    }


def _page_problem(title: str, text: str, status: int) -> HTMLResponse:
    html = render("system_setup.html", title=title, form=None, fields=[], errors=[], text=text)
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


def _outcome_page(outcome: SetupOutcome) -> HTMLResponse:
    if outcome.status == "created":
        return _page_problem(
            "System created",
            f"System {outcome.system_id} ({outcome.system_type}) was created. You can close this tab and "
            "go back to the assistant.",
            200,
        )
    if outcome.status == "unknown":
        return _page_problem(
            "Not confirmed",
            "EDFS's answer was lost and the system could not be found afterwards. It was not sent twice. "
            "Ask the assistant to check the systems.",
            502,
        )
    return _page_problem("System not created", f"EDFS did not create it: {outcome.reason}", 422)


# --- the desks ------------------------------------------------------------------------------------

_local: SetupDesk | None = None
_local_lock = threading.Lock()


def local_desk() -> SetupDesk:
    """This process's desk for local servers: pages on 127.0.0.1, started with the first form."""
    global _local
    with _local_lock:
        if _local is None:
            _local = SetupDesk(store=_LockedMemory(), local=True)
        return _local


def team_desk(
    *,
    store: KeyValueStore,
    base: str,
    person_of: Callable[[Request], str | None],
    client_for: Callable[[str], EdfsClient],
    clock: Callable[[], float] = time.time,
) -> SetupDesk:
    """The team deployment's desk: pages under the public URL, forms in the shared store."""
    return SetupDesk(store=store, base=base, person_of=person_of, client_for=client_for, clock=clock)
