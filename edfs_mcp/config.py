"""Settings, read once from ``EDFS_MCP_*`` environment variables.

Nothing else in the package reads the environment: the CLI builds a
:class:`Settings` and hands it down (config → auth → api → tools → server).

Rules a newcomer can predict:

- An empty variable is the same as an unset one (client configs ship empty placeholders).
- A choice may be written in any case (``debug`` or ``DEBUG``).
- A name that is not a setting fails at start, with the closest setting's name.
- Every bad setting is reported at once, one line each, so one start shows all there is to fix.
- The sandbox runs when asked for (``EDFS_MCP_SANDBOX=true``, ``serve --sandbox``) or when no
  credential or service setting is present at all. Half a configuration (a secret without its
  client id, an API address without any credential) fails with one line saying what to add,
  instead of quietly serving demo data.

Long because ``Settings`` declares every ``EDFS_MCP_*`` variable with its description, default and
check in one class: that field list is the one the README and the manifests are checked against, and
it is most of the file.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, get_args, get_origin
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from edfs_mcp.errors import ConfigError

__all__ = [
    "CREDENTIAL_SETTINGS",
    "SERVICE_SETTINGS",
    "CredentialSource",
    "Settings",
    "authorization_endpoint_of",
    "environment_without_settings",
    "load_settings",
    "requested_log_format",
    "settings_in",
    "token_endpoint_of",
    "userinfo_endpoint_of",
]

ENV_PREFIX = "EDFS_MCP_"


def token_endpoint_of(authority: str) -> str:
    """An authority's token endpoint: Bentley's documented path, the one place that decides it
    (service apps, the sandbox, and OIDC discovery when the document names none)."""
    return f"{authority.rstrip('/')}/connect/token"


def authorization_endpoint_of(authority: str) -> str:
    """An authority's authorize endpoint, Bentley's path (when discovery names none)."""
    return f"{authority.rstrip('/')}/connect/authorize"


def userinfo_endpoint_of(authority: str) -> str:
    """An authority's userinfo endpoint, Bentley's path (when discovery names none)."""
    return f"{authority.rstrip('/')}/connect/userinfo"


# Where a token comes from. Any of them means "not the sandbox".
CREDENTIAL_SETTINGS = ("access_token", "client_id", "client_secret")
# Which service to talk to. Set without a credential they mean a real service is wanted, which
# cannot work without one: that is an error, not a reason to serve the sandbox.
SERVICE_SETTINGS = ("api_base", "authority", "device_authorization_endpoint")


class CredentialSource(StrEnum):
    """Where the server's access token comes from, first that applies."""

    ACCESS_TOKEN = "access token"  # noqa: S105 - a label, not a token
    CLIENT_CREDENTIALS = "client credentials"
    USER = "user sign-in"
    PEOPLE = "each person's own Bentley sign-in (EDFS_MCP_HTTP_AUTH=oauth)"
    SANDBOX = "sandbox"


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def _choices_of(annotation: Any) -> dict[str, str]:
    """The choices of a ``Literal[...]`` type (or of one in a union), by their lower-case spelling."""
    if get_origin(annotation) is Literal:
        return {choice.lower(): choice for choice in get_args(annotation) if isinstance(choice, str)}
    return {key: choice for member in get_args(annotation) for key, choice in _choices_of(member).items()}


class Settings(BaseModel):
    """Every knob of edfs-mcp. Field ``foo_bar`` is read from ``EDFS_MCP_FOO_BAR`` by load_settings."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    api_base: HttpUrl = Field(
        HttpUrl("https://api.bentley.com"), description="iTwin Platform API root (EDFS is under /edfs)."
    )
    authority: HttpUrl = Field(HttpUrl("https://ims.bentley.com"), description="OAuth authority (IMS).")
    client_id: str | None = Field(None, description="OAuth client id of your iTwin app.")
    client_secret: SecretStr | None = Field(None, description="Client secret (service apps only).")
    access_token: SecretStr | None = Field(None, description="A ready access token; never refreshed.")
    scopes: str = Field("itwin-platform", description="Space-separated OAuth scopes.")
    sandbox: bool = Field(False, description="Use the embedded sandbox instead of Bentley.")
    device_authorization_endpoint: HttpUrl | None = Field(
        None, description="Device endpoint to use when discovery advertises none."
    )
    redirect_uri: str = Field(
        "http://localhost:3301/signin-callback", description="Loopback redirect registered for your app."
    )
    sign_in_flow: Literal["auto", "device", "browser"] = Field(
        "auto", description="Interactive sign-in flow."
    )
    token_store: Literal["auto", "keyring", "file", "memory"] = Field(
        "auto", description="Where tokens persist."
    )
    config_dir: Path | None = Field(None, description="Directory for the token file and its lock.")
    http_bearer: SecretStr | None = Field(
        None, description="Secret MCP clients must send on streamable HTTP; required off loopback."
    )
    http_auth: Literal["none", "bearer", "oauth"] | None = Field(
        None,
        description="How MCP clients authenticate on streamable HTTP: none, bearer (EDFS_MCP_HTTP_BEARER) or "
        "oauth (each person signs in with their Bentley account); unset: bearer when EDFS_MCP_HTTP_BEARER "
        "is set, oauth when EDFS_MCP_PUBLIC_URL is, else none.",
    )
    public_url: HttpUrl | None = Field(
        None,
        description="oauth: the URL MCP clients use to reach this server (https://host or https://host/mcp).",
    )
    state_key: SecretStr | None = Field(
        None, description="oauth: key that seals the people's Bentley tokens (32 random bytes, base64url)."
    )
    redis_url: SecretStr | None = Field(
        None,
        description="oauth: redis:// (or rediss://) URL of the Redis every replica shares its state in; "
        "unset: this process's memory.",
    )
    http_drain_seconds: float = Field(
        25.0,
        ge=0,
        allow_inf_nan=False,
        description="Seconds calls in progress get to finish after SIGTERM (streamable HTTP).",
    )
    http_allowed_hosts: str = Field(
        "", description="Extra Host names accepted on streamable HTTP (comma list)."
    )
    http_max_sessions: int = Field(
        100, ge=1, description="Most open MCP sessions on streamable HTTP; the least recently used idle goes."
    )
    http_session_idle_seconds: float = Field(
        600.0, gt=0, allow_inf_nan=False, description="Seconds an MCP session on streamable HTTP may idle."
    )
    http_max_connections: int = Field(
        200, ge=2, description="Most open connections on streamable HTTP; the oldest idle one makes room."
    )
    http_registrations_per_source: int = Field(
        30, ge=1, description="Client registrations one address may make per 10 minutes (HTTP_AUTH=oauth)."
    )
    http_unused_registrations: int = Field(
        1000, ge=1, description="Registrations kept that no token was got with; past it the oldest go."
    )
    http_request_read_seconds: float = Field(
        10.0, gt=0, allow_inf_nan=False, description="Seconds a connection gets to send a whole HTTP request."
    )
    read_only: bool = Field(False, description="Serve only read-only tools.")
    apps: bool = Field(
        True,
        description="Serve the MCP Apps views (result table, timers) that hosts rendering MCP Apps show.",
    )

    connect_timeout: float = Field(10.0, gt=0, description="Seconds to open a connection.")
    read_timeout: float = Field(
        15.0, gt=0, description="Seconds one try gets for its whole answer (a read is tried up to 3 times)."
    )
    call_timeout: float = Field(
        50.0,
        gt=0,
        allow_inf_nan=False,
        description="Seconds a call other than a package run takes at most, every try and wait included.",
    )
    execute_timeout: float = Field(600.0, gt=0, description="Seconds to wait for a package run.")
    max_rate_limit_wait: float = Field(
        60.0, ge=0, description="Most seconds spent waiting out 429 answers before giving up."
    )
    max_response_bytes: int = Field(
        256 * 1024 * 1024,
        ge=64 * 1024,
        description="Largest answer body accepted, in bytes after decompression (larger: an error).",
    )
    result_budget_tokens: int = Field(
        8000, ge=500, le=25000, description="Size budget of a tool result's preview, in tokens."
    )
    result_cache_bytes: int = Field(
        256 * 1024 * 1024,
        ge=1024 * 1024,
        description="Most bytes of results kept for read_ and query_execution_result; the oldest go first.",
    )
    progress_seconds: float = Field(
        5.0,
        ge=0.1,
        le=60,
        description="Seconds between progress notifications while a tool call runs (when the client asks).",
    )
    timezone: str = Field("UTC", description="IANA zone for next run times shown by list_timers.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "WARNING", description="stderr log level."
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="stderr log lines: text, or json (one object per line, with the request id)."
    )

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, data: Any) -> Any:
        """An empty (or blank) value means "not set": the default applies and it counts as absent."""
        if isinstance(data, Mapping):
            return {
                key: value
                for key, value in data.items()
                if not (isinstance(value, str) and not value.strip())
                and not (isinstance(value, SecretStr) and not value.get_secret_value().strip())
            }
        return data

    @model_validator(mode="before")
    @classmethod
    def _choices_in_any_case(cls, data: Any) -> Any:
        """``debug`` is ``DEBUG``: a choice matches in any case, then is kept as the setting spells it."""
        if isinstance(data, Mapping):
            data = dict(data)
            for name, value in data.items():
                field = cls.model_fields.get(name)
                if field is not None and isinstance(value, str):
                    data[name] = _choices_of(field.annotation).get(value.strip().lower(), value)
        return data

    @field_validator("client_id", "scopes")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return None if value is None else value.strip()

    @field_validator("redirect_uri")
    @classmethod
    def _loopback_redirect(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme != "http" or parts.hostname not in ("localhost", "127.0.0.1", "::1"):
            raise ValueError("must be an http:// loopback URI, e.g. http://localhost:3301/signin-callback")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name like Europe/Dublin") from None
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: HttpUrl | None) -> HttpUrl | None:
        if value is None:
            return None
        loopback = value.host in ("localhost", "127.0.0.1", "[::1]", "::1")
        if value.scheme != "https" and not loopback:
            raise ValueError("must be an https:// URL (http:// only for a loopback address)")
        if value.query or value.fragment or value.username or value.password:
            raise ValueError("must be just the server's address, e.g. https://edfs-mcp.example.com")
        if (value.path or "/").rstrip("/") not in ("", "/mcp"):
            raise ValueError("must end at the host (or at /mcp), e.g. https://edfs-mcp.example.com")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parts = urlsplit(value.get_secret_value().strip())
            if parts.scheme not in ("redis", "rediss", "unix") or not (parts.netloc or parts.path):
                raise ValueError("must be a redis://host:port/db, rediss://… or unix:///path URL")
            if importlib.util.find_spec("redis") is None:  # the team extra brings it; stdio needs none
                raise ValueError("needs the team deployment's extra: pip install 'edfs-mcp[team]'")
        return value

    @field_validator("state_key")
    @classmethod
    def _state_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            import base64
            import binascii

            raw = value.get_secret_value().strip()
            try:
                key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
            except (binascii.Error, ValueError):
                key = b""
            if len(key) != 32:
                raise ValueError(
                    "must be 32 random bytes in base64url; make one with "
                    "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
                )
        return value

    @property
    def http_auth_mode(self) -> Literal["none", "bearer", "oauth"]:
        """How MCP clients authenticate on streamable HTTP, the setting or what the others imply."""
        if self.http_auth is not None:
            return self.http_auth
        if self.http_bearer is not None:
            return "bearer"
        return "oauth" if self.public_url is not None else "none"

    @property
    def oauth_key(self) -> bytes:
        """The state key's 32 bytes (oauth mode only)."""
        import base64

        assert self.state_key is not None
        raw = self.state_key.get_secret_value().strip()
        return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))

    def _http_auth_problem(self) -> str | None:
        mode = self.http_auth_mode
        if mode == "bearer" and self.http_bearer is None:
            return "EDFS_MCP_HTTP_AUTH=bearer needs EDFS_MCP_HTTP_BEARER, the secret MCP clients send"
        if mode != "bearer" and self.http_bearer is not None:
            return f"EDFS_MCP_HTTP_BEARER is set but EDFS_MCP_HTTP_AUTH is {mode}: unset one of them"
        if mode != "oauth":
            stray = [
                env_name(n) for n in ("public_url", "state_key", "redis_url") if getattr(self, n) is not None
            ]
            if stray:
                return (
                    f"{' and '.join(stray)} {'is' if len(stray) == 1 else 'are'} only used with "
                    f"EDFS_MCP_HTTP_AUTH=oauth (it is {mode}): set EDFS_MCP_HTTP_AUTH=oauth and "
                    "EDFS_MCP_PUBLIC_URL, or unset them"
                )
            return None
        if self.sandbox:
            return (
                "EDFS_MCP_HTTP_AUTH=oauth signs people in at Bentley, which the in-process sandbox cannot "
                "do: run `edfs-mcp sandbox --as web` and source the lines it prints instead of --sandbox"
            )
        if self.public_url is None:
            return "EDFS_MCP_HTTP_AUTH=oauth needs EDFS_MCP_PUBLIC_URL, the https:// address MCP clients use"
        if self.access_token is not None:
            return (
                "EDFS_MCP_ACCESS_TOKEN cannot be used with EDFS_MCP_HTTP_AUTH=oauth (every call runs as "
                "the person signed in): unset it"
            )
        if not self.client_id or self.client_secret is None:
            return (
                "EDFS_MCP_HTTP_AUTH=oauth needs a Bentley web app: set EDFS_MCP_CLIENT_ID and "
                "EDFS_MCP_CLIENT_SECRET (README: Run it for a team)"
            )
        if self.state_key is None:
            return (
                "EDFS_MCP_HTTP_AUTH=oauth needs EDFS_MCP_STATE_KEY, the key that seals people's tokens; make "
                "one with python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return None

    @model_validator(mode="after")
    def _whole_configuration(self) -> Settings:
        """Half a configuration fails here, naming what to add; the sandbox ignores credentials."""
        problem = self._http_auth_problem()
        if problem:
            raise ValueError(problem)
        if self.sandbox:
            return self
        if self.client_secret is not None and not self.client_id:
            raise ValueError(
                "EDFS_MCP_CLIENT_SECRET is set but EDFS_MCP_CLIENT_ID is not: set the client id of the "
                "service app the secret belongs to, or unset EDFS_MCP_CLIENT_SECRET"
            )
        if not self.credentials_given and self.service_given:
            names = " and ".join(env_name(name) for name in self.service_given)
            raise ValueError(
                f"{names} {'is' if len(self.service_given) == 1 else 'are'} set but no credential is: "
                "set EDFS_MCP_CLIENT_ID and EDFS_MCP_CLIENT_SECRET (a service app), EDFS_MCP_CLIENT_ID "
                "alone (a person, then run `edfs-mcp login`) or EDFS_MCP_ACCESS_TOKEN; "
                "or EDFS_MCP_SANDBOX=true for the demo sandbox"
            )
        return self

    @property
    def credentials_given(self) -> list[str]:
        """The credential settings present (names of fields), whatever their use."""
        return [name for name in CREDENTIAL_SETTINGS if getattr(self, name) is not None]

    @property
    def service_given(self) -> list[str]:
        """The service settings present (names of fields), defaults excluded."""
        return [name for name in SERVICE_SETTINGS if name in self.model_fields_set]

    @property
    def api_root(self) -> str:
        return str(self.api_base).rstrip("/")

    @property
    def authority_root(self) -> str:
        return str(self.authority).rstrip("/")

    @property
    def token_endpoint(self) -> str:
        return token_endpoint_of(self.authority_root)

    def credential_source(self) -> CredentialSource:
        """The first token source that applies; the sandbox when asked for or nothing is configured."""
        if self.sandbox:
            return CredentialSource.SANDBOX
        if self.http_auth_mode == "oauth":
            return CredentialSource.PEOPLE
        if self.access_token is not None:
            return CredentialSource.ACCESS_TOKEN
        if self.client_id and self.client_secret is not None:
            return CredentialSource.CLIENT_CREDENTIALS
        if self.client_id:
            return CredentialSource.USER
        return CredentialSource.SANDBOX

    def secret_values(self) -> list[str]:
        """The configured secrets, so logs can mask them."""
        secrets = (self.client_secret, self.access_token, self.http_bearer, self.state_key)
        found = [s.get_secret_value() for s in secrets if s is not None]
        if self.redis_url is not None:  # a password in the URL
            password = urlsplit(self.redis_url.get_secret_value()).password
            found += [password] if password else []
        return found

    @property
    def user_scopes(self) -> str:
        """Scopes for a person's sign-in: always with offline_access, so it lasts weeks."""
        scopes = self.scopes.split()
        return " ".join([*scopes, "offline_access"] if "offline_access" not in scopes else scopes)

    @property
    def token_directory(self) -> Path:
        if self.config_dir is not None:
            return self.config_dir
        base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        return Path(base) / "edfs-mcp"

    @property
    def graphical_session(self) -> bool:
        """A browser can likely be opened here: macOS, Windows, or an X/Wayland display."""
        if sys.platform in ("darwin", "win32"):
            return True
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def environment_without_settings() -> dict[str, str]:
    """The environment for a helper process of ours: everything but the ``EDFS_MCP_*`` settings, so
    no secret of ours reaches a process that has no use for it."""
    return {name: value for name, value in os.environ.items() if not name.upper().startswith(ENV_PREFIX)}


def _unknown_name(variable: str) -> str:
    import difflib

    given = variable[len(ENV_PREFIX) :].upper()
    fields = [field.upper() for field in Settings.model_fields]
    # Compared without the prefix (shared by all) and also without underscores, so
    # EDFS_MCP_CLIENTID finds EDFS_MCP_CLIENT_ID.
    squeezed = {field.replace("_", ""): field for field in fields}
    close = difflib.get_close_matches(given, fields, n=1, cutoff=0.7) or [
        squeezed[match]
        for match in difflib.get_close_matches(given.replace("_", ""), list(squeezed), n=1, cutoff=0.7)
    ]
    hint = f"did you mean {ENV_PREFIX}{close[0]}?" if close else "the README's Configuration table lists them"
    return f"{variable} is not an edfs-mcp setting; {hint}"


def load_settings(**overrides: object) -> Settings:
    """Settings from the ``EDFS_MCP_*`` environment variables, plus ``overrides``.

    Raises ConfigError with one line per problem, each naming its variable: a bad value, an
    unknown name, or a configuration that is only half there (told once the values are good).
    """
    return settings_in(os.environ, **overrides)


def requested_log_format(environ: Mapping[str, str] = os.environ) -> Literal["text", "json"]:
    """``EDFS_MCP_LOG_FORMAT`` as far as it can be read on its own: the format of the lines written
    before the settings are (usage and configuration errors), so a log collector reads those too."""
    wanted = [value for name, value in environ.items() if name.upper() == env_name("log_format")]
    return "json" if any(value.strip().lower() == "json" for value in wanted) else "text"


def settings_in(environ: Mapping[str, str], **overrides: object) -> Settings:
    """``load_settings`` for another environment than this process's (the one a server process
    would get, say)."""
    values: dict[str, object] = {}
    problems: list[str] = []
    for variable, value in sorted(environ.items()):
        if not variable.upper().startswith(ENV_PREFIX):
            continue
        field = variable[len(ENV_PREFIX) :].lower()
        if field not in Settings.model_fields:
            problems.append(_unknown_name(variable))
            continue
        values[field] = value
    values.update(overrides)
    try:
        settings = Settings.model_validate(values)
    except ValidationError as exc:
        problems += _problems(exc)
    if problems:
        raise ConfigError("\n".join(problems)) from None
    return settings


def _problems(exc: ValidationError) -> list[str]:
    """One line per bad setting, naming its variable (a field may fail more than one way: the first)."""
    lines: dict[str, str] = {}
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        if not error["loc"]:  # a whole-configuration rule: its message names the variables
            lines.setdefault(message, message)
        else:
            name = env_name(str(error["loc"][0]))
            lines.setdefault(name, f"{name}: {message}")
    return list(lines.values())
