"""edfs-mcp command line: argument parsing, stderr, exit codes. No logic of its own.

Exit codes: 0 ok, 1 runtime failure, 2 bad usage or configuration.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import threading
from collections.abc import Sequence

from edfs_mcp._version import __version__
from edfs_mcp.config import CredentialSource, Settings, load_settings
from edfs_mcp.errors import ConfigError

__all__ = ["main"]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def _names(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    return parser


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        stream=sys.stderr, level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # authlib logs tokens at DEBUG; never let that through.
    logging.getLogger("authlib").setLevel(max(logging.WARNING, logging.getLogger().level))


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from edfs_mcp.server import build_server

    source = settings.credential_source()
    if source is CredentialSource.SANDBOX:
        why = "--sandbox was given" if settings.sandbox else "no credentials are configured"
        print(
            f"edfs-mcp {__version__}: {why}, so this server uses the built-in EDFS SANDBOX "
            "(demo data, no Bentley account). Set EDFS_MCP_CLIENT_ID and EDFS_MCP_CLIENT_SECRET "
            "(or EDFS_MCP_ACCESS_TOKEN) to use Bentley's service.",
            file=sys.stderr,
        )
    else:
        print(f"edfs-mcp {__version__}: EDFS at {settings.api_root}, {source.value}.", file=sys.stderr)
    try:
        server = build_server(
            settings,
            read_only=args.read_only or settings.read_only,
            include=args.tools,
            exclude=args.exclude_tools,
        )
    except ValueError as exc:
        print(f"edfs-mcp: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.transport == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host=args.host, port=args.port)
    return EXIT_OK


def _sandbox(args: argparse.Namespace) -> int:
    from edfs_mcp.sandbox import SandboxServer, seed

    with SandboxServer(host=args.host, port=args.port) as running:
        base = running.base_url
        # stdout carries only the export lines, so `eval "$(edfs-mcp sandbox)"`-style use works.
        print(f"export EDFS_MCP_API_BASE={base}")
        print(f"export EDFS_MCP_AUTHORITY={base}")
        print(f"export EDFS_MCP_CLIENT_ID={seed.CLIENT_ADMIN_ID}")
        print(f"export EDFS_MCP_CLIENT_SECRET={seed.CLIENT_ADMIN_SECRET}")
        sys.stdout.flush()
        print(
            f"EDFS sandbox listening on {base} "
            "(EDFS under /edfs, iTwins under /itwins, OAuth under /connect).\n"
            "The export lines above point `edfs-mcp serve` at it as the sandbox's Org Admin service client.\n"
            "Press Ctrl-C to stop.",
            file=sys.stderr,
        )
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = args.command or "serve"
    if args.command is None:
        args = _parser().parse_args(["serve", *(argv if argv is not None else sys.argv[1:])])
    try:
        settings = load_settings(**({"sandbox": True} if getattr(args, "sandbox", False) is True else {}))
    except ConfigError as exc:
        print(f"edfs-mcp: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    _configure_logging(settings.log_level)
    try:
        if command == "sandbox":
            return _sandbox(args)
        if command in ("login", "logout", "status"):
            from edfs_mcp.cli_auth import run_auth_command

            return run_auth_command(command, args, settings)
        return _serve(args, settings)
    except ConfigError as exc:
        print(f"edfs-mcp: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK
