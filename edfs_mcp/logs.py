"""Logging to stderr (stdout is the MCP wire), one line per event, secrets masked.

The code never logs a secret on purpose; the filter is defence in depth against a
library that does (authlib logs tokens at DEBUG, for one): it masks JWTs, bearer
values, and every secret value the settings hold.

The lines a person reads (the banner, where the server listens, why a command stopped) are log
records too, of the logger ``SAY_LOGGER`` (:func:`say`): in text they read as plain sentences, in
JSON they are objects like every other line, and they show whatever the level (they always did).

Lines written while an HTTP request is served carry its id (``request_id``; see
``http_transport.RequestIds``). ``EDFS_MCP_LOG_FORMAT=json`` writes each line as one JSON object
(time, level, logger, message, request_id), for a log collector.

A flood must not fill the disk: lines that repeat (same logger, level and message once numbers
and long hex ids are set aside) are let through at most ``REPEAT_BURST`` times per
``REPEAT_WINDOW`` seconds; the next one let through after that says how many were suppressed.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType

__all__ = [
    "JsonFormatter",
    "RedactingFilter",
    "RepeatFilter",
    "RequestIdFilter",
    "TextFormatter",
    "configure_logging",
    "redact",
    "request_id_var",
    "say",
]

# The id of the HTTP request being served, if any (set by http_transport.RequestIds).
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "edfs_mcp_request_id", default=None
)

SAY_LOGGER = "edfs_mcp.say"

MASK = "[redacted]"
PATTERNS = (
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),  # JWTs
    # "Bearer <value>", not the word after a setting's name (EDFS_MCP_HTTP_BEARER is, =bearer needs).
    re.compile(r"(?i)(?<![\w=])(bearer\s+)[A-Za-z0-9._~+/-]+=*"),
    re.compile(
        r"(?i)((?:access|refresh|id)_token|device_code|client_secret|code_verifier|password)"
        r"(['\"]?\s*[:=]\s*['\"]?)[^\s'\",&}]+"
    ),
    # The remote server's own tokens and codes (edfs_mcp.remote), whatever surrounds them.
    re.compile(r"edfs_(?:at|rt|ac)_[A-Za-z0-9_-]+"),
    re.compile(r"(?i)([?&](?:code|state)=)[^&#\s'\"]+"),  # codes and states in logged URLs
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        if len(secret) >= 6:
            text = text.replace(secret, MASK)
    text = PATTERNS[0].sub(MASK, text)
    text = PATTERNS[1].sub(lambda m: m.group(1) + MASK, text)
    text = PATTERNS[2].sub(lambda m: m.group(1) + m.group(2) + MASK, text)
    text = PATTERNS[3].sub(MASK, text)
    return PATTERNS[4].sub(lambda m: m.group(1) + MASK, text)


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self._secrets)
        if cleaned != message or record.exc_info:
            record.msg, record.args = cleaned, None
        return True


REPEAT_BURST = 10
REPEAT_WINDOW = 60.0
_VARYING = re.compile(r"[0-9a-fA-F]{16,}|\d+")


@dataclass
class _Run:
    start: float
    passed: int = 0
    suppressed: int = 0


class RepeatFilter(logging.Filter):
    """Let at most ``burst`` similar records through per ``window`` seconds; count the rest.

    Similar: same logger, level and message template, with numbers and long hex ids (session ids,
    ports, file descriptors) set aside. The first record suppressed is preceded by one saying
    suppression starts; the first let through in a later window says how many were dropped.
    At most ``max_kinds`` kinds are remembered (the least recently seen are forgotten).
    """

    def __init__(
        self,
        burst: int = REPEAT_BURST,
        window: float = REPEAT_WINDOW,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_kinds: int = 1024,
    ) -> None:
        super().__init__()
        self._burst, self._window, self._clock, self._max_kinds = burst, window, clock, max_kinds
        self._runs: OrderedDict[tuple[str, int, str], _Run] = OrderedDict()
        self._lock = threading.Lock()  # records come from the event loop and worker threads

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, _VARYING.sub("#", str(record.msg)[:500]))
        note = ""
        with self._lock:
            now = self._clock()
            run = self._runs.get(key)
            if run is None or now - run.start >= self._window:
                if run is not None and run.suppressed:
                    note = f" ({run.suppressed} similar suppressed in the last {self._window:g} s)"
                run = _Run(start=now)
                self._runs[key] = run
                while len(self._runs) > self._max_kinds:
                    self._runs.popitem(last=False)
            self._runs.move_to_end(key)
            if run.passed >= self._burst:
                run.suppressed += 1
                return False
            run.passed += 1
            if run.passed == self._burst:
                note += f" (seen {self._burst} times: similar lines suppressed for up to {self._window:g} s)"
        if note:
            try:
                message = record.getMessage()
            except (TypeError, ValueError):  # bad arguments: logging reports those itself
                return True
            record.msg, record.args = message + note, None
        return True


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record: the request being served, or None."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message``, with ``[request id]`` after the logger while serving one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._with_id = logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if record.name == SAY_LOGGER:
            return record.getMessage()
        if getattr(record, "request_id", None):
            return self._with_id.format(record)
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line; the message is already redacted, the traceback is redacted here."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            line["request_id"] = request_id
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info), self._secrets)
        return json.dumps(line, ensure_ascii=False)


def say(text: str, level: int = logging.INFO) -> None:
    """Tell the person running the command ``text``, on stderr, in the log's format."""
    logging.getLogger(SAY_LOGGER).log(level, text)


def _log_uncaught(kind: type[BaseException], exc: BaseException, trace: TracebackType | None) -> None:
    logging.getLogger("edfs_mcp").critical("uncaught %s", kind.__name__, exc_info=(kind, exc, trace))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None:
        _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback)


def configure_logging(level: str, secrets: Iterable[str] = (), *, json_lines: bool = False) -> None:
    """Every line this process writes on stderr goes through one handler: masked, cut when it repeats,
    and in one format (with ``json_lines``, Python's warnings and uncaught tracebacks too)."""
    secrets = tuple(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(secrets) if json_lines else TextFormatter())
    handler.addFilter(RepeatFilter())  # first: it keys on the message template, before redaction
    handler.addFilter(RedactingFilter(secrets))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger(SAY_LOGGER).setLevel(logging.INFO)
    logging.captureWarnings(True)
    if json_lines:
        sys.excepthook, threading.excepthook = _log_uncaught, _log_uncaught_in_thread
    else:  # Python's own, if ours were put in before
        if sys.excepthook is _log_uncaught:
            sys.excepthook = sys.__excepthook__
        if threading.excepthook is _log_uncaught_in_thread:
            threading.excepthook = threading.__excepthook__
    # authlib logs tokens at DEBUG: keep it above that whatever the level asked for.
    logging.getLogger("authlib").setLevel(max(logging.WARNING, root.level))
    # The MCP SDK's OAuth handlers and clients may log requests carrying codes and tokens at DEBUG.
    for name in ("mcp.server.auth", "mcp.client.auth"):
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))
