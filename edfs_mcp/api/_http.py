"""HTTP plumbing: headers, auth, timeouts, safe paths, retries and error parsing.

The retry policy lives here and nowhere else:

- 429: wait ``Retry-After`` (1 s when absent) while the total stays under the cap,
  then retry — a rate-limited request was not processed.
- 401: drop the token, get a new one, retry once.
- Connect errors (nothing sent): retry with jittered backoff.
- 5xx, timeouts and resets after sending: retry reads only. Writes (execute,
  create, toggle, delete) are never re-sent; the caller gets ``OutcomeUnknown``
  or ``ServerError(write=True)`` and decides how to find out what happened.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import anyio
import httpx2

from edfs_mcp._version import __version__
from edfs_mcp.auth.base import TokenSource
from edfs_mcp.errors import (
    ApiError,
    ErrorDetail,
    NotSent,
    Operation,
    OutcomeUnknown,
    RateLimited,
    api_error_class,
)

logger = logging.getLogger("edfs_mcp.api")

ACCEPT = "application/vnd.bentley.itwin-platform.v1+json"
DEFAULT_RETRY_AFTER = 1.0
CONNECT_ATTEMPTS = 3
READ_RETRIES = 2

# Called before each wait: (seconds about to wait, why) — lets the server report progress.
WaitCallback = Callable[[float, str], Awaitable[None]]


@dataclass(frozen=True)
class Timeouts:
    connect: float
    read: float
    long_read: float


def segment(value: str) -> str:
    """One percent-encoded path segment: nothing in ``value`` can add a segment or a query.

    Callers validate formats first; this is the last line, so it refuses rather than guesses.
    """
    if value in ("", ".", "..") or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError(f"unsafe path segment {value!r}")
    return quote(value, safe="")


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: an integer, a decimal, or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def parse_error_body(content: bytes) -> tuple[str | None, str | None, tuple[ErrorDetail, ...]]:
    """(code, message, details) from an EDFS error body, tolerating any shape."""
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None, None, ()
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, None, ()
    details: list[ErrorDetail] = []
    raw_details = error.get("details")
    if isinstance(raw_details, list):
        for item in raw_details:
            if isinstance(item, dict):
                details.append(
                    ErrorDetail(
                        code=_text(item.get("code")) or "",
                        message=_text(item.get("message")) or "",
                        target=_text(item.get("target")),
                    )
                )
    return _text(error.get("code")), _text(error.get("message")), tuple(details)


def _text(value: Any) -> str | None:
    # Upstream text is shown to a model: keep it short and single-line.
    if isinstance(value, str) and value:
        return " ".join(value.split())[:300]
    return None


def error_from_response(
    response: httpx2.Response, operation: Operation, path_params: Mapping[str, str], waited: float = 0.0
) -> ApiError:
    code, message, details = parse_error_body(response.content)
    cls = api_error_class(response.status_code)
    return cls(
        status=response.status_code,
        operation=operation,
        code=code,
        message=message,
        details=details,
        retry_after=parse_retry_after(response.headers.get("retry-after")),
        waited=waited,
        path_params=dict(path_params),
    )


class HttpSession:
    """One pooled async HTTP client for the whole process, with the retry policy above."""

    def __init__(
        self,
        *,
        base_url: str,
        tokens: TokenSource,
        timeouts: Timeouts,
        max_rate_limit_wait: float,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self._tokens = tokens
        self._timeouts = timeouts
        self._max_rate_limit_wait = max_rate_limit_wait
        self._host = httpx2.URL(base_url).host or base_url
        self._client = httpx2.AsyncClient(
            base_url=base_url,
            headers={"Accept": ACCEPT, "User-Agent": f"edfs-mcp/{__version__}"},
            timeout=httpx2.Timeout(timeouts.read, connect=timeouts.connect),
            limits=httpx2.Limits(max_connections=100, max_keepalive_connections=20),
            transport=transport,
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        operation: Operation,
        method: str,
        path: str,
        *,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        long_running: bool = False,
        on_wait: WaitCallback | None = None,
    ) -> httpx2.Response:
        """Send with the retry policy; return a 2xx response or raise an EdfsMcpError."""
        path_params = path_params or {}
        read_timeout = self._timeouts.long_read if long_running else self._timeouts.read
        timeout = httpx2.Timeout(read_timeout, connect=self._timeouts.connect)
        waited = 0.0
        connect_failures = 0
        read_retries = 0
        token_rejected = False
        while True:
            token = await self._tokens.get_token()
            try:
                response = await self._client.request(
                    method,
                    path,
                    params=params,
                    json=json_body,
                    headers={**(headers or {}), "Authorization": f"Bearer {token}"},
                    timeout=timeout,
                )
            except (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout) as exc:
                connect_failures += 1
                if connect_failures >= CONNECT_ATTEMPTS:
                    raise NotSent(operation, type(exc).__name__, self._host) from None
                await self._backoff(connect_failures, operation, on_wait, "cannot connect")
                continue
            except (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError) as exc:
                if operation.write or read_retries >= READ_RETRIES:
                    raise OutcomeUnknown(operation, type(exc).__name__) from None
                read_retries += 1
                await self._backoff(read_retries, operation, on_wait, "no answer")
                continue

            status = response.status_code
            if status < 400:
                return response
            if status == 401 and not token_rejected:
                token_rejected = True
                if await self._tokens.reject(token):
                    continue
            if status == 429:
                delay = parse_retry_after(response.headers.get("retry-after"))
                delay = DEFAULT_RETRY_AFTER if delay is None else delay
                if waited + delay > self._max_rate_limit_wait:
                    error = error_from_response(response, operation, path_params, waited)
                    assert isinstance(error, RateLimited)
                    raise error
                logger.info("%s: rate limited, waiting %.1f s", operation.name, delay)
                if on_wait is not None:
                    await on_wait(delay, "rate limited by EDFS")
                await anyio.sleep(delay)
                waited += delay
                continue
            if status >= 500 and not operation.write and read_retries < READ_RETRIES:
                read_retries += 1
                await self._backoff(read_retries, operation, on_wait, f"HTTP {status}")
                continue
            raise error_from_response(response, operation, path_params, waited)

    async def _backoff(
        self, attempt: int, operation: Operation, on_wait: WaitCallback | None, why: str
    ) -> None:
        # Full jitter: spreads retries of many concurrent calls apart.
        delay = random.uniform(0, min(4.0, 0.25 * 2**attempt))  # noqa: S311 - not crypto
        logger.info("%s: %s, retrying in %.2f s", operation.name, why, delay)
        if on_wait is not None and delay >= 1.0:
            await on_wait(delay, why)
        await anyio.sleep(delay)
