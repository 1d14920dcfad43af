import pytest

from edfs_mcp.config import CredentialSource, load_settings
from edfs_mcp.errors import ConfigError


def test_no_credentials_means_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CLIENT_ID", "CLIENT_SECRET", "ACCESS_TOKEN", "SANDBOX"):
        monkeypatch.delenv(f"EDFS_MCP_{name}", raising=False)
    assert load_settings().credential_source() is CredentialSource.SANDBOX


def test_sources_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDFS_MCP_CLIENT_ID", "svc")
    monkeypatch.setenv("EDFS_MCP_CLIENT_SECRET", "s3cret")
    assert load_settings().credential_source() is CredentialSource.CLIENT_CREDENTIALS
    monkeypatch.setenv("EDFS_MCP_ACCESS_TOKEN", "tok")
    assert load_settings().credential_source() is CredentialSource.ACCESS_TOKEN
    assert load_settings(sandbox=True).credential_source() is CredentialSource.SANDBOX


def test_client_id_without_secret_means_a_person_signs_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDFS_MCP_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("EDFS_MCP_CLIENT_SECRET", raising=False)
    monkeypatch.setenv("EDFS_MCP_CLIENT_ID", "native-app")
    settings = load_settings()
    assert settings.credential_source() is CredentialSource.USER
    assert settings.user_scopes == "itwin-platform offline_access"


def test_redirect_uri_must_be_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDFS_MCP_REDIRECT_URI", "https://example.com/callback")
    with pytest.raises(ConfigError, match="EDFS_MCP_REDIRECT_URI"):
        load_settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("API_BASE", "not a url"),
        ("READ_TIMEOUT", "-1"),
        ("LOG_LEVEL", "LOUD"),
        ("RESULT_BUDGET_TOKENS", "90000"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(f"EDFS_MCP_{name}", value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"EDFS_MCP_{name}:") and "\n" not in message and value not in message


def test_secrets_are_not_in_the_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDFS_MCP_CLIENT_SECRET", "hunter2-very-secret")
    monkeypatch.setenv("EDFS_MCP_ACCESS_TOKEN", "eyJ-token-value")
    settings = load_settings()
    assert "hunter2" not in repr(settings) and "eyJ-token" not in repr(settings)
