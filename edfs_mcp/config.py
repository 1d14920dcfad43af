"""Settings, read once from ``EDFS_MCP_*`` environment variables.

Nothing else in the package reads the environment: the CLI builds a
:class:`Settings` and hands it down (config → auth → api → tools → server).
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, HttpUrl, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from edfs_mcp.errors import ConfigError

__all__ = ["CredentialSource", "Settings", "load_settings"]

ENV_PREFIX = "EDFS_MCP_"


class CredentialSource(StrEnum):
    """Where the server's access token comes from, first that applies."""

    ACCESS_TOKEN = "access token"  # noqa: S105 - a label, not a token
    CLIENT_CREDENTIALS = "client credentials"
    USER = "user sign-in"
    SANDBOX = "sandbox"


class Settings(BaseSettings):
    """Every knob of edfs-mcp. Field ``foo_bar`` is read from ``EDFS_MCP_FOO_BAR``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", frozen=True, hide_input_in_errors=True
    )

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
    http_allowed_hosts: str = Field(
        "", description="Extra Host names accepted on streamable HTTP (comma list)."
    )
    read_only: bool = Field(False, description="Serve only read-only tools.")

    connect_timeout: float = Field(10.0, gt=0, description="Seconds to open a connection.")
    read_timeout: float = Field(60.0, gt=0, description="Seconds to wait for a read-only answer.")
    execute_timeout: float = Field(600.0, gt=0, description="Seconds to wait for a package run.")
    max_rate_limit_wait: float = Field(
        60.0, ge=0, description="Most seconds spent waiting out 429 answers before giving up."
    )
    result_budget_tokens: int = Field(
        8000, ge=500, le=25000, description="Size budget of a tool result's preview, in tokens."
    )
    timezone: str = Field("UTC", description="IANA zone for next run times shown by list_timers.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "WARNING", description="stderr log level."
    )

    @field_validator("client_id", "scopes")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        return value or None

    @field_validator("client_secret", "access_token", "http_bearer")
    @classmethod
    def _empty_secret_is_none(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            return None
        return value

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

    @property
    def api_root(self) -> str:
        return str(self.api_base).rstrip("/")

    @property
    def authority_root(self) -> str:
        return str(self.authority).rstrip("/")

    @property
    def token_endpoint(self) -> str:
        return f"{self.authority_root}/connect/token"

    def credential_source(self) -> CredentialSource:
        """The first token source that applies; the sandbox when nothing is configured."""
        if self.sandbox:
            return CredentialSource.SANDBOX
        if self.access_token is not None:
            return CredentialSource.ACCESS_TOKEN
        if self.client_id and self.client_secret is not None:
            return CredentialSource.CLIENT_CREDENTIALS
        if self.client_id:
            return CredentialSource.USER
        return CredentialSource.SANDBOX

    def secret_values(self) -> list[str]:
        """The configured secrets, so logs can mask them."""
        secrets = (self.client_secret, self.access_token, self.http_bearer)
        return [s.get_secret_value() for s in secrets if s is not None]

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


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; a bad value raises ConfigError naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ENV_PREFIX + str(first["loc"][0]).upper() if first["loc"] else ENV_PREFIX
        raise ConfigError(f"{name}: {first['msg']}") from None
