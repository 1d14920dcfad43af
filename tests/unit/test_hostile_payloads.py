"""Hostile package output: whatever a package returns, the model sees a bounded, clean result.

Each body goes through the same steps as execute_integration_package's answer: parse, page
within the budget, render as text and structured content; then both are counted in cl100k tokens.
"""

import json
from typing import Any

import bpe_openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edfs_mcp.results import page_rows
from edfs_mcp.tabular import TooDeep
from edfs_mcp.tools._base import RESULT_OVERHEAD_TOKENS, reply
from edfs_mcp.tools.execution import ExecutionResult, parse_payload, payload_kind, rows_budget

BUDGET = 2000
ENCODING = bpe_openai.get_encoding("cl100k_base")
HIDDEN = ["\x00", "\x1b", "\u202e", "\u2066", "\u200b", "\ufeff", "\x7f", "\x85"]


def _result_of(body: bytes, media_type: str = "application/json") -> tuple[str, dict[str, Any]]:
    try:
        kind, table = parse_payload([body], media_type)
    except TooDeep:
        return "refused: too deep", {}
    if isinstance(table, str):
        result = ExecutionResult(
            itwin_id="i",
            unique_name="u",
            format="text",
            row_count=0,
            columns={},
            rows=[],
            text=table[:BUDGET],
        )
    else:
        budget = rows_budget(BUDGET - RESULT_OVERHEAD_TOKENS, table.column_types)
        page = page_rows(table, offset=0, limit=len(table.rows), budget_tokens=budget)
        result = ExecutionResult(
            itwin_id="i",
            unique_name="u",
            format=kind,
            row_count=len(table.rows),
            columns=table.column_types,
            rows=page.rows,
            next_offset=page.next_offset,
        )
    answer = reply(result, "Ran u on iTwin i.")
    text = answer.content[0].text  # type: ignore[union-attr]
    return text, answer.structured_content or {}


def _within_budget(text: str, structured: dict[str, Any]) -> None:
    assert len(ENCODING.encode(text)) <= BUDGET
    # As on the wire: compact, UTF-8 (not \u escapes).
    wire = json.dumps(structured, separators=(",", ":"), ensure_ascii=False)
    assert len(ENCODING.encode(wire)) <= BUDGET
    for hidden in HIDDEN:
        assert hidden not in text and hidden not in json.dumps(structured, ensure_ascii=False)


VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.text(alphabet=st.sampled_from(["a", "|", "\n", *HIDDEN]), max_size=50),
        st.integers(0, 30_000).map(lambda n: "x" * n),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.dictionaries(st.text(max_size=10), VALUES, max_size=8), max_size=30))
def test_any_rows_stay_within_the_budget_and_clean(rows: list[dict[str, Any]]) -> None:
    _within_budget(*_result_of(json.dumps({"data": rows}).encode()))


@pytest.mark.parametrize("depth", [50, 5_000, 200_000])
def test_deep_json_is_cut_or_refused_never_a_crash(depth: int) -> None:
    body = ("[" * depth + "1" + "]" * depth).encode()
    text, structured = _result_of(b'{"data": [{"a": ' + body + b"}]}")
    if text != "refused: too deep":
        _within_budget(text, structured)
        assert "nested deeper than" in text


@pytest.mark.parametrize("depth", [50, 5_000])
def test_deep_xml_is_cut_never_a_crash(depth: int) -> None:
    body = "<data><row>" + "<a>" * depth + "x" + "</a>" * depth + "</row><row><b>1</b></row></data>"
    _within_budget(*_result_of(body.encode(), "application/xml"))


def test_one_huge_row_is_cut_to_fit() -> None:
    text, structured = _result_of(json.dumps({"data": [{"blob": "y" * 5_000_000, "id": 1}]}).encode())
    _within_budget(text, structured)
    assert "more characters cut]" in text


def test_a_row_with_a_hundred_thousand_fields_is_cut() -> None:
    row = {f"field{i}": i for i in range(100_000)}
    _within_budget(*_result_of(json.dumps({"data": [row, row]}).encode()))


def test_text_that_is_not_json_is_never_parsed_as_xml() -> None:
    assert payload_kind(b"  hello <b>", "application/xml") == "text"
    assert payload_kind(b"\n<data/>", "text/plain") == "xml"
    assert payload_kind(b'{"a": 1}', "application/xml") == "json"
    kind, table = parse_payload([b"not json, not <xml>"], "application/json")
    assert kind == "text" and table == "not json, not <xml>"


def test_hidden_characters_in_text_output_are_removed() -> None:
    text, structured = _result_of("plain \u202eevil\x1b[0m text".encode(), "text/plain")
    assert "plain evil[0m text" in text
    _within_budget(text, structured)
