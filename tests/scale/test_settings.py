"""EDFS_MCP_REDIS_URL and EDFS_MCP_HTTP_DRAIN_SECONDS: what they accept, and half configurations."""

from __future__ import annotations

import pytest

from edfs_mcp.config import Settings, load_settings
from edfs_mcp.errors import ConfigError
from edfs_mcp.logs import redact

OAUTH = {
    "http_auth": "oauth",
    "public_url": "https://edfs-mcp.example.com",
    "client_id": "web-app",
    "client_secret": "web-secret-value",
    "state_key": "A" * 43,
}


pytestmark = pytest.mark.usefixtures("no_settings")  # tests/conftest.py


def test_a_redis_url_is_taken_with_oauth_and_its_password_is_masked() -> None:
    settings = load_settings(**OAUTH, redis_url="redis://:pa55-word-x@redis.internal:6379/2")
    assert settings.redis_url is not None
    assert "pa55-word-x" in settings.secret_values()
    assert "pa55-word-x" not in redact("connecting to redis://:pa55-word-x@redis", settings.secret_values())
    assert "pa55-word-x" not in repr(settings)


@pytest.mark.parametrize("url", ["http://redis:6379", "redis-host:6379", "redis://"])
def test_a_url_that_is_not_redis_fails_naming_the_variable(url: str) -> None:
    with pytest.raises(ConfigError, match=r"^EDFS_MCP_REDIS_URL: must be a redis://"):
        load_settings(**OAUTH, redis_url=url)


def test_a_redis_url_without_oauth_is_half_a_configuration() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(sandbox="false", redis_url="redis://127.0.0.1:6379/0")
    message = str(caught.value)
    assert "EDFS_MCP_REDIS_URL is only used with EDFS_MCP_HTTP_AUTH=oauth" in message
    assert "\n" not in message


def test_the_drain_grace_has_a_default_and_no_negative() -> None:
    assert Settings().http_drain_seconds == 25.0
    with pytest.raises(ConfigError, match="EDFS_MCP_HTTP_DRAIN_SECONDS"):
        load_settings(http_drain_seconds="-1")
