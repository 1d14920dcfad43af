"""edfs-mcp command line: argument parsing, stderr, exit codes. No logic of its own.

Exit codes (the README's Troubleshooting lists them per command): 0 ok, 1 failure, 2 bad usage or
configuration or an address that cannot be listened on, 130 interrupted (Ctrl-C); uvicorn's 3 when
the HTTP app fails to start.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import stat
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import NoReturn

from edfs_mcp._version import __version__
from edfs_mcp.config import CredentialSource, Settings, env_name, load_settings, requested_log_format
from edfs_mcp.errors import ConfigError
from edfs_mcp.listening import CannotListen
from edfs_mcp.logs import configure_logging, say

__all__ = ["main"]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
SERVE_URL = "http://127.0.0.1:8000"  # where `serve --transport streamable-http` listens by default


def _names(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


class _Parser(argparse.ArgumentParser):
    """argparse, its usage errors written as log lines (JSON with EDFS_MCP_LOG_FORMAT=json): the same
    words and exit code in text."""

    def error(self, message: str) -> NoReturn:
        say(f"{self.format_usage().rstrip()}\n{self.prog}: error: {message}", logging.ERROR)
        raise SystemExit(EXIT_USAGE)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="edfs-mcp", description="MCP server for Bentley iTwin EDFS (Enterprise Data Federation Service)."
    )
    parser.add_argument("--version", action="version", version=f"edfs-mcp {__version__}")
    commands = parser.add_subparsers(dest="command")

    serve = commands.add_parser("serve", help="run the MCP server (the default command)")
    serve.add_argument("--sandbox", action="store_true", help="use the embedded sandbox (demo data)")
    serve.add_argument("--transport", choices=["stdio", "streamable-http"], default="stdio")
    serve.add_argument("--host", default="127.0.0.1", help="streamable-http: address to bind")
    serve.add_argument("--port", type=int, default=8000, help="streamable-http: port")
    serve.add_argument("--read-only", action="store_true", help="serve only read-only tools")
    serve.add_argument("--tools", type=_names, default=[], help="comma-separated tool names to serve")
    serve.add_argument("--exclude-tools", type=_names, default=[], help="comma-separated tool names to hide")

    login = commands.add_parser("login", help="sign in to Bentley as a person (saves a refreshable token)")
    login.add_argument("--flow", choices=["auto", "device", "browser"], default=None)
    login.add_argument(
        "--no-browser", action="store_true", help="only print the address, never open a browser"
    )
    commands.add_parser("logout", help="revoke and forget the saved sign-in")
    commands.add_parser("status", help="who is signed in, how, until when, and where the token is kept")

    sandbox = commands.add_parser("sandbox", help="serve the EDFS sandbox alone over HTTP")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8765)
    sandbox.add_argument(
        "--as",
        dest="identity",
        choices=["service", "person", "web"],
        default="service",
        help="export a service client (works at once), the public client (then run `edfs-mcp login`) or "
        "the confidential web app for a server people sign in to (EDFS_MCP_HTTP_AUTH=oauth)",
    )
    sandbox.add_argument(
        "--public-url",
        help=f"--as web only: the URL MCP clients will use for `edfs-mcp serve` (its callback is accepted; "
        f"default {SERVE_URL})",
    )
    sandbox.add_argument("--auto-approve", action="store_true", help="approve sign-ins as avery, unattended")
    return parser


def _sandbox_banner(settings: Settings) -> str:
    if settings.sandbox:
        why = "the sandbox was asked for (--sandbox or EDFS_MCP_SANDBOX)"
        ignored = [env_name(name) for name in settings.credentials_given + settings.service_given]
        if ignored:
            why += f"; {', '.join(ignored)} {'is' if len(ignored) == 1 else 'are'} ignored"
    else:
        why = "no credentials are configured"
    return (
        f"edfs-mcp {__version__}: {why}, so this server uses the built-in EDFS SANDBOX "
        "(demo data, no Bentley account). Set EDFS_MCP_CLIENT_ID and EDFS_MCP_CLIENT_SECRET "
        "(or EDFS_MCP_ACCESS_TOKEN) to use Bentley's service."
    )


def _stop_now(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C on stdio: stop at once.

    stdin is read by a worker thread that only a line or end-of-file wakes, so the usual
    KeyboardInterrupt would wait for Enter. Exiting here loses nothing that matters: the token
    store writes by atomic rename, and a request already sent is the service's to finish either
    way. (MCP clients normally stop a server by closing stdin, which ends it cleanly.)
    """
    with contextlib.suppress(Exception):
        say("edfs-mcp: interrupted; stopped.")
    os._exit(EXIT_INTERRUPTED)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    source = settings.credential_source()
    remote = None
    if source is CredentialSource.PEOPLE:
        if args.transport != "streamable-http":
            raise ConfigError(
                "EDFS_MCP_HTTP_AUTH=oauth is for a server people reach by URL: "
                "add --transport streamable-http"
            )
        from edfs_mcp.remote import build_remote_auth

        remote = build_remote_auth(settings)
    if source is CredentialSource.SANDBOX:
        say(_sandbox_banner(settings), logging.WARNING)
    else:
        say(f"edfs-mcp {__version__}: EDFS at {settings.api_root}, {source.value}.")
    if remote is not None:
        say(f"edfs-mcp: {remote.startup_note()}.")
    from edfs_mcp.server import build_server

    try:
        server = build_server(
            settings,
            read_only=settings.read_only,
            include=args.tools,
            exclude=args.exclude_tools,
            client_for=remote.client_for if remote is not None else None,
            setup_desk=remote.setup_desk if remote is not None else None,
        )
    except ValueError as exc:
        say(f"edfs-mcp: {exc}", logging.ERROR)
        return EXIT_USAGE
    if args.transport == "stdio":
        signal.signal(signal.SIGINT, _stop_now)  # before the notice that invites Ctrl-C
        if sys.stdin is not None and sys.stdin.isatty():
            say(
                "edfs-mcp: waiting for an MCP client on stdin. This command is meant to be started by "
                "one (Claude Desktop, VS Code, Cursor, the MCP Inspector...): see `Connect a client` in "
                "the README. Press Ctrl-C to stop."
            )
        import anyio

        from edfs_mcp.stdio import serve_stdio

        anyio.run(serve_stdio, server)
        return EXIT_OK
    from edfs_mcp.http_transport import HttpLimits, serve_http

    bearer = settings.http_bearer.get_secret_value() if settings.http_bearer else None
    extra = [h.strip() for h in settings.http_allowed_hosts.split(",") if h.strip()]
    limits = HttpLimits(
        max_sessions=settings.http_max_sessions,
        session_idle_seconds=settings.http_session_idle_seconds,
        max_connections=settings.http_max_connections,
        request_read_seconds=settings.http_request_read_seconds,
        drain_seconds=settings.http_drain_seconds,
        stateless=settings.redis_url is not None,  # shared state: any replica answers any request
    )
    serve_http(
        server,
        host=args.host,
        port=args.port,
        bearer=bearer,
        extra_hosts=extra,
        log_level=settings.log_level,
        limits=limits,
        remote=remote,
    )
    return EXIT_OK


def _sandbox(args: argparse.Namespace, stop: threading.Event) -> int:
    from edfs_mcp.sandbox import SandboxServer

    if args.public_url is not None and args.identity != "web":
        say(
            "edfs-mcp sandbox: --public-url is only for --as web (the address of the `edfs-mcp serve` "
            "people sign in to): add --as web, or leave --public-url out",
            logging.ERROR,
        )
        return EXIT_USAGE
    public_url = args.public_url or SERVE_URL
    callback = None
    if args.identity == "web":
        from pydantic import HttpUrl, ValidationError

        from edfs_mcp.remote import CALLBACK_PATH, public_base

        try:
            public = public_base(str(HttpUrl(public_url)))
        except ValidationError:
            raise ConfigError(f"--public-url {public_url!r} is not an http(s) URL") from None
        callback = public + CALLBACK_PATH
    # Ctrl-C is how the sandbox stops once it serves: a normal end, exit 0.
    with (
        SandboxServer(
            host=args.host,
            port=args.port,
            auto_approve=args.auto_approve,
            web_redirect_uris=(callback,) if callback else (),
        ) as running,
        contextlib.suppress(KeyboardInterrupt),
    ):
        # stdout carries only the export lines, so `eval "$(edfs-mcp sandbox)"`-style use works.
        print("\n".join(sandbox_exports(running.base_url, args.identity, public_url)), flush=True)
        say(sandbox_guide(running.base_url, args.identity, args.auto_approve, _where_stdout_went()))
        stop.wait()
    return EXIT_OK


def sandbox_exports(base: str, identity: str, public_url: str) -> list[str]:
    """The shell lines that point `edfs-mcp serve` at the sandbox at ``base`` as ``identity``."""
    from edfs_mcp.sandbox import seed

    lines = [f"export EDFS_MCP_API_BASE={base}", f"export EDFS_MCP_AUTHORITY={base}"]
    if identity == "service":
        return [
            *lines,
            f"export EDFS_MCP_CLIENT_ID={seed.CLIENT_ADMIN_ID}",
            f"export EDFS_MCP_CLIENT_SECRET={seed.CLIENT_ADMIN_SECRET}",
        ]
    if identity == "web":
        import secrets

        return [
            *lines,
            f"export EDFS_MCP_CLIENT_ID={seed.WEB_CLIENT_ID}",
            f"export EDFS_MCP_CLIENT_SECRET={seed.WEB_CLIENT_SECRET}",
            "export EDFS_MCP_HTTP_AUTH=oauth",
            f"export EDFS_MCP_PUBLIC_URL={public_url.rstrip('/')}",
            f"export EDFS_MCP_STATE_KEY={secrets.token_urlsafe(32)}",
        ]
    return [*lines, f"export EDFS_MCP_CLIENT_ID={seed.PUBLIC_CLIENT_ID}", "unset EDFS_MCP_CLIENT_SECRET"]


def _where_stdout_went() -> str:
    """Where the export lines went, as the guide says it: "above" on a terminal; else the file
    (when stdout is one this system names), or just stdout (a pipe)."""
    try:
        if sys.stdout.isatty():
            return "above"
        descriptor = sys.stdout.fileno()
        if stat.S_ISREG(os.fstat(descriptor).st_mode):
            path = os.readlink(f"/proc/self/fd/{descriptor}")  # Linux; elsewhere OSError
            relative = os.path.relpath(path)
            return f"written to stdout ({path if relative.startswith('..') else relative})"
    except (OSError, ValueError):  # no descriptor (stdout replaced in-process), no /proc
        pass
    return "written to stdout"


def sandbox_guide(base: str, identity: str, auto_approve: bool, exports: str = "above") -> str:
    """What to do with the sandbox at ``base``; ``exports``: where the export lines went ("above",
    "written to stdout (sandbox.env)")."""
    from edfs_mcp.sandbox import seed

    who = {
        "service": f"the Org Admin service client {seed.CLIENT_ADMIN_ID}",
        "person": f"the public client {seed.PUBLIC_CLIENT_ID}: run `edfs-mcp login` to sign in as a person",
        "web": f"the confidential web app {seed.WEB_CLIENT_ID}, for `edfs-mcp serve --transport "
        "streamable-http` that people sign in to (each MCP client shows our consent page, then the "
        "sandbox's sign-in page)",
    }[identity]
    password = f"with a user below (password {seed.SANDBOX_PASSWORD})"
    if identity == "web":  # people sign in on the page their MCP client's browser is sent to, not /device
        approve = (
            f"The sandbox's sign-in page approves itself as {seed.AUTO_APPROVE_USER}; our consent page "
            "still asks."
            if auto_approve
            else f"After our consent page, sign in on the sandbox's sign-in page {password}."
        )
    elif auto_approve:
        approve = f"Sign-ins are approved automatically as {seed.AUTO_APPROVE_USER}."
    else:
        approve = f"Approve a sign-in at {base}/device {password}."
    return "\n".join(
        [
            f"EDFS sandbox listening on {base} (EDFS /edfs, iTwins /itwins, OAuth /connect).",
            f"The lines {exports} point `edfs-mcp serve` at it as {who}.",
            approve,
            f"  {seed.USER_ADMIN:6} Org Admin of Northgate: everything in Northgate's iTwins",
            f"  {seed.USER_OPERATOR:6} operator: runs packages on Northgate Bridge and Riverside, "
            "manages timers on Northgate Bridge",
            f"  {seed.USER_VIEWER:6} member without EDFS roles: finds iTwins, every EDFS call is 403",
            f"  {seed.USER_HARBOR_ADMIN:6} Org Admin of Harbor Water Authority: Harbor's iTwins only",
            f"Service clients: {seed.CLIENT_ADMIN_ID}, {seed.CLIENT_OPERATOR_ID}, {seed.CLIENT_VIEWER_ID}, "
            f"{seed.CLIENT_HARBOR_ADMIN_ID} (secrets in edfs_mcp/sandbox/seed.py).",
            "Press Ctrl-C to stop.",
        ]
    )


def _overrides(command: str, args: argparse.Namespace) -> dict[str, object]:
    """The settings a command's flags set, over the environment: the one place a flag beats a variable."""
    if command == "sandbox":
        # `edfs-mcp sandbox` is the sandbox: credentials in the environment are not its business, nor
        # the HTTP settings (`--as web` prints them for `serve`).
        return {
            "sandbox": True,
            "http_auth": None,
            "public_url": None,
            "state_key": None,
            "http_bearer": None,
        }
    overrides: dict[str, object] = {}
    if getattr(args, "sandbox", False):
        overrides["sandbox"] = True
    if getattr(args, "read_only", False):
        overrides["read_only"] = True
    if getattr(args, "flow", None):
        overrides["sign_in_flow"] = args.flow
    return overrides


def _configuration_error(exc: ConfigError) -> int:
    """One line per problem (config reports every bad setting at once), then the usage exit code."""
    for problem in str(exc).splitlines():
        say(f"edfs-mcp: configuration error: {problem}", logging.ERROR)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None, *, stop: threading.Event | None = None) -> int:
    """The ``edfs-mcp`` command; its exit code. ``stop``: ends ``edfs-mcp sandbox`` as Ctrl-C does
    (for running it embedded, e.g. on a thread); without it, it serves until interrupted."""
    # Logging first, in the format asked for, so that usage and configuration errors are in it too.
    configure_logging("WARNING", json_lines=requested_log_format() == "json")
    args = _parser().parse_args(argv)
    command = args.command or "serve"
    if args.command is None:
        args = _parser().parse_args(["serve", *(argv if argv is not None else sys.argv[1:])])
    try:
        settings = load_settings(**_overrides(command, args))
    except ConfigError as exc:
        return _configuration_error(exc)
    configure_logging(settings.log_level, settings.secret_values(), json_lines=settings.log_format == "json")
    try:
        if command == "sandbox":
            return _sandbox(args, stop or threading.Event())
        if command in ("login", "logout", "status"):
            from edfs_mcp.cli_auth import run_auth_command

            return run_auth_command(command, args, settings)
        return _serve(args, settings)
    except ConfigError as exc:
        return _configuration_error(exc)
    except CannotListen as exc:
        remedy = "choose another with --port" if exc.in_use else "check --host and --port"
        say(f"edfs-mcp: {exc}; {remedy}", logging.ERROR)
        return EXIT_USAGE
    except KeyboardInterrupt:
        what = "sign-in cancelled; nothing was saved" if command == "login" else "interrupted"
        say(f"edfs-mcp: {what}.")
        return EXIT_INTERRUPTED
