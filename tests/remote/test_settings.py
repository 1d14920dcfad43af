"""EDFS_MCP_HTTP_AUTH=oauth: a half configuration stops at start with one line naming what to add."""

from __future__ import annotations

import secrets
import subprocess
import sys

import pytest

from edfs_mcp.config import CredentialSource, load_settings
from edfs_mcp.errors import ConfigError
from tests.harness import clean_env

KEY = secrets.token_urlsafe(32)
WHOLE = {
    "http_auth": "oauth",
    "public_url": "https://edfs-mcp.example.com",
    "state_key": KEY,
    "client_id": "web-app",
    "client_secret": "web-secret-123456",
}


pytestmark = pytest.mark.usefixtures("no_settings")  # tests/conftest.py


def test_a_whole_oauth_configuration() -> None:
    settings = load_settings(**WHOLE)
    assert settings.credential_source() is CredentialSource.PEOPLE
    assert settings.http_auth_mode == "oauth" and len(settings.oauth_key) == 32
    assert KEY in settings.secret_values()
    inferred = load_settings(**{k: v for k, v in WHOLE.items() if k != "http_auth"})
    assert inferred.http_auth_mode == "oauth"


@pytest.mark.parametrize(
    ("missing_or_changed", "says"),
    [
        ({"public_url": None}, "EDFS_MCP_PUBLIC_URL"),
        ({"state_key": None}, "EDFS_MCP_STATE_KEY"),
        ({"client_secret": None}, "EDFS_MCP_CLIENT_SECRET"),
        ({"client_id": None, "client_secret": None}, "EDFS_MCP_CLIENT_ID"),
        ({"access_token": "tok-1234567"}, "EDFS_MCP_ACCESS_TOKEN"),
        ({"http_bearer": "bearer-secret-1"}, "EDFS_MCP_HTTP_BEARER"),
        ({"sandbox": "true"}, "sandbox --as web"),
        ({"state_key": "too-short"}, "32 random bytes"),
        ({"public_url": "http://edfs-mcp.example.com"}, "https"),
        ({"public_url": "https://edfs-mcp.example.com/other"}, "at the host"),
    ],
)
def test_half_an_oauth_configuration_fails_with_one_line(
    missing_or_changed: dict[str, str | None], says: str
) -> None:
    values = {**WHOLE, **missing_or_changed}
    with pytest.raises(ConfigError) as caught:
        load_settings(**{k: v for k, v in values.items() if v is not None})
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_oauth_settings_without_oauth_mode_are_refused() -> None:
    with pytest.raises(ConfigError, match="only used with EDFS_MCP_HTTP_AUTH=oauth"):
        load_settings(state_key=KEY)
    with pytest.raises(ConfigError, match="needs EDFS_MCP_HTTP_BEARER"):
        load_settings(http_auth="bearer")


@pytest.mark.real_process
def test_the_cli_stops_at_start_with_one_line() -> None:
    env = clean_env()
    env.update(EDFS_MCP_HTTP_AUTH="oauth", EDFS_MCP_PUBLIC_URL="https://edfs-mcp.example.com")
    done = subprocess.run(
        [sys.executable, "-m", "edfs_mcp", "serve", "--transport", "streamable-http"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "EDFS_MCP_CLIENT_ID" in done.stderr, done.stderr


@pytest.mark.real_process
def test_sandbox_as_web_prints_what_serve_needs() -> None:
    env = clean_env()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edfs_mcp",
            "sandbox",
            "--as",
            "web",
            "--port",
            "0",
            "--public-url",
            "http://127.0.0.1:8123",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().strip() for _ in range(7)]
    finally:
        process.terminate()
        process.wait(20)
    exported = dict(line.removeprefix("export ").split("=", 1) for line in lines)
    settings = load_settings(**{k.removeprefix("EDFS_MCP_").lower(): v for k, v in exported.items()})
    assert settings.credential_source() is CredentialSource.PEOPLE
    assert exported["EDFS_MCP_PUBLIC_URL"] == "http://127.0.0.1:8123"


@pytest.mark.real_process
@pytest.mark.parametrize(("command", "code"), [("status", 0), ("login", 2), ("logout", 0)])
def test_status_login_logout_say_people_sign_in_from_their_clients(command: str, code: int) -> None:
    env = clean_env()
    env.update({f"EDFS_MCP_{k.upper()}": v for k, v in WHOLE.items()})
    done = subprocess.run(
        [sys.executable, "-m", "edfs_mcp", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == code, done.stderr
    assert "from their MCP client at https://edfs-mcp.example.com/mcp" in done.stderr
    assert WHOLE["client_secret"] not in done.stderr and KEY not in done.stderr


def test_the_public_host_is_accepted_with_and_without_a_port() -> None:
    from mcp.server.transport_security import TransportSecurityMiddleware

    from edfs_mcp.http_transport import transport_security_for

    guard = TransportSecurityMiddleware(transport_security_for("0.0.0.0", ["edfs-mcp.example.com"]))  # noqa: S104
    assert guard._validate_host("edfs-mcp.example.com") and guard._validate_host("edfs-mcp.example.com:443")
    assert guard._validate_origin("https://edfs-mcp.example.com")
    assert not guard._validate_host("attacker.example") and not guard._validate_host(
        "edfs-mcp.example.com.evil"
    )
