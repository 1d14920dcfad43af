"""A command-line flag beats the environment, decided in one place (``cli._overrides``)."""

from __future__ import annotations

import pytest

from edfs_mcp.cli import _overrides, _parser
from edfs_mcp.config import load_settings


def _settings_for(argv: list[str]) -> dict[str, object]:
    args = _parser().parse_args(argv)
    return _overrides(args.command, args)


def test_flags_that_name_a_setting_override_it() -> None:
    assert _settings_for(["serve", "--sandbox", "--read-only"]) == {"sandbox": True, "read_only": True}
    assert _settings_for(["login", "--flow", "device"]) == {"sign_in_flow": "device"}


def test_flags_left_out_leave_the_environment_alone() -> None:
    assert _settings_for(["serve"]) == {}
    assert _settings_for(["login"]) == {}
    assert _settings_for(["status"]) == {}


def test_the_sandbox_command_ignores_credentials_and_http_settings_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EDFS_MCP_CLIENT_ID", "real-app")
    monkeypatch.setenv("EDFS_MCP_CLIENT_SECRET", "real-secret")
    monkeypatch.setenv("EDFS_MCP_HTTP_AUTH", "oauth")
    settings = load_settings(**_settings_for(["sandbox"]))
    assert settings.sandbox is True
    assert settings.http_auth is None


def test_a_flag_beats_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDFS_MCP_SIGN_IN_FLOW", "browser")
    monkeypatch.setenv("EDFS_MCP_READ_ONLY", "false")
    settings = load_settings(**_settings_for(["serve", "--read-only"]))
    assert settings.read_only is True
    assert settings.sign_in_flow == "browser"
    assert load_settings(**_settings_for(["login", "--flow", "device"])).sign_in_flow == "device"
