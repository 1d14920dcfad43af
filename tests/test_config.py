"""Settings from EDFS_MCP_* variables: one line naming the variable for anything wrong."""

import sys

import pytest

from edfs_mcp.config import CredentialSource, Settings, load_settings
from edfs_mcp.errors import ConfigError

pytestmark = pytest.mark.usefixtures("no_settings")  # tests/conftest.py


def _error(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_no_credentials_means_sandbox() -> None:
    assert load_settings().credential_source() is CredentialSource.SANDBOX


def test_sources_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDFS_MCP_CLIENT_ID", "svc")
    monkeypatch.setenv("EDFS_MCP_CLIENT_SECRET", "s3cret")
    assert load_settings().credential_source() is CredentialSource.CLIENT_CREDENTIALS
    monkeypatch.setenv("EDFS_MCP_ACCESS_TOKEN", "tok")
    assert load_settings().credential_source() is CredentialSource.ACCESS_TOKEN
    assert load_settings(sandbox=True).credential_source() is CredentialSource.SANDBOX


def test_client_id_without_secret_means_a_person_signs_in(monkeypatch: pytest.MonkeyPatch) -> None:
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
        ("SANDBOX", "maybe"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    message = _error(monkeypatch, **{f"EDFS_MCP_{name}": value})
    assert message.startswith(f"EDFS_MCP_{name}:") and value not in message


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("EDFS_MCP_CLIENTID", "EDFS_MCP_CLIENT_ID"),
        ("EDFS_MCP_CLIENT_SECRETS", "EDFS_MCP_CLIENT_SECRET"),
        ("EDFS_MCP_SANBOX", "EDFS_MCP_SANDBOX"),
        ("EDFS_MCP_READONLY", "EDFS_MCP_READ_ONLY"),
        ("EDFS_MCP_APIBASE", "EDFS_MCP_API_BASE"),
    ],
)
def test_an_unknown_name_fails_with_the_closest_setting(
    monkeypatch: pytest.MonkeyPatch, given: str, meant: str
) -> None:
    message = _error(monkeypatch, **{given: "x"})
    assert message == f"{given} is not an edfs-mcp setting; did you mean {meant}?"


def test_an_unknown_name_with_nothing_close_points_at_the_list(monkeypatch: pytest.MonkeyPatch) -> None:
    message = _error(monkeypatch, EDFS_MCP_WHATEVER="1")
    assert message.startswith("EDFS_MCP_WHATEVER is not an edfs-mcp setting")
    assert "did you mean" not in message


def test_an_unknown_name_fails_even_beside_a_valid_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    message = _error(monkeypatch, EDFS_MCP_CLIENT_ID="app", EDFS_MCP_CLIENT_SECERT="x")
    assert "did you mean EDFS_MCP_CLIENT_SECRET?" in message


def test_names_are_case_insensitive_like_before(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("edfs_mcp_client_id", "native-app")
    assert load_settings().credential_source() is CredentialSource.USER


def test_a_secret_without_its_client_id_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    message = _error(monkeypatch, EDFS_MCP_CLIENT_SECRET="s3cret-value")
    assert message.startswith("EDFS_MCP_CLIENT_SECRET is set but EDFS_MCP_CLIENT_ID is not")
    assert "s3cret-value" not in message
    # even when a token would be used instead: the pair is broken either way
    assert "EDFS_MCP_CLIENT_ID is not" in _error(monkeypatch, EDFS_MCP_ACCESS_TOKEN="tok")


@pytest.mark.parametrize(
    "env",
    [
        {"EDFS_MCP_API_BASE": "https://api.bentley.com"},
        {"EDFS_MCP_AUTHORITY": "https://ims.bentley.com"},
        {"EDFS_MCP_API_BASE": "https://api.example", "EDFS_MCP_AUTHORITY": "https://ims.example"},
        {"EDFS_MCP_DEVICE_AUTHORIZATION_ENDPOINT": "https://ims.example/device"},
    ],
)
def test_a_service_without_a_credential_fails_saying_what_to_set(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    message = _error(monkeypatch, **env)
    assert message.startswith(" and ".join(env)) and "set but no credential is" in message
    remedies = ("EDFS_MCP_CLIENT_ID", "EDFS_MCP_CLIENT_SECRET", "EDFS_MCP_ACCESS_TOKEN", "EDFS_MCP_SANDBOX")
    assert all(remedy in message for remedy in remedies)


def test_a_service_with_a_credential_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDFS_MCP_API_BASE", "https://api.example")
    monkeypatch.setenv("EDFS_MCP_ACCESS_TOKEN", "tok")
    settings = load_settings()
    assert settings.credential_source() is CredentialSource.ACCESS_TOKEN
    assert settings.api_root == "https://api.example"


def test_asking_for_the_sandbox_ignores_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDFS_MCP_API_BASE", "https://api.example")
    monkeypatch.setenv("EDFS_MCP_CLIENT_SECRET", "s3cret")
    assert load_settings(sandbox=True).credential_source() is CredentialSource.SANDBOX
    monkeypatch.setenv("EDFS_MCP_SANDBOX", "true")
    settings = load_settings()
    assert settings.credential_source() is CredentialSource.SANDBOX
    assert settings.credentials_given == ["client_secret"] and settings.service_given == ["api_base"]


def test_empty_values_are_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Client configs ship empty placeholders: they must start the sandbox, not fail or half-configure."""
    for name in ("CLIENT_ID", "CLIENT_SECRET", "ACCESS_TOKEN", "API_BASE", "AUTHORITY", "SCOPES", "TIMEZONE"):
        monkeypatch.setenv(f"EDFS_MCP_{name}", "  " if name == "CLIENT_ID" else "")
    settings = load_settings()
    assert settings.credential_source() is CredentialSource.SANDBOX
    assert settings.api_root == "https://api.bentley.com" and settings.scopes == "itwin-platform"
    assert settings.timezone == "UTC"


def test_programmatic_settings_refuse_unknown_fields() -> None:
    with pytest.raises(ValueError, match="client_identifier"):
        Settings(client_identifier="x")  # type: ignore[call-arg]


def test_secrets_are_not_in_the_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDFS_MCP_CLIENT_ID", "svc")
    monkeypatch.setenv("EDFS_MCP_CLIENT_SECRET", "hunter2-very-secret")
    monkeypatch.setenv("EDFS_MCP_ACCESS_TOKEN", "eyJ-token-value")
    settings = load_settings()
    assert "hunter2" not in repr(settings) and "eyJ-token" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "written", "meant"),
    [
        ("LOG_LEVEL", "debug", "DEBUG"),
        ("LOG_LEVEL", " Warning ", "WARNING"),
        ("LOG_FORMAT", "JSON", "json"),
        ("TOKEN_STORE", "File", "file"),
        ("SIGN_IN_FLOW", "DEVICE", "device"),
    ],
)
def test_a_choice_may_be_written_in_any_case(
    monkeypatch: pytest.MonkeyPatch, name: str, written: str, meant: str
) -> None:
    monkeypatch.setenv(f"EDFS_MCP_{name}", written)
    assert getattr(load_settings(), name.lower()) == meant


def test_a_choice_in_any_case_is_still_a_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _error(monkeypatch, EDFS_MCP_LOG_LEVEL="debugging").startswith("EDFS_MCP_LOG_LEVEL:")


def test_every_bad_setting_is_reported_at_once_one_line_each(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "EDFS_MCP_LOG_LEVEL": "loud",
        "EDFS_MCP_READ_TIMEOUT": "-5",
        "EDFS_MCP_CLIENTID": "app",
        "EDFS_MCP_API_BASE": "not a url",
    }.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    lines = str(caught.value).splitlines()
    assert [line.split(":")[0].split(" ")[0] for line in lines] == [
        "EDFS_MCP_CLIENTID",  # unknown names first, then the values in the settings' order
        "EDFS_MCP_API_BASE",
        "EDFS_MCP_READ_TIMEOUT",
        "EDFS_MCP_LOG_LEVEL",
    ]
    assert "did you mean EDFS_MCP_CLIENT_ID?" in lines[0]
    assert not any(value in str(caught.value) for value in ("loud", "-5", "not a url"))


def test_redis_without_the_team_extra_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    # The stdio install has no redis; a None in sys.modules is how "not installed" looks to find_spec.
    monkeypatch.setitem(sys.modules, "redis", None)
    message = _error(monkeypatch, EDFS_MCP_REDIS_URL="redis://:hunter2@127.0.0.1:6379/0")
    assert message.startswith("EDFS_MCP_REDIS_URL:") and "edfs-mcp[team]" in message
    assert "hunter2" not in message
