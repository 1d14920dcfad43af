"""Finding the rows in package output, JSON or XML."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edfs_mcp.tabular import parse_json_payload, parse_xml_payload


def test_documented_execute_response() -> None:
    body = b'{"data":[{"customerID":"ACME ","companyName":"ACME Ltd.","contactName":"Joe Bloggs"}]}'
    table = parse_json_payload(body)
    assert table.columns == ["customerID", "companyName", "contactName"]
    assert table.rows[0]["companyName"] == "ACME Ltd."


@pytest.mark.parametrize(
    ("document", "rows"),
    [
        ({"DATA": [{"a": 1}, {"a": 2}]}, 2),
        ({"value": [{"a": 1}], "@odata.context": "x"}, 1),
        ({"whatever": [{"a": 1}, {"b": 2}, {"c": 3}]}, 3),
        ([{"a": 1}, {"a": 2}], 2),
        ({"a": 1, "b": 2}, 1),
        ([1, 2, 3], 3),
        ("just text", 1),
    ],
)
def test_records_are_found_whatever_the_key(document: object, rows: int) -> None:
    table = parse_json_payload(json.dumps(document).encode())
    assert len(table.rows) == rows
    assert all(isinstance(row, dict) for row in table.rows)


def test_columns_keep_first_seen_order_across_rows() -> None:
    table = parse_json_payload(b'[{"b":1,"a":2},{"c":3,"a":4}]')
    assert table.columns == ["b", "a", "c"]


def test_not_json_raises_value_error() -> None:
    with pytest.raises(ValueError, match="Expecting value"):
        parse_json_payload(b"<xml/>")


def test_xml_rows_are_the_repeated_elements() -> None:
    body = (
        b"<?xml version='1.0'?><Result><data><row><customerID>ACME</customerID><city>Exton</city></row>"
        b"<row><customerID>BETA</customerID><city>Cork</city></row></data></Result>"
    )
    table = parse_xml_payload(body)
    assert table.rows == [{"customerID": "ACME", "city": "Exton"}, {"customerID": "BETA", "city": "Cork"}]


def test_xml_namespaces_are_dropped_from_column_names() -> None:
    body = b'<r xmlns="urn:x"><i><a>1</a></i><i><a>2</a></i></r>'
    assert parse_xml_payload(body).rows == [{"a": "1"}, {"a": "2"}]


def test_xml_entity_expansion_is_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        b"<lolz>&lol2;</lolz>"
    )
    with pytest.raises(ValueError, match="unsafe"):
        parse_xml_payload(bomb)


def test_external_entities_are_refused() -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    with pytest.raises(ValueError, match="unsafe"):
        parse_xml_payload(body)


def test_malformed_xml_raises_value_error() -> None:
    with pytest.raises(ValueError, match="not well-formed"):
        parse_xml_payload(b"<a><b></a>")


# --- columns, and the body read a window at a time ---------------------------------------------------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63, max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)
KEYS = st.sampled_from(["a", "b", "c", "id", "name"])


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.dictionaries(KEYS, VALUES, max_size=5), max_size=40),
    window=st.integers(min_value=1, max_value=64),
    wrapped=st.booleans(),
    spaced=st.booleans(),
)
def test_every_value_reads_back_whatever_the_window(
    rows: list[dict[str, object]], window: int, wrapped: bool, spaced: bool
) -> None:
    document: object = {"meta": {"n": len(rows)}, "data": rows} if wrapped else rows
    body = json.dumps(document, indent=1 if spaced else None).encode()
    table = parse_json_payload(body, window_bytes=window)
    # A null and an absent field read back alike; integers mixed with decimals read back as equal floats.
    assert table.rows == [{key: value for key, value in row.items() if value is not None} for row in rows]
    assert len(table.rows) == len(rows)


def test_columns_get_one_sql_type_each() -> None:
    rows = [
        {"n": 1, "x": 1, "s": "a", "b": True, "j": {"k": [1]}, "m": "1", "big": 2**70},
        {"n": 2, "x": 2.5, "s": "b", "b": False, "j": [1, 2], "m": 1, "big": 1},
    ]
    table = parse_json_payload(json.dumps({"items": rows}))
    assert table.column_types == {
        "n": "BIGINT",
        "x": "DOUBLE",
        "s": "VARCHAR",
        "b": "BOOLEAN",
        "j": "JSON",
        "m": "JSON",  # a string here, a number there: kept as JSON, so each reads back as it was
        "big": "JSON",  # past 64 bits: every digit kept
    }
    assert table.rows == rows


def test_fields_past_the_column_cap_stay_together_in_one_json_column() -> None:
    row = {f"f{i}": i for i in range(250)}
    table = parse_json_payload(json.dumps([row]))
    assert len(table.columns) == 201 and table.columns[-1] == "…"
    assert table.rows[0]["…"] == {f"f{i}": i for i in range(200, 250)}


def test_repeated_strings_are_stored_once() -> None:
    rows = [{"status": "OK" if i % 100 else "WARN", "id": i} for i in range(20_000)]
    table = parse_json_payload(json.dumps({"data": rows}))
    # A 4-byte code per row, and "OK" and "WARN" once per chunk of rows.
    assert table.arrow.column("status").nbytes < 5 * len(rows)
    assert table.nbytes < len(json.dumps(rows)) / 2
    assert table.rows[100] == {"status": "WARN", "id": 100}
