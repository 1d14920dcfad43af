"""Processes the crash tests kill with SIGKILL at random moments (run as ``python -m``).

``refresh DIR BASE CLIENT_ID [in-process]``: a person's sign-in refreshed in a tight loop against
the sandbox at BASE: each round the API "refuses" the access token (``reject``) and the next
``get_token`` refreshes it. Prints ``refreshed N`` after each refresh, ``signed-out`` (exit 3)
when the sign-in is gone. ``in-process``: refresh in this process (no refresher process).

``save DIR``: the file store saving token after token; prints ``saved N`` once save N
has returned (so N is durable).

``serve``: a fork server (Linux): everything above imported once, then each worker is a fork of this
process, so a start costs a fork instead of an interpreter and its imports (~0.3 s of CPU each).
It talks over the Unix socket on fd 0: a request is the worker's arguments as JSON, with the
worker's stdout and stderr passed as file descriptors (SCM_RIGHTS); the answer is ``pid N``. The
request ``{"wait": N}`` reaps worker N (after its kill) and answers ``ended N``. The workers are
real processes (a fork, then the same code as ``python -m``): SIGKILL lands on them alone.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import traceback
from pathlib import Path

import anyio

from edfs_mcp.auth.discovery import Endpoints
from edfs_mcp.auth.store import FileTokenStore, StoredTokens, token_key
from edfs_mcp.auth.user import UserTokenSource
from edfs_mcp.errors import AuthError, SignInRequired
from tests.auth.helpers import SCOPE

SAVE_KEY = token_key("https://ims.example", "crash-test")


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _refresh_loop(directory: Path, base: str, client_id: str, own_process: bool) -> int:
    endpoints = Endpoints(
        issuer=base,
        token=f"{base}/connect/token",
        authorization=f"{base}/connect/authorize",
        device_authorization=None,
        revocation=None,
        userinfo=None,
    )

    async def discovered() -> Endpoints:
        return endpoints

    source = UserTokenSource(
        client_id=client_id,
        scope=SCOPE,
        key=token_key(base, client_id),
        store=FileTokenStore(directory),
        endpoints=discovered,
        sign_in_in_session=False,
        refresh_in_own_process=own_process,
    )
    try:
        rounds = 0
        while True:
            try:
                token = await source.get_token()
                await source.reject(token)
                await source.get_token()
            except SignInRequired:
                _say("signed-out")
                return 3
            except AuthError as exc:
                _say(f"error {exc}")
                return 4
            rounds += 1
            _say(f"refreshed {rounds}")
    finally:
        await source.aclose()


def _save_loop(directory: Path) -> int:
    store = FileTokenStore(directory)
    previous = store.load(SAVE_KEY)
    number = int(previous.access_token.split("-")[-1]) if previous else 0
    while True:
        number += 1
        store.save(
            SAVE_KEY,
            StoredTokens(
                access_token=f"access-{number}",
                expires_at=time.time() + 3600,
                refresh_token=f"refresh-secret-{number}",
            ),
        )
        _say(f"saved {number}")


def _run_forked(argv: list[str], stdout: int, stderr: int) -> None:
    """In the forked worker: the given output descriptors, the worker, then exit (never returns)."""
    code = 1
    try:
        os.dup2(stdout, 1)
        os.dup2(stderr, 2)
        os.close(stdout)
        os.close(stderr)
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _serve(channel: socket.socket) -> int:
    """The fork server's loop: start workers, reap them on request; ends when the channel closes."""
    while True:
        message, fds, _, _ = socket.recv_fds(channel, 65536, 2)
        if not message:
            return 0
        request = json.loads(message)
        if "wait" in request:
            pid = int(request["wait"])
            os.waitpid(pid, 0)
            channel.sendall(f"ended {pid}".encode())
            continue
        pid = os.fork()
        if pid == 0:
            channel.close()
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            _run_forked([str(arg) for arg in request["argv"]], fds[0], fds[1])
        for fd in fds:
            os.close(fd)
        channel.sendall(f"pid {pid}".encode())


def main(argv: list[str]) -> int:
    if argv[0] == "serve":
        return _serve(socket.socket(fileno=0))
    if argv[0] == "refresh":
        own_process = not (len(argv) > 4 and argv[4] == "in-process")
        return anyio.run(_refresh_loop, Path(argv[1]), argv[2], argv[3], own_process)
    if argv[0] == "save":
        return _save_loop(Path(argv[1]))
    raise SystemExit(f"unknown worker {argv[0]!r}")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
