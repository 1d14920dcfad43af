"""Error bodies: at most the error-body cap is looked at, at most 20 details are kept and the rest
counted, and a body cut at the cap still gives what came before the cut."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edfs_mcp.api._body import ERROR_BODY_LIMIT
from edfs_mcp.api._http import MAX_DETAILS, read_error_body
from edfs_mcp.errors import ErrorDetail, InvalidInput, Operation
from tests.api.conftest import session_at
from tests.api.hostile import Out, Request, hostile
from tests.harness import Waits

WRITE = Operation("create_timer", "create timer", write=True)


def body(count: int, *, code: str = "InvalidTimerRequest", message: str = "Cannot create Timer.") -> bytes:
    details = [
        {"code": "InvalidValue", "message": f"Value {n} is wrong.", "target": f"t{n}"} for n in range(count)
    ]
    return json.dumps({"error": {"code": code, "message": message, "details": details}}).encode()


@pytest.mark.parametrize("count", [0, 1, MAX_DETAILS, MAX_DETAILS + 1, 500])
def test_details_are_capped_and_the_rest_counted(count: int) -> None:
    parsed = read_error_body(body(count))
    assert parsed.code == "InvalidTimerRequest" and parsed.message == "Cannot create Timer."
    assert len(parsed.details) == min(count, MAX_DETAILS)
    assert parsed.more_details == max(0, count - MAX_DETAILS)
    if count:
        assert parsed.details[0] == ErrorDetail("InvalidValue", "Value 0 is wrong.", "t0")


@pytest.mark.parametrize("cut", [10, 40, 75, 200, 1000, 5000])
def test_a_cut_body_gives_what_came_before_the_cut(cut: int) -> None:
    whole = body(100)
    prefix = whole[:cut]
    parsed = read_error_body(prefix, complete=False)
    if b'"Cannot create Timer."' in prefix:
        assert (parsed.code, parsed.message) == ("InvalidTimerRequest", "Cannot create Timer.")
    whole_details = sum(1 for n in range(100) if f'"target": "t{n}"}}'.encode() in prefix)
    assert len(parsed.details) + parsed.more_details == whole_details


def test_a_body_longer_than_the_cap_is_read_as_cut_at_the_cap() -> None:
    whole = body(20_000)
    assert len(whole) > 10 * ERROR_BODY_LIMIT
    parsed = read_error_body(whole)  # complete, but far over the cap: only the cap is looked at
    assert parsed.code == "InvalidTimerRequest" and len(parsed.details) == MAX_DETAILS
    assert 0 < parsed.more_details < ERROR_BODY_LIMIT // 40


@pytest.mark.parametrize(
    "content",
    [b"[" * 100_000, b'{"error":' * 50_000, b'{"error": {"details": [' + b"[" * 100_000, b"\xff" * 10],
)
@pytest.mark.parametrize("complete", [True, False])
def test_pathological_bodies_give_nothing_and_never_raise(content: bytes, complete: bool) -> None:
    parsed = read_error_body(content, complete=complete)
    assert parsed.code is None and parsed.details == ()


@given(st.binary(max_size=2000), st.booleans())
def test_any_bytes_give_an_error_body_never_an_exception(content: bytes, complete: bool) -> None:
    parsed = read_error_body(content, complete=complete)
    assert len(parsed.details) <= MAX_DETAILS and parsed.more_details >= 0


@given(st.integers(min_value=0, max_value=60), st.data())
def test_any_prefix_of_a_real_body_keeps_the_details_before_the_cut(count: int, data: st.DataObject) -> None:
    whole = body(count)
    cut = data.draw(st.integers(min_value=0, max_value=len(whole)))
    parsed = read_error_body(whole[:cut], complete=cut == len(whole))
    assert len(parsed.details) <= MAX_DETAILS
    assert list(parsed.details) == [
        ErrorDetail("InvalidValue", f"Value {n} is wrong.", f"t{n}") for n in range(len(parsed.details))
    ]
    if cut == len(whole):
        assert parsed.more_details == max(0, count - MAX_DETAILS)


@pytest.mark.anyio
async def test_a_422_with_many_details_through_the_client(waits: Waits) -> None:
    async def answer(request: Request, out: Out) -> None:
        await out.head(422, {"Content-Type": "application/json"}, body(30))

    async with hostile(answer) as server, session_at(server.url, waits) as http:
        with pytest.raises(InvalidInput) as caught:
            await http.request(WRITE, "POST", "/edfs/x", json_body={})
    assert len(caught.value.details) == MAX_DETAILS and caught.value.more_details == 10
