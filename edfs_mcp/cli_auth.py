"""`edfs-mcp login | logout | status`: words and exit codes around auth/login.py, for every mode.

The mode is the server's credential source (config.CredentialSource):

- sandbox: nothing to sign in to; `status` says so, `login` says how to reach Bentley instead.
- static token (EDFS_MCP_ACCESS_TOKEN): used as given; `status` reads its expiry when it is a JWT.
- service app (client id + secret): it signs itself in; `status` and `login` check the credentials
  with the authority and store nothing.
- person (client id alone): `login` signs in, `status` reads the stored sign-in, `logout` forgets it.

Exit codes: 0 done (status: usable); 1 failed (status: not usable); 2 configuration (login: this
configuration has no person to sign in). Nothing here prints a token.
"""

from __future__ import annotations

import argparse
import time

import anyio

from edfs_mcp.config import CredentialSource, Settings
from edfs_mcp.errors import AuthError
from edfs_mcp.logs import say

__all__ = ["run_auth_command"]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
PERSON_HOW_TO = (
    "To sign in to Bentley as a person, set EDFS_MCP_CLIENT_ID to the client id of a Desktop/Mobile "
    "app (scope itwin-platform) and run `edfs-mcp login`."
)


def _duration(seconds: float) -> str:
    if seconds <= 0:
        return "expired"
    minutes = int(seconds // 60)
    if minutes >= 48 * 60:
        return f"{minutes // (24 * 60)} days"
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def run_auth_command(command: str, args: argparse.Namespace, settings: Settings) -> int:
    source = settings.credential_source()
    if source is CredentialSource.USER:
        return _person(command, args, settings)
    if source is CredentialSource.SANDBOX:
        return _sandbox(command, settings)
    if source is CredentialSource.ACCESS_TOKEN:
        return _static_token(command, settings)
    if source is CredentialSource.PEOPLE:
        return _people(command, settings)
    return _service_app(command, settings)


# --- people signing in to a remote server (EDFS_MCP_HTTP_AUTH=oauth) -----------------------------


def _people(command: str, settings: Settings) -> int:
    """login, logout, status with EDFS_MCP_HTTP_AUTH=oauth: people sign in from their MCP clients."""
    from edfs_mcp.remote import CALLBACK_PATH, public_base

    base = public_base(str(settings.public_url))
    say(
        f"edfs-mcp: EDFS_MCP_HTTP_AUTH=oauth: each person signs in with their Bentley account from their MCP "
        f"client at {base}/mcp (web app {settings.client_id}, callback {base}{CALLBACK_PATH}); "
        + {
            "login": "there is nothing to sign in to here.",
            "logout": "nothing is stored here: sign-ins live in the server's memory until it stops.",
            "status": "sign-ins live in the running server's memory.",
        }[command]
    )
    return EXIT_USAGE if command == "login" else EXIT_OK


# --- the sandbox ---------------------------------------------------------------------------------


def _sandbox(command: str, settings: Settings) -> int:
    from edfs_mcp.sandbox import seed

    why = "the sandbox was asked for" if settings.sandbox else "no credentials are configured"
    if command == "status":
        say(
            f"Sandbox: {why}, so edfs-mcp serve uses the built-in EDFS sandbox (demo data) as its "
            f"Org Admin service client {seed.CLIENT_ADMIN_ID}. No sign-in is needed."
        )
        return EXIT_OK
    if command == "logout":
        say(f"Sandbox: {why}; there is no sign-in to forget.")
        return EXIT_OK
    say(f"Nothing to sign in to: {why}, and the built-in sandbox needs no sign-in. {PERSON_HOW_TO}")
    return EXIT_USAGE


# --- a static access token -----------------------------------------------------------------------


def _static_token(command: str, settings: Settings) -> int:
    if command == "login":
        say(
            "Nothing to sign in to: EDFS_MCP_ACCESS_TOKEN is set, and edfs-mcp uses it as given "
            f"(it takes precedence). Unset it first. {PERSON_HOW_TO}"
        )
        return EXIT_USAGE
    if command == "logout":
        say(
            "Static access token (EDFS_MCP_ACCESS_TOKEN): nothing is stored; "
            "unset the variable to stop using it."
        )
        return EXIT_OK
    assert settings.access_token is not None
    from edfs_mcp.auth.oauth import jwt_claims

    claims = jwt_claims(settings.access_token.get_secret_value())
    who = (
        claims.get("name")
        or claims.get("email")
        or claims.get("preferred_username")
        or claims.get("client_id")
    )
    line = "Static access token (EDFS_MCP_ACCESS_TOKEN)" + (f" for {who}" if isinstance(who, str) else "")
    expires = claims.get("exp")
    if not isinstance(expires, int | float):
        say(f"{line}: its expiry cannot be read (not a JWT); it is never renewed.")
        return EXIT_OK
    left = expires - time.time()
    if left <= 0:
        say(f"{line}: expired {_duration(-left)} ago. Get a new token or configure an app instead.")
        return EXIT_FAILURE
    say(f"{line}: {_duration(left)} left; never renewed, so replace it before it expires.")
    return EXIT_OK


# --- a service app (client credentials) ----------------------------------------------------------


async def _service_token_lifetime(settings: Settings) -> float:
    from edfs_mcp.backend import service_token_source

    source = service_token_source(settings)
    try:
        await source.get_token()
        return source.expires_at - time.time()
    finally:
        await source.aclose()


def _service_app(command: str, settings: Settings) -> int:
    app = f"Service app {settings.client_id}"
    if command == "logout":
        say(f"{app}: it signs itself in with its client secret; nothing is stored to forget.")
        return EXIT_OK
    if command == "login":
        say(
            f"{app}: EDFS_MCP_CLIENT_SECRET is set, so edfs-mcp signs in as this app by itself; there "
            "is no person to sign in (unset EDFS_MCP_CLIENT_SECRET to sign in as one). "
            "Checking the credentials..."
        )
    try:
        lifetime = anyio.run(_service_token_lifetime, settings)
    except AuthError as exc:
        say(f"{app}: {exc}")
        return EXIT_FAILURE
    say(
        f"{app}: {settings.authority_root} accepted its credentials (a token lasts {_duration(lifetime)}; "
        "the server renews it by itself). Nothing is stored."
    )
    return EXIT_OK


# --- a person ------------------------------------------------------------------------------------


def _person(command: str, args: argparse.Namespace, settings: Settings) -> int:
    from edfs_mcp.auth.login import SignInSetup, login, logout, status
    from edfs_mcp.auth.prompts import TerminalPresenter

    setup = SignInSetup.from_settings(settings)
    if command == "login":
        presenter = TerminalPresenter(open_browser=settings.graphical_session and not args.no_browser)
        try:
            tokens = anyio.run(login, setup, presenter, settings.sign_in_flow)
        except AuthError as exc:
            say(f"edfs-mcp: sign-in failed: {exc}")
            return EXIT_FAILURE
        who = f" as {tokens.name}" if tokens.name else ""
        say(f"Signed in{who} ({tokens.flow} flow). Token saved in {setup.store.location}.")
        if tokens.refresh_token is None:
            say(
                "No refresh token was issued (scope offline_access missing?): "
                "you will sign in again in an hour."
            )
        return EXIT_OK
    if command == "logout":
        had, revoked = anyio.run(logout, setup)
        if not had:
            say(f"Not signed in; nothing to forget ({setup.store.location}).")
        else:
            say(
                f"Signed out: token deleted from {setup.store.location}"
                + ("; refresh token revoked." if revoked else ".")
            )
        return EXIT_OK
    state = anyio.run(status, setup)
    if not state.signed_in:
        why = f" ({state.problem})" if state.problem else ""
        say(f"Not signed in{why}. Run `edfs-mcp login`. Tokens are kept in {state.location}.")
        return EXIT_FAILURE
    who = state.name or "unknown user"
    expiry = _duration(state.expires_in or 0)
    renew = "renewed automatically" if state.refreshable else "not renewable; sign in again when it expires"
    say(f"Signed in as {who} via the {state.flow} flow (client id {setup.client_id}).")
    say(f"Access token: {expiry} left, {renew}. Stored in {state.location}.")
    return EXIT_OK
