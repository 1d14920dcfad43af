"""`edfs-mcp <command>` run in this process: ``edfs_mcp.cli.main`` with the environment, stdout and
stderr it would have as a process, and its exit code.

For commands that print and return (status, login, logout, the exports of `edfs-mcp sandbox`,
configuration errors). What only a real process shows stays a subprocess: exit on a signal or
Ctrl-C, stdout as the MCP wire, the banner of a real `serve`, processes sharing a token store.

What main changes in the process is put back after each run: the environment (monkeypatch), sys.stdout
and sys.stderr, and the logging it configures (edfs_mcp.logs.configure_logging). Its stderr does not
get the log lines of the sandbox, which runs in this process on a thread of its own (and in another
process when the command really runs).
"""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from edfs_mcp import cli, logs
from tests.harness import drop_settings

__all__ = ["Cli", "Running", "Stream"]

WAIT_SECONDS = 60.0
_LOGGERS = ("authlib", "mcp.server.auth", "mcp.client.auth")  # the ones configure_logging sets
_SANDBOX_THREAD = "edfs-mcp-sandbox"  # edfs_mcp.sandbox.server names the sandbox's thread so


class Stream(io.TextIOBase):
    """stdout or stderr of the command: kept, and readable while it runs (it may run on a thread)."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[str] = []
        self._done = False
        self._changed = threading.Condition()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str, /) -> int:
        with self._changed:
            self._parts.append(text)
            self._changed.notify_all()
        return len(text)

    def getvalue(self) -> str:
        with self._changed:
            return "".join(self._parts)

    def finish(self) -> None:
        with self._changed:
            self._done = True
            self._changed.notify_all()

    def wait_for(self, wanted: Callable[[str], bool], timeout: float = WAIT_SECONDS) -> str:
        """All written so far, once ``wanted`` holds for it; fails if the command ended or time ran out."""
        with self._changed:
            self._changed.wait_for(lambda: self._done or wanted("".join(self._parts)), timeout)
            text = "".join(self._parts)
        state = "ended" if self._done else "is still running"
        assert wanted(text), f"not seen (the command {state}): {text!r}"
        return text


@contextmanager
def _logging_put_back() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in _LOGGERS}
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, previous in levels.items():
            logging.getLogger(name).setLevel(previous)


def _not_the_sandbox(record: logging.LogRecord) -> bool:
    return record.threadName != _SANDBOX_THREAD


def _configure_logging(level: str, secrets: Iterable[str] = (), *, json_lines: bool = False) -> None:
    """The production configuration, less the lines of the sandbox running in this process."""
    logs.configure_logging(level, secrets, json_lines=json_lines)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_not_the_sandbox)


def _main(args: tuple[str, ...], stop: threading.Event) -> int:
    try:
        return cli.main(list(args), stop=stop)  # `edfs-mcp sandbox` serves until ``stop``
    except SystemExit as exc:  # argparse: --version, bad usage
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)


@dataclass
class Running:
    """A command running on a thread: its output as it comes, then its exit code."""

    stdout: Stream
    stderr: Stream
    thread: threading.Thread
    stop: threading.Event  # ends `edfs-mcp sandbox` as Ctrl-C would
    result: list[int]

    def wait(self, timeout: float = WAIT_SECONDS) -> int:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"the command did not end: {self.stderr.getvalue()!r}"
        assert self.result, f"the command raised: {self.stderr.getvalue()!r}"
        return self.result[0]


@dataclass
class Cli:
    monkeypatch: pytest.MonkeyPatch

    @contextmanager
    def _as_a_process(self, env: Mapping[str, str]) -> Iterator[tuple[Stream, Stream]]:
        """The environment is none of this process's EDFS_MCP_* settings, then ``env``."""
        out, err = Stream(), Stream()
        with self.monkeypatch.context() as patch, _logging_put_back():
            drop_settings(patch)
            for name, value in env.items():
                patch.setenv(name, value)
            patch.setattr(sys, "stdout", out)
            patch.setattr(sys, "stderr", err)
            patch.setattr(cli, "configure_logging", _configure_logging)
            try:
                yield out, err
            finally:
                out.finish()
                err.finish()

    def run(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """`edfs-mcp *args` to its end. Not from a running event loop: main runs its own (anyio.run)."""
        stop = threading.Event()
        stop.set()
        with self._as_a_process(env or {}) as (out, err):
            code = _main(args, stop)
        return subprocess.CompletedProcess(["edfs-mcp", *args], code, out.getvalue(), err.getvalue())

    @contextmanager
    def running(self, *args: str, env: Mapping[str, str] | None = None) -> Iterator[Running]:
        """`edfs-mcp *args` on a thread while the test goes on; stopped (sandbox) and awaited on exit."""
        stop = threading.Event()
        with self._as_a_process(env or {}) as (out, err):
            result: list[int] = []

            def run() -> None:
                try:
                    result.append(_main(args, stop))
                finally:
                    out.finish()
                    err.finish()

            thread = threading.Thread(target=run, name="edfs-mcp-cli", daemon=True)
            thread.start()
            try:
                yield Running(out, err, thread, stop, result)
            finally:
                stop.set()
                thread.join(WAIT_SECONDS)
