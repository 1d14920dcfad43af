"""`edfs-mcp login | logout | status`: words and exit codes around auth/login.py.

Exit codes: 0 done (status: signed in); 1 failed (status: not signed in); 2 configuration.
"""

from __future__ import annotations

import argparse
import sys

import anyio

from edfs_mcp.auth.login import SignInSetup, login, logout, status
from edfs_mcp.auth.prompts import TerminalPresenter
from edfs_mcp.config import Settings
from edfs_mcp.errors import AuthError

__all__ = ["run_auth_command"]


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    if seconds <= 0:
        return "expired"
    minutes = int(seconds // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def run_auth_command(command: str, args: argparse.Namespace, settings: Settings) -> int:
    setup = SignInSetup.from_settings(settings)
    if command == "login":
        presenter = TerminalPresenter(open_browser=not args.no_browser)
        try:
            tokens = anyio.run(login, setup, presenter, args.flow or settings.sign_in_flow)
        except AuthError as exc:
            _say(f"edfs-mcp: sign-in failed: {exc}")
            return 1
        who = f" as {tokens.name}" if tokens.name else ""
        _say(f"Signed in{who} ({tokens.flow} flow). Token saved in {setup.store.location}.")
        if tokens.refresh_token is None:
            _say(
                "No refresh token was issued (scope offline_access missing?): "
                "you will sign in again in an hour."
            )
        return 0
    if command == "logout":
        had, revoked = anyio.run(logout, setup)
        if not had:
            _say(f"Not signed in; nothing to forget ({setup.store.location}).")
        else:
            _say(
                f"Signed out: token deleted from {setup.store.location}"
                + ("; refresh token revoked." if revoked else ".")
            )
        return 0
    state = anyio.run(status, setup)
    if not state.signed_in:
        why = f" ({state.problem})" if state.problem else ""
        _say(f"Not signed in{why}. Run `edfs-mcp login`. Tokens are kept in {state.location}.")
        return 1
    who = state.name or "unknown user"
    expiry = _duration(state.expires_in or 0)
    renew = "renewed automatically" if state.refreshable else "not renewable; sign in again when it expires"
    _say(f"Signed in as {who} via the {state.flow} flow (client id {setup.client_id}).")
    _say(f"Access token: {expiry} left, {renew}. Stored in {state.location}.")
    return 0
