import logging

import pytest

from edfs_mcp.logs import MASK, RedactingFilter, redact

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhdmVyeSIsImV4cCI6MX0.c2lnbmF0dXJlLXZhbHVl"


@pytest.mark.parametrize(
    "text",
    [
        f"token {JWT} used",
        "Authorization: Bearer abc.def-123",
        "refresh_token=rt-7f3a9c0d11&x=1",
        '{"access_token": "opaque-token-value", "expires_in": 3600}',
        "device_code: GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS",
        "client_secret='s3cr3t-value'",
        "code_verifier=abcdefghijklmnop",
    ],
)
def test_secrets_are_masked(text: str) -> None:
    masked = redact(text)
    assert MASK in masked
    for secret in (
        JWT,
        "abc.def-123",
        "rt-7f3a9c0d11",
        "opaque-token-value",
        "GmRhmhcx",
        "s3cr3t-value",
        "abcdefghij",
    ):
        assert secret not in masked


def test_configured_secret_values_are_masked_anywhere() -> None:
    assert redact("oops hunter2-secret leaked", ["hunter2-secret"]) == f"oops {MASK} leaked"


def test_plain_text_is_untouched() -> None:
    text = "GET /edfs/itwins/2f4b8c1e-7a3d-4e59-b6c0-91d2e3f4a5b1/timers 200"
    assert redact(text) == text


def test_the_filter_rewrites_records(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("edfs_mcp.test_logs")
    logger.addFilter(RedactingFilter(["top-secret-value"]))
    with caplog.at_level(logging.INFO, logger="edfs_mcp.test_logs"):
        logger.info("sent %s with %s", "top-secret-value", JWT)
    assert "top-secret-value" not in caplog.text and JWT not in caplog.text and MASK in caplog.text
