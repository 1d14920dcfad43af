"""Every HTML page a person sees comes from edfs_mcp.templates, and every value on it is escaped."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from edfs_mcp.templates import render

PACKAGE = Path(__file__).resolve().parents[2] / "edfs_mcp"
TEMPLATES = sorted(path.name for path in (PACKAGE / "templates").glob("*.html"))
HOSTILE = "<script>alert('x')</script>\"&"

# What each page needs, every string hostile: none of it may reach the page as markup.
VALUES: dict[str, dict[str, object]] = {
    "page.html": {"title": HOSTILE},
    "loopback.html": {"title": HOSTILE, "text": HOSTILE},
    "remote.html": {"title": HOSTILE, "text": HOSTILE},
    "consent.html": {
        "title": HOSTILE,
        "client_name": HOSTILE,
        "client_id": HOSTILE,
        "redirect_uri": HOSTILE,
        "signed_in_as": HOSTILE,
        "action": HOSTILE,
        "request_id": HOSTILE,
    },
    "sandbox.html": {"title": HOSTILE, "text": HOSTILE, "code": HOSTILE},
    "sandbox_sign_in.html": {
        "title": HOSTILE,
        "action": HOSTILE,
        "client_id": HOSTILE,
        "scope": HOSTILE,
        "hidden": {HOSTILE: HOSTILE},
        "user_code": HOSTILE,
        "username": HOSTILE,
        "error": HOSTILE,
        "lead": HOSTILE,
        "users": [HOSTILE],
        "password": HOSTILE,
    },
    "system_setup.html": {
        "title": HOSTILE,
        "form": {k: HOSTILE for k in ("system_id", "system_type", "name", "unique_name", "itwin_id", "csrf")},
        "errors": [HOSTILE],
        "text": HOSTILE,
        "fields": [
            {
                "index": 0,
                "name": HOSTILE,
                "note": HOSTILE,
                "options": [HOSTILE],
                "secret": False,
                "value": HOSTILE,
                "required": True,
                "input_type": HOSTILE,
            },
            {
                "index": 1,
                "name": HOSTILE,
                "note": HOSTILE,
                "options": None,
                "secret": False,
                "value": HOSTILE,
                "required": True,
                "input_type": HOSTILE,
            },
        ],
    },
}


def test_every_template_is_checked_here() -> None:
    assert sorted(VALUES) == TEMPLATES


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_value_is_escaped(template: str) -> None:
    html = render(template, **VALUES[template])
    assert html.startswith("<!doctype html>")
    assert "<script" not in html and "alert('x')" not in html
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize("template", TEMPLATES)
def test_no_template_turns_escaping_off(template: str) -> None:
    text = (PACKAGE / "templates" / template).read_text(encoding="utf-8")
    assert "|safe" not in text.replace(" ", "") and "autoescape" not in text and "<script" not in text


def test_a_value_left_out_is_an_error_not_an_empty_string() -> None:
    with pytest.raises(jinja2.UndefinedError, match="text"):
        render("remote.html", title="t")


def test_no_module_builds_a_page_by_hand() -> None:
    """A page written as an f-string needs escape() at every value; these are templates instead."""
    by_hand = sorted(
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if "<!doctype" in path.read_text(encoding="utf-8").lower()
    )
    assert by_hand == []
