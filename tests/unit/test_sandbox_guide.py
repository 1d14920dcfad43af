"""The guide `edfs-mcp sandbox` writes on stderr says where the exports went and how people sign in."""

import pytest

from edfs_mcp.cli import sandbox_guide
from edfs_mcp.sandbox import seed

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
