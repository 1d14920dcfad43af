"""Finding the rows in package output, JSON or XML."""

import json

import pytest

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
