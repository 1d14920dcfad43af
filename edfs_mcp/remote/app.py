"""Everything ``EDFS_MCP_HTTP_AUTH=oauth`` adds to the streamable HTTP app, assembled from settings."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mcp.server.auth.handlers.metadata import MetadataHandler, ProtectedResourceMetadataHandler
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import BearerAuthBackend, RequireAuthMiddleware
from mcp.server.auth.provider import ProviderTokenVerifier
from mcp.server.auth.routes import build_metadata, cors_middleware, create_auth_routes
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.shared.auth import ProtectedResourceMetadata
from pydantic import AnyHttpUrl
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from edfs_mcp.bodies import BoundedBody, replaying
from edfs_mcp.listening import is_loopback
from edfs_mcp.remote.cimd import CimdFetcher
from edfs_mcp.remote.crypto import Sealer
from edfs_mcp.remote.pages import CALLBACK_PATH, PERSON_COOKIE, ConsentFlow
from edfs_mcp.remote.people import PeopleClients, PersonTokenSource, PersonVault
from edfs_mcp.remote.provider import SCOPE, EdfsAuthorizationProvider, Lifetimes
from edfs_mcp.remote.registrations import RegistrationLimits, RegistrationSource
from edfs_mcp.remote.upstream import BentleyWebApp
from edfs_mcp.state.stores import Clock, KeyValueStore, MemoryStore
from edfs_mcp.system_page import SetupDesk, team_desk

if TYPE_CHECKING:
    from edfs_mcp.api import EdfsClient
    from edfs_mcp.config import Settings

__all__ = ["CALLBACK_PATH", "RemoteAuth", "build_remote_auth", "public_base"]

logger = logging.getLogger(__name__)

MCP_PATH = "/mcp"
AS_METADATA_PATH = "/.well-known/oauth-authorization-server"
PRM_PATH = "/.well-known/oauth-protected-resource"
MEMORY_NOTE = (
    "sign-ins are kept in this process's memory only: they are lost when it stops, and each person "
    "signs in again from their MCP client"
)


def public_base(public_url: str) -> str:
    """``https://host[:port]`` from EDFS_MCP_PUBLIC_URL (which may end at /mcp)."""
    parts = urlsplit(public_url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class ChallengingGate(RequireAuthMiddleware):
    """The SDK's gate for ``/mcp``; its 401 also names the scope to ask for (MCP authorization §scope)."""

    async def _send_auth_error(self, send: Send, status_code: int, error: str, description: str) -> None:
        challenge = (
            f'Bearer error="{error}", error_description="{description}", '
            f'resource_metadata="{self.resource_metadata_url}", scope="{SCOPE}"'
        )
        body = json.dumps({"error": error, "error_description": description}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status_code,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", challenge.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


@dataclass
class RemoteAuth:
    """The authorization server, the resource-server checks and each person's API client."""

    base: str
    provider: EdfsAuthorizationProvider
    store: KeyValueStore
    routes: list[Route]
    people: PeopleClients
    durable: bool
    _closers: list[Callable[[], Any]] = field(default_factory=list)
    setup_desk: SetupDesk | None = None  # set_up_system's credentials page (edfs_mcp.system_page)

    @property
    def resource(self) -> str:
        return self.base + MCP_PATH

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc

    def gate(self, app: ASGIApp) -> ASGIApp:
        """``/mcp`` behind a valid token of ours, issued for this server."""
        return ChallengingGate(app, [SCOPE], AnyHttpUrl(f"{self.base}{PRM_PATH}{MCP_PATH}"))

    def middleware(self) -> list[Middleware]:
        backend = BearerAuthBackend(
            ProviderTokenVerifier(self.provider),  # type: ignore[arg-type]
            resource_server_url=AnyHttpUrl(self.resource),
        )
        return [Middleware(AuthenticationMiddleware, backend=backend), Middleware(AuthContextMiddleware)]

    def client_for(self, subject: str) -> EdfsClient:
        """The API client that calls EDFS as ``subject`` (Bentley's subject of the signed-in person)."""
        return self.people.get(subject)

    async def ready(self) -> str | None:
        """None when the shared state store answers (always, in memory); else why not."""
        ping = getattr(self.store, "ping", None)
        if ping is None or await ping():
            return None
        return f"the shared state store (Redis at {getattr(self.store, 'location', '?')}) does not answer"

    def startup_note(self) -> str:
        return (
            f"MCP clients sign people in with their Bentley account: MCP endpoint {self.resource}, "
            f"Bentley callback {self.base}{CALLBACK_PATH}"
            + (
                f"; state shared in Redis at {getattr(self.store, 'location', '?')}"
                if self.durable
                else f"; {MEMORY_NOTE}"
            )
        )

    async def aclose(self) -> None:
        await self.people.aclose()
        close = getattr(self.store, "aclose", None)
        if close is not None:
            await close()


class PublicClientRevocation:
    """The SDK's ``/revoke`` requires a ``client_secret`` field even from a public client (which has
    none, RFC 6749 §2.3): an absent one is added, empty, before the SDK's handler reads the form."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self._app(scope, receive, send)
            return
        # BoundedBody (outside this) has read the whole body, at most bodies.MAX_FORM_BYTES: one message.
        message = await receive()
        body = message.get("body", b"")
        if b"client_secret=" not in body:
            body += b"&client_secret=" if body else b"client_secret="
        await self._app(scope, replaying(body, receive), send)


def _url(value: str) -> AnyHttpUrl:
    """``value`` as the SDK's settings keep URLs: a host-only URL without a trailing slash (RFC 8414
    compares issuers as strings)."""
    return AuthSettings(issuer_url=value, resource_server_url=None).issuer_url


def _metadata_routes(base: str) -> list[Route]:
    """RFC 8414 metadata as the SDK builds it, plus metadata documents and public clients; RFC 9728's."""
    metadata = build_metadata(
        _url(base),
        None,
        ClientRegistrationOptions(enabled=True, valid_scopes=[SCOPE], default_scopes=[SCOPE]),
        RevocationOptions(enabled=True),
    )
    metadata.client_id_metadata_document_supported = True
    metadata.authorization_response_iss_parameter_supported = True
    metadata.token_endpoint_auth_methods_supported = ["none", "client_secret_post", "client_secret_basic"]
    metadata.revocation_endpoint_auth_methods_supported = [
        "none",
        "client_secret_post",
        "client_secret_basic",
    ]
    resource = ProtectedResourceMetadata(
        resource=_url(base + MCP_PATH),
        authorization_servers=[_url(base)],
        scopes_supported=[SCOPE],
        resource_name="Bentley iTwin EDFS (edfs-mcp)",
    )
    prm = cors_middleware(ProtectedResourceMetadataHandler(resource).handle, ["GET", "OPTIONS"])
    return [
        Route(
            AS_METADATA_PATH,
            cors_middleware(MetadataHandler(metadata).handle, ["GET", "OPTIONS"]),
            methods=["GET", "OPTIONS"],
        ),
        Route(PRM_PATH + MCP_PATH, prm, methods=["GET", "OPTIONS"]),
        Route(PRM_PATH, prm, methods=["GET", "OPTIONS"]),
    ]


def build_remote_auth(
    settings: Settings,
    *,
    clock: Clock = time.time,
    store: KeyValueStore | None = None,
    lifetimes: Lifetimes | None = None,
    cimd: CimdFetcher | None = None,
    registrations: RegistrationLimits | None = None,
) -> RemoteAuth:
    """The remote pieces for ``settings`` (``EDFS_MCP_HTTP_AUTH=oauth``, already validated)."""
    from edfs_mcp.backend import open_client

    assert settings.public_url is not None and settings.client_id and settings.client_secret is not None
    base = public_base(str(settings.public_url))
    registrations = registrations or RegistrationLimits(
        per_source=settings.http_registrations_per_source, unused=settings.http_unused_registrations
    )
    sealer = Sealer(settings.oauth_key)
    if store is None and settings.redis_url is not None:
        from edfs_mcp.state.redis_store import RedisStore

        store = RedisStore.from_url(settings.redis_url.get_secret_value().strip())
    durable = store is not None and bool(getattr(store, "durable", False))
    store = store if store is not None else MemoryStore(clock=clock)
    vault = PersonVault(store, sealer)
    authority_host = urlsplit(settings.authority_root).hostname or ""
    bentley = BentleyWebApp(
        authority=settings.authority_root,
        client_id=settings.client_id,
        client_secret=settings.client_secret.get_secret_value(),
        scope=settings.user_scopes,
        redirect_uri=base + CALLBACK_PATH,
        clock=clock,
        timeout=settings.read_timeout,
    )
    provider = EdfsAuthorizationProvider(
        issuer=base,
        resource=base + MCP_PATH,
        store=store,
        sealer=sealer,
        vault=vault,
        # Plain-http loopback documents only against the sandbox (an authority on loopback).
        cimd=cimd or CimdFetcher(allow_loopback=is_loopback(authority_host), scope=SCOPE),
        clock=clock,
        lifetimes=lifetimes,
        registrations=registrations,
    )
    wrappers: dict[str, Callable[[ASGIApp], ASGIApp]] = {
        "/revoke": PublicClientRevocation,
        "/register": RegistrationSource,  # the source it counts registrations by; 429 past the limit
    }
    sdk_routes = [
        Route(route.path, wrappers[route.path](route.app), methods=route.methods)
        if route.path in wrappers
        else route
        for route in create_auth_routes(
            provider,
            _url(base),
            client_registration_options=ClientRegistrationOptions(
                enabled=True, valid_scopes=[SCOPE], default_scopes=[SCOPE]
            ),
            revocation_options=RevocationOptions(enabled=True),
        )
        if route.path != AS_METADATA_PATH
    ]
    bodies = [
        *sdk_routes,
        *ConsentFlow(
            provider=provider, store=store, sealer=sealer, vault=vault, bentley=bentley, public_origin=base
        ).routes(),
    ]
    routes = [
        *_metadata_routes(base),
        *(Route(route.path, BoundedBody(route.app), methods=route.methods) for route in bodies),
    ]
    people = PeopleClients(
        lambda subject: open_client(settings, tokens=PersonTokenSource(subject, vault, bentley, clock))
    )
    # set_up_system's credentials page, for the person who asked only (their sealed person cookie).
    desk = team_desk(
        store=store,
        base=base,
        person_of=lambda request: _cookie_subject(sealer, request.cookies.get(PERSON_COOKIE)),
        client_for=people.get,
        clock=clock,
    )
    routes += [Route(route.path, BoundedBody(route.app), methods=route.methods) for route in desk.routes()]
    return RemoteAuth(
        base=base,
        provider=provider,
        store=store,
        routes=routes,
        people=people,
        durable=durable,
        setup_desk=desk,
    )


def _cookie_subject(sealer: Sealer, raw: str | None) -> str | None:
    opened = sealer.open(raw, f"cookie:{PERSON_COOKIE}") if raw else None
    return opened.decode() if opened is not None else None
