"""Attacks on the authorization server and the protected resource that must fail, through real HTTP.

The server runs in-process under uvicorn on 127.0.0.1 with a clock the test moves, the sandbox is
Bentley over loopback HTTP, and a browser approves the consent page and signs in on the sandbox's
sign-in page.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from edfs_mcp.sandbox import SandboxServer, seed
from edfs_mcp.state.stores import MemoryStore
from tests.remote.harness import (
    CLIENT_REDIRECT,
    Browser,
    InProcess,
    authorize_url,
    code_for,
    exchange,
    in_process,
    mcp_ping,
    pkce,
    register,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def server(sandbox: SandboxServer) -> Iterator[InProcess]:
    with in_process(sandbox) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(timeout=30) as client:
        yield client


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    person = Browser()
    yield person
    await person.aclose()


async def signed_in_tokens(
    http: httpx2.AsyncClient, browser: Browser, base: str
) -> tuple[str, dict[str, str]]:
    client = await register(http, base)
    verifier, challenge = pkce()
    code = await code_for(browser, base, client["client_id"], challenge)
    response = await exchange(http, base, client["client_id"], code, verifier)
    assert response.status_code == 200, response.text
    return client["client_id"], response.json()


async def test_discovery_metadata_and_the_challenge(server: InProcess, http: httpx2.AsyncClient) -> None:
    response = await http.post(server.url, json={})
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert f'resource_metadata="{server.base}/.well-known/oauth-protected-resource/mcp"' in challenge
    assert 'scope="edfs"' in challenge
    for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
        prm = (await http.get(server.base + path)).json()
        assert prm["resource"] == server.url and prm["authorization_servers"] == [server.base]
    metadata = (await http.get(f"{server.base}/.well-known/oauth-authorization-server")).json()
    assert metadata["issuer"] == server.base
    assert metadata["client_id_metadata_document_supported"] is True
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert {"registration_endpoint", "revocation_endpoint"} <= set(metadata)


async def test_a_bentley_token_is_refused_here_and_ours_is_refused_by_edfs(
    server: InProcess, sandbox: SandboxServer, http: httpx2.AsyncClient, browser: Browser
) -> None:
    _, tokens = await signed_in_tokens(http, browser, server.base)
    assert (await mcp_ping(http, server.url, tokens["access_token"])).status_code == 200
    bentley = (
        await http.post(
            f"{sandbox.base_url}/connect/token",
            data={
                "grant_type": "client_credentials",
                "client_id": seed.CLIENT_ADMIN_ID,
                "client_secret": seed.CLIENT_ADMIN_SECRET,
                "scope": "itwin-platform",
            },
        )
    ).json()["access_token"]
    assert (await mcp_ping(http, server.url, bentley)).status_code == 401
    # Our token is worth nothing to the EDFS API itself.
    edfs = await http.get(
        f"{sandbox.base_url}/edfs/packages", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert edfs.status_code == 401
    assert "eyJ" not in str(tokens)  # nothing of Bentley's (its tokens are JWTs) was handed to the client


async def test_wrong_audience(sandbox: SandboxServer, http: httpx2.AsyncClient, browser: Browser) -> None:
    shared = MemoryStore()  # two deployments sharing one store (and key), at different URLs
    with in_process(sandbox, store=shared) as first, in_process(sandbox, store=shared) as second:
        _, tokens = await signed_in_tokens(http, browser, first.base)
        assert (await mcp_ping(http, first.url, tokens["access_token"])).status_code == 200
        refused = await mcp_ping(http, second.url, tokens["access_token"])
        assert refused.status_code == 401, refused.text
        # Asking for a token for another resource is refused at /authorize (RFC 8707 invalid_target).
        client = await register(http, first.base)
        _, challenge = pkce()
        url = authorize_url(
            first.base, client["client_id"], challenge, resource="https://elsewhere.example/mcp"
        )
        response = await http.get(url)
        assert response.status_code == 302
        assert parse_qs(urlsplit(response.headers["location"]).query)["error"] == ["invalid_target"]


async def test_expired_token_and_expired_code(
    server: InProcess, http: httpx2.AsyncClient, browser: Browser
) -> None:
    client_id, tokens = await signed_in_tokens(http, browser, server.base)
    server.clock.advance(3601)
    response = await mcp_ping(http, server.url, tokens["access_token"])
    assert response.status_code == 401 and 'error="invalid_token"' in response.headers["www-authenticate"]
    # A code not redeemed within its two minutes is dead.
    verifier, challenge = pkce()
    code = await code_for(browser, server.base, client_id, challenge)
    server.clock.advance(121)
    late = await exchange(http, server.base, client_id, code, verifier)
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"


async def test_replayed_code_fails_and_revokes_what_it_gave(
    server: InProcess, http: httpx2.AsyncClient, browser: Browser
) -> None:
    client = await register(http, server.base)
    verifier, challenge = pkce()
    code = await code_for(browser, server.base, client["client_id"], challenge)
    first = await exchange(http, server.base, client["client_id"], code, verifier)
    assert first.status_code == 200
    replay = await exchange(http, server.base, client["client_id"], code, verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert (await mcp_ping(http, server.url, first.json()["access_token"])).status_code == 401


async def test_refresh_tokens_rotate_and_a_reused_one_revokes_the_family(
    server: InProcess, http: httpx2.AsyncClient, browser: Browser
) -> None:
    client_id, tokens = await signed_in_tokens(http, browser, server.base)
    form = {"grant_type": "refresh_token", "client_id": client_id, "refresh_token": tokens["refresh_token"]}
    rotated = await http.post(f"{server.base}/token", data=form)
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    assert (await mcp_ping(http, server.url, new["access_token"])).status_code == 200
    reused = await http.post(f"{server.base}/token", data=form)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert (await mcp_ping(http, server.url, new["access_token"])).status_code == 401


async def test_mismatched_redirect_uri(server: InProcess, http: httpx2.AsyncClient, browser: Browser) -> None:
    client = await register(http, server.base)
    _, challenge = pkce()
    # Not registered: an error page, never a redirect to it.
    response = await http.get(
        authorize_url(server.base, client["client_id"], challenge, redirect_uri="http://127.0.0.1:5173/evil")
    )
    assert response.status_code == 400 and "location" not in response.headers
    # Registered at /authorize, another one at /token.
    verifier, challenge = pkce()
    code = await code_for(browser, server.base, client["client_id"], challenge)
    wrong = await exchange(
        http, server.base, client["client_id"], code, verifier, redirect="http://127.0.0.1:5173/x"
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_request"
    # Only https, loopback http or a native scheme may be registered at all.
    bad = await http.post(
        f"{server.base}/register",
        json={"redirect_uris": ["http://attacker.example/cb"], "token_endpoint_auth_method": "none"},
    )
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_redirect_uri"


async def test_pkce_is_required(server: InProcess, http: httpx2.AsyncClient, browser: Browser) -> None:
    client = await register(http, server.base)
    response = await http.get(authorize_url(server.base, client["client_id"], None))
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["location"]).query)["error"] == ["invalid_request"]
    verifier, challenge = pkce()
    code = await code_for(browser, server.base, client["client_id"], challenge)
    missing = await exchange(http, server.base, client["client_id"], code, None)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    wrong = await exchange(http, server.base, client["client_id"], code, pkce()[0])
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    # The failed attempts did not burn the code for its rightful holder... but a code is single use:
    assert (await exchange(http, server.base, client["client_id"], code, verifier)).status_code == 200


async def test_consent_cannot_be_skipped(
    server: InProcess, sandbox: SandboxServer, http: httpx2.AsyncClient, browser: Browser
) -> None:
    client = await register(http, server.base, name="Evil client")
    _, challenge = pkce()
    page = await browser.http.get(authorize_url(server.base, client["client_id"], challenge))
    assert page.status_code == 302
    consent = await browser.http.get(page.headers["location"])
    assert "Evil client" in consent.text and CLIENT_REDIRECT in consent.text
    request_id = parse_qs(urlsplit(page.headers["location"]).query)["request"][0]
    # Another browser (no cookie of this page) cannot approve it...
    other = await http.post(f"{server.base}/consent", data={"request": request_id, "action": "approve"})
    assert other.status_code == 403
    # ...nor can another site make this browser approve it.
    cross = await browser.http.post(
        f"{server.base}/consent",
        data={"request": request_id, "action": "approve"},
        headers={"Origin": "https://attacker.example"},
    )
    assert cross.status_code == 403
    # A browser that names the sender in Sec-Fetch-Site: only our own page may post (a page on
    # another port of the same host is "same-site", not ours), and an opaque origin is refused.
    for sender in ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}, {"Origin": "null"}):
        sent = await browser.http.post(
            f"{server.base}/consent", data={"request": request_id, "action": "approve"}, headers=sender
        )
        assert sent.status_code == 403, sender
    # Going to the callback without an approval: there is no sign-in to finish.
    forged = await browser.http.get(f"{server.base}/auth/callback", params={"state": "guess", "code": "x"})
    assert forged.status_code == 400
    # Denying sends the client an error, and no code.
    denying = Browser(approve_consent=False)
    try:
        reached = await denying.go(authorize_url(server.base, client["client_id"], challenge))
    finally:
        await denying.aclose()
    query = parse_qs(urlsplit(reached).query)
    assert query["error"] == ["access_denied"] and "code" not in query
    # The Bentley sign-in finished in another browser than the one that approved is refused.
    approving = Browser()
    try:
        start = await approving.http.get(authorize_url(server.base, client["client_id"], challenge))
        shown = await approving.http.get(start.headers["location"])
        from tests.remote.harness import form_fields

        to_bentley = await approving.http.post(
            f"{server.base}/consent", data={**form_fields(shown.text), "action": "approve"}
        )
        assert to_bentley.status_code == 302 and to_bentley.headers["location"].startswith(sandbox.base_url)
        sandbox.state.auto_approve = True
        signed = await http.get(to_bentley.headers["location"])  # another browser signs in at Bentley
        callback = await http.get(signed.headers["location"])
        assert callback.status_code == 403
    finally:
        await approving.aclose()


async def test_a_metadata_document_at_a_private_address_is_never_fetched(
    server: InProcess, http: httpx2.AsyncClient
) -> None:
    _, challenge = pkce()
    for client_id in (
        "https://10.1.2.3/client.json",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00::1]/client.json",
        "http://127.0.0.1:9/client.json",  # loopback http is for the sandbox; this server's Bentley is it,
        "http://example.com/client.json",  # but plain http elsewhere never
        "https://192.168.0.1/client.json",
    ):
        response = await http.get(authorize_url(server.base, client_id, challenge))
        if client_id.startswith("http://127.0.0.1"):
            # Allowed in principle against the sandbox, but nothing listens there: refused all the same.
            assert response.status_code == 400, client_id
            continue
        assert response.status_code == 400, client_id
        assert "location" not in response.headers


async def test_revocation_ends_the_tokens(
    server: InProcess, http: httpx2.AsyncClient, browser: Browser
) -> None:
    client_id, tokens = await signed_in_tokens(http, browser, server.base)
    revoked = await http.post(
        f"{server.base}/revoke", data={"token": tokens["access_token"], "client_id": client_id}
    )
    assert revoked.status_code == 200
    assert (await mcp_ping(http, server.url, tokens["access_token"])).status_code == 401
    refresh = await http.post(
        f"{server.base}/token",
        data={
            "grant_type": "refresh_token",
            "client_id": client_id,
            "refresh_token": tokens["refresh_token"],
        },
    )
    assert refresh.status_code == 400  # its refresh token went with it


async def test_auto_approve_at_bentley_still_needs_our_consent(
    server: InProcess, sandbox: SandboxServer, http: httpx2.AsyncClient
) -> None:
    sandbox.state.auto_approve = True  # `edfs-mcp sandbox --as web --auto-approve`
    client = await register(http, server.base)
    _, challenge = pkce()
    refusing = Browser(approve_consent=False)
    try:
        reached = await refusing.go(authorize_url(server.base, client["client_id"], challenge))
    finally:
        await refusing.aclose()
    assert refusing.consent_pages == 1
    assert parse_qs(urlsplit(reached).query)["error"] == ["access_denied"]
    assert not any(url.startswith(sandbox.base_url) for url in refusing.seen)  # Bentley never asked


async def test_another_person_cannot_ride_a_session(server: InProcess, http: httpx2.AsyncClient) -> None:
    admin, viewer = Browser(seed.USER_ADMIN), Browser(seed.USER_VIEWER)
    try:
        _, admin_tokens = await signed_in_tokens(http, admin, server.base)
        _, viewer_tokens = await signed_in_tokens(http, viewer, server.base)
    finally:
        await admin.aclose()
        await viewer.aclose()
    opened = await mcp_ping(http, server.url, admin_tokens["access_token"])
    assert opened.status_code == 200
    session = opened.headers["mcp-session-id"]
    headers = {
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "mcp-session-id": session,
        "mcp-protocol-version": "2025-11-25",
    }
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    own = await http.post(
        server.url,
        json=listing,
        headers={**headers, "Authorization": f"Bearer {admin_tokens['access_token']}"},
    )
    assert own.status_code == 200
    ridden = await http.post(
        server.url,
        json=listing,
        headers={**headers, "Authorization": f"Bearer {viewer_tokens['access_token']}"},
    )
    assert ridden.status_code in (403, 404), ridden.text


@pytest.mark.parametrize("path", ["/consent", "/register", "/token", "/revoke"])
async def test_a_body_over_64_kib_is_refused_unparsed(
    server: InProcess, http: httpx2.AsyncClient, path: str
) -> None:
    """The 999 x 1000 KB consent form, in small (~1 MB, chunked): no endpoint reads past 64 KiB."""
    data = "&".join(f"f{n}=" + "x" * 1000 for n in range(999)).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 16 * 1024):
            yield data[start : start + 16 * 1024]

    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = await http.post(f"{server.base}{path}", content=chunks(), headers=headers)
    assert response.status_code == 413 and "at most 64 KiB" in response.text
    # A small body still reaches the endpoint (its own answer, not the size refusal).
    small = await http.post(f"{server.base}{path}", content=b"a=1", headers=headers)
    assert small.status_code != 413


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ({"client_name": "n" * 513}, "client_name may have at most 512 characters"),
        (
            {"redirect_uris": [f"http://127.0.0.1:{5000 + n}/cb" for n in range(11)]},
            "at most 10 redirect_uris",
        ),
        ({"redirect_uris": ["https://client.example/" + "p" * 2100]}, "at most 2048 characters"),
        ({"contacts": ["c" * 400 + f"{n}@x.example" for n in range(25)]}, "at most 8 KiB of metadata"),
    ],
)
async def test_a_registration_too_large_to_keep_is_refused(
    server: InProcess, http: httpx2.AsyncClient, extra: dict[str, object], problem: str
) -> None:
    metadata = {
        "client_name": "Big client",
        "redirect_uris": [CLIENT_REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        **extra,
    }
    response = await http.post(f"{server.base}/register", json=metadata)
    assert response.status_code == 400, response.text
    assert (
        response.json()["error"] == "invalid_client_metadata"
        and problem in response.json()["error_description"]
    )


async def test_a_record_rewritten_in_the_store_is_refused(
    sandbox: SandboxServer, http: httpx2.AsyncClient, browser: Browser, caplog: pytest.LogCaptureFixture
) -> None:
    """Write access to the store (Redis) is not access to everyone: a token record whose subject is
    rewritten (in the clear, as it was once kept) no longer opens, and the token stops working."""
    store = MemoryStore()
    with in_process(sandbox, store=store) as running:
        _, tokens = await signed_in_tokens(http, browser, running.base)
        assert (await mcp_ping(http, running.url, tokens["access_token"])).status_code == 200
        access_keys = [key for key in store._values if key.startswith("access:")]
        assert access_keys
        for key in access_keys:
            sealed, _ = store._values[key]
            assert isinstance(sealed, str) and seed.IDENTITY_ADMIN not in sealed  # nothing in the clear
            forged = {
                "client_id": "x",
                "subject": seed.IDENTITY_HARBOR_ADMIN,
                "name": "Hana",
                "scopes": ["edfs"],
            }
            await store.put(
                key, json.dumps({**forged, "expires_at": 1e12, "family": "f", "resource": running.url}), 3600
            )
        refused = await mcp_ping(http, running.url, tokens["access_token"])
    assert refused.status_code == 401
    assert "refused a stored access record this server did not seal" in caplog.text


async def test_a_registration_nobody_signs_in_with_is_forgotten_after_a_day(
    server: InProcess, http: httpx2.AsyncClient, browser: Browser
) -> None:
    unused = await register(http, server.base, name="Never used")
    used_id, _ = await signed_in_tokens(http, browser, server.base)
    server.clock.advance(25 * 3600)
    assert await server.remote.provider.get_client(unused["client_id"]) is None
    assert await server.remote.provider.get_client(used_id) is not None  # kept 90 days from its tokens
