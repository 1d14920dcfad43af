"""edfs_mcp/cli.py: a command-line flag beats the environment, decided in one place (``cli._overrides``);
the guide `edfs-mcp sandbox` writes on stderr."""

from __future__ import annotations

import pytest

from edfs_mcp.cli import _overrides, _parser, sandbox_guide
from edfs_mcp.config import load_settings
from edfs_mcp.sandbox import seed


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


# The guide `edfs-mcp sandbox` writes on stderr says where the exports went and how people sign in.
BASE = "http://127.0.0.1:8765"


@pytest.mark.parametrize("exports", ["above", "written to stdout (web.env)", "written to stdout"])
def test_the_guide_says_where_the_export_lines_went(exports: str) -> None:
    lines = sandbox_guide(BASE, "service", auto_approve=False, exports=exports).splitlines()
    assert lines[1].startswith(f"The lines {exports} point `edfs-mcp serve` at it as ")


def test_people_approve_a_device_sign_in_at_the_device_page() -> None:
    guide = sandbox_guide(BASE, "person", auto_approve=False)
    assert f"Approve a sign-in at {BASE}/device with a user below (password {seed.SANDBOX_PASSWORD})" in guide


def test_as_web_people_sign_in_on_the_sign_in_page_not_the_device_page() -> None:
    guide = sandbox_guide(BASE, "web", auto_approve=False)
    assert "/device" not in guide
    assert (
        f"sign in on the sandbox's sign-in page with a user below (password {seed.SANDBOX_PASSWORD})" in guide
    )


def test_as_web_with_auto_approve_our_consent_page_still_asks() -> None:
    guide = sandbox_guide(BASE, "web", auto_approve=True)
    assert "/device" not in guide
    assert f"approves itself as {seed.AUTO_APPROVE_USER}; our consent page still asks" in guide
