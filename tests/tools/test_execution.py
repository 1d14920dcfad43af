"""execute_integration_package (edfs_mcp/tools/execution.py): variable names checked before a run, and
hostile package output paged, rendered and bounded."""

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edfs_mcp.results import CHARS_PER_TOKEN, page_rows
from edfs_mcp.sandbox import SandboxServer, seed
from edfs_mcp.tabular import TooDeep
from edfs_mcp.tools._base import RESULT_OVERHEAD_TOKENS, reply
from edfs_mcp.tools.execution import (
    XML_TOKENS,
    ExecutionResult,
    _xml_excerpt,
    parse_payload,
    payload_kind,
    rows_budget,
)
from tests.harness import Session, token_count
from tests.tools.conftest import tools_as

RIVERSIDE = seed.ITWIN_RIVERSIDE_WTP
BRIDGE = seed.ITWIN_NORTHGATE_BRIDGE


@pytest.mark.parametrize("name", ["AssetTyp", "assettype", "AsestType"])
@pytest.mark.anyio
async def test_a_near_miss_of_a_documented_variable_is_refused_before_anything_runs(
    sandbox: SandboxServer, name: str
) -> None:
    before = sandbox.state.writes["execute"]
    async with tools_as(sandbox, "admin") as tools:
        text = await tools.error(
            "execute_integration_package",
            {"itwin_id": RIVERSIDE, "unique_name": seed.MAXIMO_ASSETS, "variables": {name: "PUMP"}},
        )
    assert f"{name!r}: did you mean 'AssetType'?" in text and "nothing was run" in text
    assert sandbox.state.writes["execute"] == before


@pytest.mark.anyio
async def test_an_undocumented_variable_is_sent_and_flagged(tools: Session) -> None:
    arguments = {"unique_name": seed.MAXIMO_ASSETS, "variables": {"AssetType": "PUMP", "Colour": "red"}}
    result, text = await tools.ok("execute_integration_package", {"itwin_id": RIVERSIDE, **arguments})
    assert result["undocumented_variables"] == ["Colour"]
    assert {row["assettype"] for row in result["rows"]} == {"PUMP"}  # AssetType was applied
    assert "not documented by the package" in text and "Colour" in text


@pytest.mark.anyio
async def test_documented_variables_are_not_flagged(tools: Session) -> None:
    arguments = {"itwin_id": RIVERSIDE, "unique_name": seed.MAXIMO_ASSETS, "variables": {"AssetType": "PUMP"}}
    result, text = await tools.ok("execute_integration_package", arguments)
    assert result["undocumented_variables"] is None and "not documented" not in text


@pytest.mark.anyio
async def test_a_timer_with_a_misspelled_parameter_is_not_created(sandbox: SandboxServer) -> None:
    before = sandbox.state.writes["timer_create"]
    async with tools_as(sandbox, "admin") as tools:
        text = await tools.error(
            "create_timer",
            {
                "itwin_id": seed.ITWIN_NORTHGATE_BRIDGE,
                "unique_name": seed.SAP_WORK_ORDERS,
                "cron": "0 3 * * 1",
                "parameters": {"Plnat": "NG01"},
            },
        )
    assert "'Plnat': did you mean 'Plant'?" in text
    assert sandbox.state.writes["timer_create"] == before


@pytest.mark.anyio
async def test_a_page_cut_by_the_size_budget_says_so_and_where_the_rest_is(tools: Session) -> None:
    bulk, _ = await tools.ok(
        "execute_integration_package", {"itwin_id": BRIDGE, "unique_name": seed.SENSOR_READINGS_BULK}
    )
    result_id = bulk["result_id"]
    page, text = await tools.ok(
        "read_execution_result", {"result_id": result_id, "offset": 100, "limit": 5000}
    )
    shown = len(page["rows"])
    assert 0 < shown < 5000 and page["next_offset"] == 100 + shown
    assert f"Rows 100-{99 + shown} of {seed.SENSOR_ROW_COUNT} ({shown} rows" in text
    assert "cut at the size budget before limit=5000" in text
    assert f"read_execution_result(result_id={result_id!r}, offset={100 + shown})" in text
    narrow, _ = await tools.ok(
        "read_execution_result", {"result_id": result_id, "offset": 100, "limit": 5000, "columns": ["status"]}
    )
    assert len(narrow["rows"]) > shown  # fewer columns fit more rows


@pytest.mark.anyio
async def test_a_page_that_ends_at_its_limit_is_not_called_cut(tools: Session) -> None:
    bulk, _ = await tools.ok(
        "execute_integration_package", {"itwin_id": BRIDGE, "unique_name": seed.SENSOR_READINGS_BULK}
    )
    page, text = await tools.ok("read_execution_result", {"result_id": bulk["result_id"], "limit": 10})
    assert len(page["rows"]) == 10 and page["next_offset"] == 10
    assert "size budget" not in text and "offset=10)" in text


def test_the_xml_excerpt_is_cleaned_and_cut_to_its_share_of_the_budget() -> None:
    limit = int(XML_TOKENS * CHARS_PER_TOKEN)
    small = "<rows><row id='1'>a\u202eb\u200bc</row></rows>".encode()
    assert _xml_excerpt(small) == ("<rows><row id='1'>abc</row></rows>", False)
    big = b"<rows>" + b"<row>x</row>" * 100_000 + b"</rows>"
    shown, cut = _xml_excerpt(big)
    assert cut and shown is not None
    assert shown.startswith("<rows><row>") and shown.endswith(
        f"…[cut; the whole document is {len(big)} bytes]"
    )
    assert len(shown) < limit + 60
    assert _xml_excerpt(b'{"rows": []}') == (None, False)
    assert _xml_excerpt(b"plain text") == (None, False)


# Hostile package output: whatever a package returns, the model sees a bounded, clean result.
#
# Each body goes through the same steps as execute_integration_package's answer: parse, page
# within the budget, render as text and structured content; then both are counted in cl100k tokens.
BUDGET = 2000
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
    assert token_count(text) <= BUDGET
    # As on the wire: compact, UTF-8 (not \u escapes).
    wire = json.dumps(structured, separators=(",", ":"), ensure_ascii=False)
    assert token_count(wire) <= BUDGET
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


@pytest.mark.scale
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


@pytest.mark.scale
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
