"""query_odata: a model learns the columns and the $filter language before writing a query."""

import pytest

from edfs_mcp.sandbox import SandboxServer, fixtures, seed
from tests.harness import Session
from tests.tools.conftest import tools_as

pytestmark = pytest.mark.anyio

BRIDGE = seed.ITWIN_NORTHGATE_BRIDGE
PACKAGE = {"itwin_id": BRIDGE, "unique_name": seed.ODT_APIM_TEST}


async def test_the_entity_sets_come_with_their_columns_and_the_filter_syntax(tools: Session) -> None:
    listed, text = await tools.ok("query_odata", PACKAGE)
    sets = {s["name"]: s["columns"] for s in listed["entity_sets"]}
    assert set(sets) == set(fixtures.entity_sets())
    for name, entity_set in fixtures.entity_sets().items():
        assert sets[name] == {column: kind.removeprefix("Edm.") for column, kind in entity_set.properties}
    assert "contains, startswith and endswith" in listed["filter_syntax"] and "no tolower" in text
    assert listed["rows"] is None and "rows:" not in text


async def test_a_rejected_filter_names_what_is_supported(tools: Session) -> None:
    text = await tools.error(
        "query_odata",
        {**PACKAGE, "entity_set": "SAP_Funcloc_Read", "filter": "tolower(Description) eq 'pier'"},
    )
    assert "Function 'tolower' is not supported" in text
    assert "$filter accepts comparisons eq ne gt ge lt le" in text and "contains(Column,'text')" in text


async def test_an_unknown_column_points_at_the_column_list(tools: Session) -> None:
    text = await tools.error(
        "query_odata", {**PACKAGE, "entity_set": "SAP_Funcloc_Read", "filter": "Colour eq 'red'"}
    )
    assert "Unknown property 'Colour'" in text and "without entity_set for the columns" in text


async def test_the_sets_are_listed_even_when_the_columns_cannot_be_read(sandbox: SandboxServer) -> None:
    metadata = f"/edfs/itwins/{BRIDGE}/packages/{seed.ODT_APIM_TEST}/odata/$metadata"
    sandbox.state.faults.server_errors(10, status=500, path_prefix=metadata)
    try:
        async with tools_as(sandbox, "admin") as tools:
            listed, _ = await tools.ok("query_odata", PACKAGE)
    finally:
        sandbox.state.faults.clear()
    assert [s["columns"] for s in listed["entity_sets"]] == [None] * len(fixtures.entity_sets())
    assert "HTTP 500" in listed["columns_note"]
