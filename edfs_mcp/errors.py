"""The one exception tree of edfs-mcp.

Everything this package raises on purpose derives from :class:`EdfsMcpError`. The classes without a
module beside them are defined here (and exported by ``edfs_mcp``); the others live where they are
raised::

    EdfsMcpError
    ├── ConfigError            a setting is missing or malformed
    │   └── UnsafeTokenStore   the token directory or file is not private to this user (auth.store)
    ├── AuthError              no usable token
    │   ├── SignInRequired     a person has to sign in first
    │   └── DeviceFlowRefused  the authority refuses this client the device grant (auth.device_flow)
    ├── ApiError               EDFS or iTwins answered with an error status
    │   ├── InvalidInput       400 / 422 — the request was rejected as malformed
    │   ├── Unauthorized       401 — token missing, expired or not accepted
    │   ├── Forbidden          403 — the caller lacks a permission
    │   ├── NotFound           404 — the resource (or route) does not exist
    │   ├── Conflict           409 — it already exists
    │   ├── RateLimited        429 — over the rate limit; nothing was processed
    │   └── ServerError        5xx — the service failed
    ├── NotSent                the request never left this machine (connect error)
    ├── OutcomeUnknown         sent, but no usable answer came back (for a write: it may have happened)
    ├── AnswerRefused          a read's answer broke one of our limits; nothing was changed
    │   ├── ResponseTooLarge   the body was bigger than EDFS_MCP_MAX_RESPONSE_BYTES
    │   └── DeadlineExceeded   the whole answer took longer than the timeout allows
    ├── UndecodableBody        a compressed body that does not decode (api._body; the client makes it
    │                          OutcomeUnknown: it never leaves the client)
    ├── TooDeep                a package's output nests too deeply to read (tabular; also a ValueError)
    ├── CronError              a schedule EDFS would refuse (cron)
    ├── ResultError            a cached result cannot be read or kept (results)
    │   ├── ResultGone         its result_id expired, was evicted or is not the caller's
    │   └── ResultCacheUnavailable  the shared result cache (Redis) did not answer
    ├── SqlError               a query over a result gave no answer (sql)
    │   ├── SqlRefused         not one SELECT over ``result``; nothing ran
    │   ├── SqlFailed          DuckDB could not run it
    │   └── SqlStopped         a time or memory limit stopped it
    ├── TooManyForms           too many set-up forms are open (system_page)
    ├── CannotListen           an address cannot be listened on (listening)
    ├── StateStoreUnavailable  the shared state store (Redis) did not answer (state.stores)
    ├── CimdError              a client's metadata document was refused (remote.cimd)
    └── RegistrationThrottled  too many client registrations from one address (remote.registrations)

A write whose answer breaks a limit is ``OutcomeUnknown`` (it was sent; it may have run),
with ``limit`` set to the ``AnswerRefused`` that says which limit.

The API client raises the ones defined here; ``edfs_mcp.messages`` turns them into text for the model.
Private ``_``-prefixed exceptions (a parser giving up, a guard's refusal) are control flow inside one
module and never leave it.
Nothing here imports MCP, so the client stays usable on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

__all__ = [
    "AnswerRefused",
    "ApiError",
    "AuthError",
    "ConfigError",
    "Conflict",
    "DeadlineExceeded",
    "EdfsMcpError",
    "ErrorDetail",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "NotSent",
    "Operation",
    "OutcomeUnknown",
    "RateLimited",
    "ResponseTooLarge",
    "ServerError",
    "SignInPrompt",
    "SignInRequired",
    "Unauthorized",
]


class EdfsMcpError(Exception):
    """Base of every error edfs-mcp raises deliberately.

    The ones with fields are dataclasses with ``eq=False``: compared and hashed by identity like
    any exception, and pickled by their fields (a process pool or a log handler can carry them).
    """

    def __reduce__(self) -> str | tuple[Any, ...]:
        if is_dataclass(self):
            return (type(self), tuple(getattr(self, item.name) for item in fields(self)))
        return super().__reduce__()


class ConfigError(EdfsMcpError):
    """A setting is missing or malformed. The message names the setting."""


class AuthError(EdfsMcpError):
    """No usable access token could be obtained."""


@dataclass(frozen=True)
class SignInPrompt:
    """What a person needs to finish a device sign-in: where to go and the code to enter."""

    verification_uri: str
    user_code: str
    verification_uri_complete: str | None
    expires_at: float


class SignInRequired(AuthError):
    """A person must sign in before the call can proceed.

    ``prompt`` is set when a device sign-in was started for them and is waiting for approval.
    """

    def __init__(self, message: str, prompt: SignInPrompt | None = None) -> None:
        super().__init__(message)
        self.prompt = prompt


@dataclass(frozen=True)
class Operation:
    """What a request does: a stable ``key``, words for messages, and what it needs.

    ``write`` marks requests that must never be re-sent blindly; ``permission`` is the
    EDFS permission the reference (§2) requires, for 403 messages. ``retried=False``: a request
    whose answer only labels a result (an iTwin's name) gets one try, never a wait.
    """

    key: str
    name: str
    write: bool = False
    permission: str | None = None
    retried: bool = True


@dataclass(frozen=True)
class ErrorDetail:
    """One entry of an EDFS error's ``details`` array."""

    code: str
    message: str
    target: str | None = None


@dataclass(eq=False)
class ApiError(EdfsMcpError):
    """An error response from EDFS or the iTwins API.

    ``operation`` names what was attempted in words ("execute package"), so
    messages can say what failed without knowing URLs. ``code`` and ``message``
    come from the body when it parses; the reference warns that it may not.
    """

    status: int
    operation: Operation
    code: str | None = None
    message: str | None = None
    # At most the first 20 entries; ``more_details`` counts the others that were read (a lower
    # bound when the error body was longer than the error-body cap and was cut).
    details: tuple[ErrorDetail, ...] = ()
    # Seconds to wait before trying again: always finite (never NaN or infinite) when set.
    retry_after: float | None = None
    # Seconds already spent waiting out 429s before giving up.
    waited: float = 0.0
    path_params: dict[str, str] = field(default_factory=dict)
    more_details: int = 0
    # Requests sent for this call, retries included (429s waited out, reads retried after 5xx).
    attempts: int = 1

    def __post_init__(self) -> None:
        if self.retry_after is not None and not math.isfinite(self.retry_after):
            self.retry_after = None
        super().__init__(self.summary())

    def summary(self) -> str:
        code = f" {self.code}" if self.code else ""
        return f"{self.operation.name} failed: HTTP {self.status}{code}"

    def __str__(self) -> str:
        return self.summary()


class InvalidInput(ApiError):
    """400 or 422: the service rejected the request's values."""


class Unauthorized(ApiError):
    """401: the token is missing, expired, from the wrong issuer or lacks the scope."""


class Forbidden(ApiError):
    """403: signed in, but without the permission the operation needs."""


class NotFound(ApiError):
    """404: the iTwin, package, timer or route does not exist (for this caller)."""


class Conflict(ApiError):
    """409: the resource already exists."""


class RateLimited(ApiError):
    """429: over the rate limit. The request was not processed."""


class ServerError(ApiError):
    """5xx: the service failed. For a write, the effect is unknown."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: InvalidInput,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: InvalidInput,
    429: RateLimited,
}


def api_error_class(status: int) -> type[ApiError]:
    """The most specific ApiError subclass for an HTTP status."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ApiError)


@dataclass(eq=False)
class NotSent(EdfsMcpError):
    """The request could not be sent (DNS, refused connection, TLS): nothing happened upstream."""

    operation: Operation
    reason: str
    host: str

    def __post_init__(self) -> None:
        super().__init__(f"{self.operation.name}: could not reach {self.host} ({self.reason})")


@dataclass(eq=False)
class AnswerRefused(EdfsMcpError):
    """A read's answer broke one of this client's limits, so it was dropped unread.

    Raised for reads only (nothing was changed). For a write the same event is ``OutcomeUnknown``
    whose ``limit`` is one of these. ``setting`` names the ``EDFS_MCP_*`` variable that sets the limit.
    """

    operation: Operation
    setting: str

    def __post_init__(self) -> None:
        super().__init__(f"{self.operation.name}: {self.what()}; nothing was changed")

    def what(self) -> str:
        """The limit that was hit, in words: "the answer was larger than 64 MiB (EDFS_MCP_…)"."""
        return f"the answer broke a limit ({self.setting})"


@dataclass(eq=False)
class ResponseTooLarge(AnswerRefused):
    """The answer's body (counted after decompression) was larger than ``limit_bytes``."""

    limit_bytes: int

    def what(self) -> str:
        return f"the answer was larger than {_size(self.limit_bytes)} ({self.setting})"


@dataclass(eq=False)
class DeadlineExceeded(AnswerRefused):
    """The complete answer did not arrive within ``seconds`` (send, wait, and read the body), on
    each of ``attempts`` tries that took ``elapsed`` seconds in all (0: not measured)."""

    seconds: float
    attempts: int = 1
    elapsed: float = 0.0

    def what(self) -> str:
        if self.attempts <= 1:
            return f"no complete answer within {self.seconds:g} s ({self.setting})"
        return (
            f"no complete answer within {self.seconds:g} s on any of {self.attempts} tries, "
            f"{self.elapsed:.0f} s in all ({self.setting})"
        )


def _size(limit: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if limit >= scale and limit % scale == 0:
            return f"{limit // scale} {unit}"
    return f"{limit} bytes"


@dataclass(eq=False)
class OutcomeUnknown(EdfsMcpError):
    """The request was sent but no complete, usable answer arrived.

    For a write (``operation.write``) it may or may not have taken effect; it is never re-sent.
    ``limit`` is set when the answer was dropped because it broke one of this client's limits
    (too large, too slow): ``limit.what()`` says which.
    """

    operation: Operation
    reason: str
    limit: AnswerRefused | None = None

    def __post_init__(self) -> None:
        super().__init__(f"{self.operation.name}: sent, but no answer ({self.reason})")
