"""Run the sandbox under uvicorn in a background thread (tests, ``edfs-mcp sandbox``)."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from types import TracebackType
from typing import TYPE_CHECKING

from edfs_mcp.listening import listening_socket

from . import seed
from .app import build_app
from .state import SandboxState

if TYPE_CHECKING:
    import uvicorn


class SandboxServer:
    """The sandbox on a real socket. ``port=0`` picks a free port; ``base_url`` has the real one.

    ``auto_approve=True`` (``edfs-mcp sandbox --auto-approve``) approves every device code and
    authorization request as ``seed.AUTO_APPROVE_USER`` without a person: the state's
    ``auto_approve`` and ``auto_approve_default`` are switched on, so ``reset()`` keeps it on.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        state: SandboxState | None = None,
        *,
        auto_approve: bool = False,
        web_redirect_uris: tuple[str, ...] = (),
    ) -> None:
        self.host = host
        self.port = port
        self.state = SandboxState() if state is None else state
        if auto_approve:
            self.state.auto_approve = self.state.auto_approve_default = True
        for uri in web_redirect_uris:
            self.accept_web_redirect(uri)
        self.app = build_app(self.state)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def accept_web_redirect(self, uri: str) -> None:
        """Register ``uri`` as a redirect URI of the confidential web app ``seed.WEB_CLIENT_ID``
        (``edfs-mcp sandbox --as web``: the callback of a server people sign in to)."""
        with self.state.lock:
            web = self.state.clients[seed.WEB_CLIENT_ID]
            if uri not in web.redirect_uris:
                self.state.clients[seed.WEB_CLIENT_ID] = replace(web, redirect_uris=(*web.redirect_uris, uri))

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 10.0) -> SandboxServer:
        """Start serving and return once the socket listens; CannotListen when ``host:port`` cannot be
        had (a port in use)."""
        import uvicorn  # imported here so importing the sandbox stays light

        if self._thread is not None:
            raise RuntimeError("the sandbox server is already running")
        listener = listening_socket(self.host, self.port)
        self.port = int(listener.getsockname()[1])
        # log_config=None leaves the process's logging alone; warnings only, and no access log
        # (request lines would carry query strings into logs).
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            proxy_headers=False,
            server_header=False,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [listener]}, name="edfs-mcp-sandbox", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                listener.close()
                raise RuntimeError(f"the sandbox server did not start on {self.host}:{self.port}")
            time.sleep(0.005)
        self._server, self._thread = server, thread
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the thread to end."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self._server = self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
