"""kill -9 at random moments, then start again: is the person still signed in?

    python -m bench.kill_loop                      # 120 kills of the refresh loop
    python -m bench.kill_loop --kills 120 --in-process   # the same, refreshing in-process
    python -m bench.kill_loop --save --kills 120   # 120 kills of the bare store's save loop

The refresh loop (``crash_workers refresh``) refreshes a person's sign-in against a sandbox on
loopback as fast as it can; it is killed with SIGKILL at a random moment after its first refresh,
and the next start must refresh again (a sign-out is counted otherwise, and the person signed in
afresh so the count goes on). Then every temporary file in the token directory is checked: none
may still hold a refresh token once the next start has read the store.

The save loop (``crash_workers save``) saves numbered tokens; after each kill the next start must
read the last number it acknowledged, or a newer one.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from edfs_mcp.auth.store import TEMP_PREFIX, FileTokenStore, token_key
from edfs_mcp.config import environment_without_settings
from edfs_mcp.sandbox import SandboxServer, seed
from tests.auth.crash_workers import SAVE_KEY
from tests.auth.helpers import sign_in

ROOT = Path(__file__).resolve().parents[1]
MARK = "EDFS_CRASH_TEST_MARK"  # set in the workers' environment, so their refreshers can be found
START_TIMEOUT = 60.0  # safety net only: a worker that shows nothing for this long has failed
CALIBRATION_ROUNDS = 5  # the first worker runs this many rounds, timed, before its kill


@dataclass
class Figures:
    kills: int = 0
    sign_outs: int = 0  # starts after a kill that found the sign-in gone
    temps_after_kill: int = 0  # temporary files lying in the directory right after a kill
    secret_temps_after_start: int = 0  # ... still holding a refresh token after the next start
    lost_saves: int = 0  # save loop: a start that read less than was acknowledged
    rounds: int = 0  # refreshes (or saves) acknowledged by the workers, all kills together

    def summary(self) -> str:
        return (
            f"{self.kills} kills: {self.sign_outs} sign-outs, {self.lost_saves} lost saves, "
            f"{self.temps_after_kill} temp files right after a kill, "
            f"{self.secret_temps_after_start} holding a refresh token after the next start; "
            f"{self.rounds} rounds acknowledged"
        )


class ForkServer:
    """``crash_workers serve``: one interpreter that imported the workers' code; each worker is a fork.

    A fresh interpreter per worker spent ~0.3 s of CPU on imports before its first line; the
    kills land after the first line either way, so what is killed and what the next start reads
    are the same. Closing the server reaps it (and with it the CPU of the workers it reaped).
    """

    def __init__(self, mark: str) -> None:
        env = environment_without_settings()
        env[MARK] = mark  # the workers' environment, and so their refreshers'
        self._channel, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._channel.settimeout(START_TIMEOUT)
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.auth.crash_workers", "serve"],
                cwd=ROOT,
                env=env,
                stdin=theirs.fileno(),
                stdout=subprocess.DEVNULL,
                stderr=self.stderr,
            )
        self._lock = threading.Lock()

    def _ask(self, request: dict[str, object], fds: list[int] = []) -> str:  # noqa: B006 - never mutated
        with self._lock:
            socket.send_fds(self._channel, [json.dumps(request).encode()], fds)
            answer = self._channel.recv(1024).decode()
        if not answer:
            self.stderr.seek(0)
            shown = self.stderr.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"the fork server ended: {shown}")
        return answer

    def start(self, args: tuple[str, ...], stdout: int, stderr: int) -> int:
        """A worker with these arguments and output descriptors; its process id."""
        return int(self._ask({"argv": list(args)}, [stdout, stderr]).split()[1])

    def reap(self, pid: int) -> None:
        """Wait for worker ``pid`` to end (``Popen.wait`` of a child of the server)."""
        self._ask({"wait": pid})

    def close(self) -> None:
        self._channel.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.stderr.close()

    def __enter__(self) -> ForkServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Worker:
    """A ``crash_workers`` process; its output lines are read (and timed) by a thread of ours."""

    def __init__(self, *args: str, server: ForkServer) -> None:
        self.server = server
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in kill()
        read_end, write_end = os.pipe()
        try:
            self.pid = server.start(args, write_end, self.stderr.fileno())
        finally:
            os.close(write_end)
        self.stdout = open(read_end, encoding="utf-8")  # noqa: SIM115 - closed by the reader
        self.lines: list[tuple[float, str]] = []
        self._changed = threading.Condition()
        self._ended = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        with self.stdout:
            for line in self.stdout:
                with self._changed:
                    self.lines.append((time.monotonic(), line.strip()))
                    self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def wait_lines(self, count: int) -> bool:
        """Wait until ``count`` lines were shown (False if the worker ended first)."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.lines) >= count or self._ended, START_TIMEOUT)
            return len(self.lines) >= count

    def first_line(self) -> str:
        if not self.wait_lines(1):
            self.kill()
            self.stderr.seek(0)
            shown = self.stderr.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"worker showed nothing: {shown}")
        return self.lines[0][1]

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self.server.reap(self.pid)
        self._reader.join()
        self.stderr.close()

    def gaps(self) -> list[float]:
        times = [at for at, _ in self.lines]
        return [b - a for a, b in itertools.pairwise(times)]


def _temps(directory: Path) -> list[Path]:
    return [path for path in directory.iterdir() if path.name.startswith(TEMP_PREFIX)]


def _secret_temps(directory: Path, marker: bytes = b'"refresh_token": "') -> int:
    held = 0
    for path in _temps(directory):
        with contextlib.suppress(FileNotFoundError):
            held += marker in path.read_bytes()
    return held


def _refreshers(mark: str) -> list[int]:
    """Live refresher processes started by our workers (Linux /proc; zombies do not count)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if b"edfs_mcp.auth.refresher" not in (entry / "cmdline").read_bytes():
                continue
            if f"{MARK}={mark}".encode() not in (entry / "environ").read_bytes():
                continue
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                found.append(int(entry.name))
    return found


def wait_for_refreshers(mark: str, timeout: float = 60.0) -> None:
    """Refreshers outlive the workers killed under them (that is their point): wait until none runs."""
    deadline = time.monotonic() + timeout
    while _refreshers(mark):
        if time.monotonic() > deadline:
            raise RuntimeError("refresher processes still running")
        threading.Event().wait(0.02)


def run_refresh_kills(
    sandbox: SandboxServer, directory: Path, kills: int, rng: random.Random, *, own_process: bool = True
) -> Figures:
    figures = Figures()
    mark = uuid.uuid4().hex
    sign_in(sandbox, directory)
    args = ["refresh", str(directory), sandbox.base_url, seed.PUBLIC_CLIENT_ID]
    if not own_process:
        args.append("in-process")
    gap: float | None = None  # a round's duration: kills land anywhere in the next ~2 rounds
    with ForkServer(mark) as server:
        try:
            for _ in range(3 * kills + 1):  # the last start only checks the sign-in survived the last kill
                worker = Worker(*args, server=server)
                first = worker.first_line()
                if gap is None and worker.wait_lines(CALIBRATION_ROUNDS):
                    gap = sum(worker.gaps()) / len(worker.gaps())  # the first worker's rounds, timed
                if first != "refreshed 1":
                    figures.sign_outs += first == "signed-out"
                    worker.kill()
                    if first != "signed-out":
                        raise RuntimeError(f"worker: {first}")
                    sign_in(sandbox, directory)
                    continue
                if figures.kills == kills:
                    worker.kill()
                    figures.rounds += len(worker.lines)
                    break
                threading.Event().wait(rng.uniform(0, 2.5 * (gap or 0.05)))  # the random moment of the kill
                worker.kill()
                figures.kills += 1
                figures.rounds += len(worker.lines)
                figures.temps_after_kill += len(_temps(directory))
            wait_for_refreshers(mark)
        finally:
            with contextlib.suppress(RuntimeError):
                wait_for_refreshers(mark, timeout=10)
    FileTokenStore(directory).load(token_key(sandbox.base_url, seed.PUBLIC_CLIENT_ID))  # settles
    figures.secret_temps_after_start = _secret_temps(directory)
    return figures


def run_save_kills(directory: Path, kills: int, rng: random.Random) -> Figures:
    figures = Figures()
    mark = uuid.uuid4().hex
    gap: float | None = None
    with ForkServer(mark) as server:
        for _ in range(kills):
            worker = Worker("save", str(directory), server=server)
            if not worker.first_line().startswith("saved "):
                worker.kill()
                raise RuntimeError(f"worker: {worker.lines}")
            if gap is None and worker.wait_lines(CALIBRATION_ROUNDS):
                gap = sum(worker.gaps()) / len(worker.gaps())
            threading.Event().wait(rng.uniform(0, 3 * (gap or 0.005)))
            worker.kill()
            figures.kills += 1
            figures.rounds += len(worker.lines)
            acknowledged = max(int(line.split()[1]) for _, line in worker.lines if line.startswith("saved "))
            figures.temps_after_kill += len(_temps(directory))
            loaded = FileTokenStore(directory).load(SAVE_KEY)  # the next start
            number = int(loaded.access_token.rsplit("-", 1)[-1]) if loaded else 0
            figures.lost_saves += number < acknowledged
            figures.secret_temps_after_start += _secret_temps(directory, b"refresh-secret-")
    return figures


@contextlib.contextmanager
def _sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as sandbox:
        yield sandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.kill_loop")
    parser.add_argument("--kills", type=int, default=120)
    parser.add_argument("--in-process", action="store_true", help="refresh in the killed process itself")
    parser.add_argument("--save", action="store_true", help="kill the bare store's save loop instead")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    seed_value = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 30)
    rng = random.Random(seed_value)  # noqa: S311 - kill moments, not secrets
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch) / "config"
        if args.save:
            figures = run_save_kills(directory, args.kills, rng)
            what = "save loop"
        else:
            with _sandbox() as sandbox:
                own_process = not args.in_process
                figures = run_refresh_kills(sandbox, directory, args.kills, rng, own_process=own_process)
            what = "refresh loop" + (" (in-process refresh)" if args.in_process else " (refresher process)")
    print(f"{what}, seed {seed_value}: {figures.summary()} in {time.monotonic() - started:.1f} s")
    return 0 if figures.sign_outs == figures.lost_saves == figures.secret_temps_after_start == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
