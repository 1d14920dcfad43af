"""The one exception tree of edfs-mcp.

Everything this package raises on purpose derives from :class:`EdfsMcpError`::

    EdfsMcpError
    ├── ConfigError            a setting is missing or malformed
    ├── AuthError              no usable token
    │   └── SignInRequired     a person has to sign in first
    ├── ApiError               EDFS or iTwins answered with an error status
    │   ├── InvalidInput       400 / 422 — the request was rejected as malformed
    │   ├── Unauthorized       401 — token missing, expired or not accepted
    │   ├── Forbidden          403 — the caller lacks a permission
    │   ├── NotFound           404 — the resource (or route) does not exist
    │   ├── Conflict           409 — it already exists
    │   ├── RateLimited        429 — over the rate limit; nothing was processed
    │   └── ServerError        5xx — the service failed
    ├── NotSent                the request never left this machine (connect error)
    └── OutcomeUnknown         sent, but no answer came back (for a write: it may have happened)

The API client raises these; ``messages.py`` turns them into text for the model.
Nothing here imports MCP, so the client stays usable on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "ApiError",
    "AuthError",
    "ConfigError",
    "Conflict",
    "EdfsMcpError",
    "ErrorDetail",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "NotSent",
    "Operation",
    "OutcomeUnknown",
    "RateLimited",
    "ServerError",
    "SignInPrompt",
    "SignInRequired",
    "Unauthorized",
]


class EdfsMcpError(Exception):
    """Base of every error edfs-mcp raises deliberately."""


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
    EDFS permission the reference (§2) requires, for 403 messages.
    """

    key: str
    name: str
    write: bool = False
    permission: str | None = None


@dataclass(frozen=True)
class ErrorDetail:
    """One entry of an EDFS error's ``details`` array."""

    code: str
    message: str
    target: str | None = None


@dataclass
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
    details: tuple[ErrorDetail, ...] = ()
    retry_after: float | None = None
    # Seconds already spent waiting out 429s before giving up.
    waited: float = 0.0
    path_params: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
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


@dataclass
class NotSent(EdfsMcpError):
    """The request could not be sent (DNS, refused connection, TLS): nothing happened upstream."""

    operation: Operation
    reason: str
    host: str

    def __post_init__(self) -> None:
        super().__init__(f"{self.operation.name}: could not reach {self.host} ({self.reason})")


@dataclass
class OutcomeUnknown(EdfsMcpError):
    """The request was sent but no complete answer arrived.

    For a write (``operation.write``) it may or may not have taken effect; it is never re-sent.
    """

    operation: Operation
    reason: str

    def __post_init__(self) -> None:
        super().__init__(f"{self.operation.name}: sent, but no answer ({self.reason})")
