"""How a sign-in is shown to a person in a terminal (stderr; stdout may be a pipe)."""

from __future__ import annotations

import sys
import webbrowser
from typing import TextIO

from edfs_mcp.auth.device_flow import DeviceAuthorization

__all__ = ["TerminalPresenter"]


class TerminalPresenter:
    """``open_browser``: try a browser (the CLI passes Settings.graphical_session, unless --no-browser)."""

    def __init__(self, *, open_browser: bool = True, stream: TextIO | None = None) -> None:
        self._open_browser = open_browser
        self._stream = stream or sys.stderr

    def _say(self, text: str) -> None:
        print(text, file=self._stream, flush=True)

    def _open(self, url: str) -> bool:
        if not self._open_browser:
            return False
        try:
            return webbrowser.open(url)
        except webbrowser.Error:
            return False

    def device_code(self, authorization: DeviceAuthorization) -> None:
        # Always show the code, even when the complete URI carries it: the person must compare them.
        self._say(f"To sign in, open {authorization.verification_uri}")
        self._say(f"and enter the code: {authorization.user_code}")
        opened = self._open(authorization.verification_uri_complete or authorization.verification_uri)
        if opened:
            self._say("(A browser window was opened for you; check that it shows the same code.)")
        self._say("Waiting for you to approve the sign-in...")

    def browser_url(self, url: str) -> None:
        if self._open(url):
            self._say("A browser window was opened to sign in. If it did not appear, open this address:")
        else:
            self._say("Open this address in a browser to sign in:")
        self._say(url)

    def notice(self, text: str) -> None:
        self._say(text)
