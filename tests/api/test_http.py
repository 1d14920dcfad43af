"""Pure parts of the HTTP layer: safe path segments, Retry-After, error bodies."""

import email.utils
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edfs_mcp.api._http import Target, parse_retry_after, read_error_body, segment, target
from edfs_mcp.errors import ErrorDetail


@pytest.mark.parametrize("value", ["", ".", "..", "a\nb", "x\x00", "\x7f"])
def test_segment_refuses_values_that_could_change_the_path(value: str) -> None:
    with pytest.raises(ValueError, match="unsafe path segment"):
        segment(value)


@given(st.text(min_size=1).filter(lambda s: s not in (".", "..") and all(0x20 <= ord(c) != 0x7F for c in s)))
def test_segment_output_never_contains_a_separator_or_query(value: str) -> None:
    encoded = segment(value)
    assert "/" not in encoded and "?" not in encoded and "#" not in encoded
    assert encoded not in (".", "..")


def test_segment_encodes_traversal_attempts() -> None:
    assert segment("../timers") == "..%2Ftimers"
    assert segment("a%2Fb") == "a%252Fb"


@pytest.mark.parametrize(("header", "expected"), [("3", 3.0), ("0", 0.0), (" 2.5 ", 2.5), ("-4", 0.0)])
def test_retry_after_seconds(header: str, expected: float) -> None:
    assert parse_retry_after(header) == expected


def test_retry_after_http_date_is_seconds_from_now() -> None:
    header = email.utils.formatdate(time.time() + 30, usegmt=True)
    seconds = parse_retry_after(header)
    assert seconds is not None and 25 <= seconds <= 31


@pytest.mark.parametrize("header", [None, "soon", ""])
def test_retry_after_unreadable_is_none(header: str | None) -> None:
    assert parse_retry_after(header) is None


def test_error_body_with_details() -> None:
    body = (
        b'{"error":{"code":"InvalidTimerRequest","message":"Cannot retrieve Timer.","details":['
        b'{"code":"InvalidValue","message":"Provided Timer ID value is not valid.","target":"timerId"}]}}'
    )
    code, message, details, _ = read_error_body(body)
    assert code == "InvalidTimerRequest"
    assert message == "Cannot retrieve Timer."
    assert details == (ErrorDetail("InvalidValue", "Provided Timer ID value is not valid.", "timerId"),)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html>502 Bad Gateway</html>",
        b"[]",
        b'{"error": "nope"}',
        b'{"error": {"code": 5}}',
        b"\xff\xfe",
    ],
)
def test_error_body_that_does_not_match_the_schema_gives_nothing(body: bytes) -> None:
    code, message, details, _ = read_error_body(body)
    assert code is None and message is None and details == ()


def test_error_body_text_is_kept_on_one_short_line() -> None:
    body = b'{"error":{"code":"X","message":"line one\\nline two ' + b"y" * 1000 + b'"}}'
    _, message, _, _ = read_error_body(body)
    assert message is not None and "\n" not in message and len(message) <= 300


def test_a_target_is_its_template_with_each_value_one_segment_and_keeps_the_values_for_messages() -> None:
    made = target("/edfs/itwins/{iTwinId}/timers/{timerId}", iTwinId="a/b", timerId="t 1")
    assert made == Target("/edfs/itwins/a%2Fb/timers/t%201", {"iTwinId": "a/b", "timerId": "t 1"})
    assert target("/edfs/x/{id}/odata/$metadata", id="1").path == "/edfs/x/1/odata/$metadata"
    with pytest.raises(ValueError, match="unsafe path segment"):
        target("/itwins/{iTwinId}", iTwinId="..")
    with pytest.raises(KeyError):
        target("/itwins/{iTwinId}")
