import json
import logging
import sys
import threading
import warnings
from collections.abc import Iterator

import pytest

from edfs_mcp.logs import MASK, RedactingFilter, configure_logging, redact, say

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


@pytest.fixture
def logging_put_back() -> Iterator[None]:
    """The process's logging and hooks as they were before the test configured its own."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    hooks = (sys.excepthook, threading.excepthook)
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        sys.excepthook, threading.excepthook = hooks
        logging.captureWarnings(False)


@pytest.mark.usefixtures("logging_put_back")
def test_what_is_said_reads_as_a_sentence_in_text_and_shows_whatever_the_level(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("ERROR")
    say("edfs-mcp: listening on http://127.0.0.1:8000/mcp")
    logging.getLogger("edfs_mcp.test_logs").warning("below the level")
    assert capsys.readouterr().err == "edfs-mcp: listening on http://127.0.0.1:8000/mcp\n"


@pytest.mark.usefixtures("logging_put_back")
def test_in_json_what_is_said_warnings_and_uncaught_exceptions_are_json_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("WARNING", ["hunter2-secret"], json_lines=True)
    say("edfs-mcp: configuration error: EDFS_MCP_READ_TIMEOUT: bad", logging.ERROR)
    warnings.warn("a library's warning", UserWarning, stacklevel=1)
    try:
        raise RuntimeError("it broke with hunter2-secret")
    except RuntimeError as exc:
        sys.excepthook(RuntimeError, exc, exc.__traceback__)
    written = capsys.readouterr().err
    said, warned, uncaught = (json.loads(line) for line in written.splitlines())
    assert said["level"] == "ERROR" and said["message"].startswith("edfs-mcp: configuration error")
    assert "a library's warning" in warned["message"]
    assert uncaught["level"] == "CRITICAL" and "RuntimeError" in uncaught["exception"]
    assert "hunter2-secret" not in written


@pytest.mark.parametrize(
    "text",
    [
        "edfs-mcp: refusing to serve on 0.0.0.0: Set EDFS_MCP_HTTP_BEARER to a long random secret",
        "EDFS_MCP_HTTP_AUTH=bearer needs EDFS_MCP_HTTP_BEARER, the secret MCP clients send",
        "EDFS_MCP_HTTP_BEARER is set but EDFS_MCP_HTTP_AUTH is none: unset one of them",
    ],
)
def test_a_setting_named_bearer_does_not_mask_the_next_word(text: str) -> None:
    assert redact(text) == text
