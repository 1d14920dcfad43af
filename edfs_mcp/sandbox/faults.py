"""Fault injection: 429 bursts, 5xx, latency, drops after processing, slow bodies, per-client limits.

Faults are armed from a test thread while the server runs in another, so every change holds a lock.
Forced faults apply to requests whose raw path starts with ``path_prefix`` (EDFS by default).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

RATE_LIMIT_CODES = ("TooManyRequests", "RateLimitExceeded")
EDFS_PREFIX = "/edfs/"


@dataclass(frozen=True)
class FaultDecision:
    """What to do with one request, decided once when it arrives."""

    latency: float = 0.0
    rate_limit: tuple[int, str | None] | None = None  # (retry_after, code or None = per-operation default)
    server_error: int | None = None
    drop: bool = False
    slow_body: float = 0.0  # seconds between the response headers and its body


@dataclass
class _Burst:
    left: int = 0
    prefix: str = EDFS_PREFIX
    method: str | None = None  # None: any method

    def matches(self, raw_path: str, method: str | None) -> bool:
        wanted = self.method is None or method is None or method.upper() == self.method
        return bool(self.left) and raw_path.startswith(self.prefix) and wanted


class Faults:
    """Fault switches. ``count``-based faults are used up one request at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        """Disarm every fault, including the per-client limit."""
        with self._lock:
            self._rate = _Burst()
            self._rate_retry_after = 1
            self._rate_code: str | None = None
            self._errors = _Burst()
            self._error_status = 503
            self._drops = _Burst()
            self._slow = _Burst()
            self._slow_seconds = 0.0
            self._latency = 0.0
            self._latency_prefix = EDFS_PREFIX
            self._client_limit: int | None = None
            self._client_window = 60.0
            self._client_hits: dict[str, deque[float]] = {}

    def rate_limit(
        self, count: int, retry_after: int = 1, code: str | None = None, path_prefix: str = EDFS_PREFIX
    ) -> None:
        """The next ``count`` matching requests get 429 with ``Retry-After: retry_after``, unprocessed.

        ``code`` None means the per-operation default: ``RateLimitExceeded`` on execute, else
        ``TooManyRequests``.
        """
        if code is not None and code not in RATE_LIMIT_CODES:
            raise ValueError(f"code must be one of {RATE_LIMIT_CODES} or None")
        if count < 0 or retry_after < 0:
            raise ValueError("count and retry_after must be >= 0")
        with self._lock:
            self._rate = _Burst(count, path_prefix)
            self._rate_retry_after = int(retry_after)
            self._rate_code = code

    def server_errors(
        self, count: int, status: int = 503, path_prefix: str = EDFS_PREFIX, method: str | None = None
    ) -> None:
        """The next ``count`` matching requests (``method`` given: only those) get ``status`` (5xx)
        before any processing."""
        if not 500 <= status <= 599 or count < 0:
            raise ValueError("status must be 5xx and count >= 0")
        with self._lock:
            self._errors = _Burst(count, path_prefix, method.upper() if method else None)
            self._error_status = status

    def latency(self, seconds: float, path_prefix: str = EDFS_PREFIX) -> None:
        """Delay every matching request by ``seconds`` (0 turns it off)."""
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        with self._lock:
            self._latency = float(seconds)
            self._latency_prefix = path_prefix

    def drop_after_processing(
        self, count: int, path_prefix: str = EDFS_PREFIX, method: str | None = None
    ) -> None:
        """The next ``count`` matching requests (``method`` given: only those) are fully processed, then
        the connection closes unanswered."""
        if count < 0:
            raise ValueError("count must be >= 0")
        with self._lock:
            self._drops = _Burst(count, path_prefix, method.upper() if method else None)

    def slow_body(self, count: int, seconds: float, path_prefix: str = EDFS_PREFIX) -> None:
        """The next ``count`` matching requests are processed; the body lags the headers by ``seconds``."""
        if count < 0 or seconds < 0:
            raise ValueError("count and seconds must be >= 0")
        with self._lock:
            self._slow = _Burst(count, path_prefix)
            self._slow_seconds = float(seconds)

    def per_client_limit(self, requests: int | None, window_seconds: float = 60.0) -> None:
        """At most ``requests`` API calls per OAuth client per sliding window (None turns it off)."""
        with self._lock:
            self._client_limit = requests
            self._client_window = float(window_seconds)
            self._client_hits = {}

    def decide(self, raw_path: str, method: str | None = None) -> FaultDecision:
        """Use up the faults that apply to a ``method`` request arriving on ``raw_path``."""
        with self._lock:
            latency = self._latency if raw_path.startswith(self._latency_prefix) else 0.0
            if self._rate.left and raw_path.startswith(self._rate.prefix):
                self._rate.left -= 1
                return FaultDecision(latency, rate_limit=(self._rate_retry_after, self._rate_code))
            if self._errors.matches(raw_path, method):
                self._errors.left -= 1
                return FaultDecision(latency, server_error=self._error_status)
            if self._drops.matches(raw_path, method):
                self._drops.left -= 1
                return FaultDecision(latency, drop=True)
            if self._slow.left and raw_path.startswith(self._slow.prefix):
                self._slow.left -= 1
                return FaultDecision(latency, slow_body=self._slow_seconds)
            return FaultDecision(latency)

    def client_hit(self, client_id: str, now: float | None = None) -> int | None:
        """Count one call by ``client_id``; return Retry-After seconds when it is over the limit."""
        with self._lock:
            if self._client_limit is None:
                return None
            now = time.monotonic() if now is None else now
            hits = self._client_hits.setdefault(client_id, deque())
            while hits and hits[0] <= now - self._client_window:
                hits.popleft()
            if len(hits) >= self._client_limit:
                return max(1, math.ceil(hits[0] + self._client_window - now)) if hits else 1
            hits.append(now)
            return None

    def snapshot(self) -> dict[str, Any]:
        """Armed faults, for the control API."""
        with self._lock:
            return {
                "rateLimit": {
                    "remaining": self._rate.left,
                    "retryAfter": self._rate_retry_after,
                    "code": self._rate_code,
                    "pathPrefix": self._rate.prefix,
                },
                "serverErrors": {
                    "remaining": self._errors.left,
                    "status": self._error_status,
                    "pathPrefix": self._errors.prefix,
                },
                "latency": {"seconds": self._latency, "pathPrefix": self._latency_prefix},
                "dropAfterProcessing": {"remaining": self._drops.left, "pathPrefix": self._drops.prefix},
                "perClientLimit": {"requests": self._client_limit, "windowSeconds": self._client_window},
            }
