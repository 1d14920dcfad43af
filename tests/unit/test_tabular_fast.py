"""Arrays of flat records read by Arrow (``tabular.fast_records``): the same table as the window reader,
or the window reader itself when Arrow cannot give exactly that."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edfs_mcp import tabular
from edfs_mcp.sandbox import fixtures
from edfs_mcp.tabular import Table, TooDeep, fast_records, parse_json_payload


@pytest.fixture
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every array goes to Arrow, in pieces of a few records, so small bodies cross many cuts."""
    monkeypatch.setattr(tabular, "FAST_MIN_BYTES", 0)
    monkeypatch.setattr(tabular, "MIN_PIECE_BYTES", 64)
    monkeypatch.setattr(tabular, "PIECE_BYTES", 256)
    monkeypatch.setattr(tabular, "PIECES_PER_BODY", 4)
    monkeypatch.setattr(tabular, "PROBE_BYTES", 128)


def _slow(body: bytes) -> Table:
    saved = tabular.FAST_MIN_BYTES
    tabular.FAST_MIN_BYTES = 1 << 62
    try:
        return parse_json_payload(body, window_bytes=16)
    finally:
        tabular.FAST_MIN_BYTES = saved


def _same(body: bytes) -> Table:
    fast, slow = parse_json_payload(body, window_bytes=16), _slow(body)
    assert fast.columns == slow.columns
    assert fast.types == slow.types
    assert list(fast.rows) == list(slow.rows)
    assert fast.row_count == slow.row_count
    return fast


def _array_start(body: bytes) -> int:
    return body.index(b"[")


def test_the_sensor_payload_is_read_by_arrow_as_the_window_reader_reads_it() -> None:
    body = fixtures.sensor_payload(False)
    assert fast_records(body, _array_start(body)) is not None
    table = _same(body)
    assert table.row_count == 100_000
    assert table.column_types == {
        "sensorId": "VARCHAR",
        "timestamp": "VARCHAR",  # Arrow alone would make it a TIMESTAMP
        "value": "DOUBLE",
        "unit": "VARCHAR",
        "status": "VARCHAR",
    }
    assert table.rows[0]["timestamp"] == "2024-01-01T00:00:00Z"


@pytest.mark.usefixtures("small_pieces")
@pytest.mark.parametrize(
    "records",
    [
        [{"a": 1, "b": "x"}, {"b": "y", "c": True}, {"a": 2.5}, {}, {"c": None}],  # columns as they come
        [{"when": "2024-01-01", "n": 1}] * 20 + [{"when": "not a date", "n": 2}],  # a date column that is not
        [{"s": "[x] {y} },{ ]"}] * 30,  # brackets in strings: smaller pieces, same table
        [{"a": 1}] * 10 + [{"a": 2**60}] * 10,  # 64-bit integers stay integers
        [{"a": "é ✓ 😀 \u0000"}] * 12,
        [{"x": i, "y": i / 7} for i in range(50)],
    ],
)
def test_flat_records_in_pieces_give_the_window_readers_table(records: list[dict[str, Any]]) -> None:
    body = json.dumps({"data": records}).encode()
    assert fast_records(body, _array_start(body)) is not None
    _same(body)


@pytest.mark.usefixtures("small_pieces")
@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"data": [{"a": 1}] * 20 + [{"a": "x"}]}).encode(),  # mixed kinds: a JSON column
        json.dumps({"data": [{"a": 1.5}] * 20 + [{"a": 2**60 + 1}]}).encode(),  # not a double: kept exact
        json.dumps({"data": [{"a": 2**70}] * 20}).encode(),  # past 64 bits
        json.dumps({"data": [{"a": {"b": [1, 2]}}] * 20}).encode(),  # nested: JSON cells
        json.dumps({"data": [{"a": 1}] * 20 + [None, 3, [4]]}).encode(),  # not all records are objects
        b'{"data":[' + b",".join([b'{"a":1,"a":2}'] * 20) + b"]}",  # a repeated key: the last wins
        b'{"data":[' + b",".join([b'{"a":"\xff\xfe"}'] * 20) + b"]}",  # not UTF-8: replaced
        b'{"data":[' + b",".join([b'{"a":1e400}'] * 20) + b"]}",  # infinity
        json.dumps({"data": [{"bad\u0007name": 1}] * 20}).encode(),  # a name that is cleaned
        json.dumps({"data": [{f"c{i}": i for i in range(300)}] * 3}).encode(),  # past MAX_COLUMNS
    ],
)
def test_what_arrow_cannot_give_exactly_is_left_to_the_window_reader(body: bytes) -> None:
    assert fast_records(body, _array_start(body)) is None
    _same(body)


@pytest.mark.usefixtures("small_pieces")
@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"data": [{"a": i} for i in range(40)]}, indent=2).encode(),  # pretty-printed
        json.dumps({"count": 40, "data": [{"a": i} for i in range(40)], "next": None}).encode(),
        json.dumps([{"a": i, "b": "x"} for i in range(40)]).encode(),  # a top-level array
        json.dumps({"errors": [], "items": [{"a": i} for i in range(40)]}).encode(),  # a known key wins
    ],
)
def test_the_array_is_found_wherever_it_stands(body: bytes) -> None:
    _same(body)


@pytest.mark.usefixtures("small_pieces")
def test_what_follows_the_array_is_still_checked() -> None:
    body = json.dumps({"data": [{"a": i} for i in range(40)]}).encode() + b" trailing"
    with pytest.raises(ValueError, match="Extra data"):
        parse_json_payload(body, window_bytes=16)


def test_a_deep_record_never_reaches_arrow_deeper_than_it_can_go() -> None:
    """Arrow's reader overflows its stack past ~20 000 levels (a crash of the whole process): a large
    array with one record nested 200 000 deep is refused as today, in a process of its own."""
    script = (
        "from edfs_mcp.tabular import parse_json_payload, TooDeep\n"
        "rows = b','.join([b'{\"a\":1}'] * 50000)\n"
        "deep = b'{\"a\":' + b'[' * 200000 + b']' * 200000 + b'}'\n"
        "try:\n"
        "    parse_json_payload(b'{\"data\":[' + rows + b',' + deep + b']}')\n"
        "except TooDeep:\n"
        "    print('too deep')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "too deep"


def test_flat_means_no_reader_can_nest() -> None:
    body = b'{"a":1},{"b":"},{"},{"c":2}'
    assert tabular._flat(body, 0, len(body))
    for nested in (b'{"a":{"b":1}},{"c":2}', b'{"a":[1]}', b'{"a":1},{"b":"{"}'):
        assert not tabular._flat(nested, 0, len(nested))
    # Counted as bytes, whatever they mean: "{" right after "}," only starts a record.
    sneaky = b'{"a":1' + b"},{" * 5 + b'"'
    assert tabular._flat(sneaky, 0, len(sneaky))


def test_too_deep_for_the_window_reader_is_still_too_deep() -> None:
    body = b'{"data":[' + b",".join([b'{"a":1}'] * 50000) + b',{"a":' + b"[" * 5000 + b"]" * 5000 + b"}]}"
    with pytest.raises(TooDeep):
        parse_json_payload(body)


_cells = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.dictionaries(st.sampled_from(["a", "b", "c", "when"]), _cells, max_size=4), min_size=1, max_size=40
    )
)
def test_any_flat_records_give_the_same_table(small_pieces: None, records: list[dict[str, Any]]) -> None:
    _same(json.dumps({"data": records}).encode())
