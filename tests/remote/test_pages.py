"""The consent pages' pure parts: which CSP source lets a form's answer go on to a URL."""

from __future__ import annotations

import pytest

from edfs_mcp.remote.pages import form_action_source


@pytest.mark.parametrize(
    ("url", "source"),
    [
        ("http://127.0.0.1:5173/callback?x=1", "http://127.0.0.1:5173"),
        ("https://ims.bentley.com/connect/authorize", "https://ims.bentley.com"),
        ("HTTPS://Claude.AI/api/mcp/auth_callback", "https://claude.ai"),
        ("cursor://anysphere.cursor-retrieval/oauth/callback", "cursor:"),
        ("com.example.app:/oauth2redirect", "com.example.app:"),
        ("http://[::1]:8080/callback", "http:"),  # no host-source form for an IPv6 literal
    ],
)
def test_the_source_for_a_redirect(url: str, source: str) -> None:
    assert form_action_source(url) == source


@pytest.mark.parametrize(
    "url",
    [
        "http://evil.example;script-src *:80/cb",  # would add a directive to the header
        "http://host:99999/cb",  # no such port
        "1http://host/cb",  # not a scheme
        "no scheme at all",
        "http://ex ample.com/cb",
    ],
)
def test_a_url_that_cannot_be_a_source_adds_nothing(url: str) -> None:
    assert form_action_source(url) is None
