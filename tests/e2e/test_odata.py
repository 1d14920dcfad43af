"""OData: entity sets, bounded queries, and the API's 422 for what it does not support."""

import pytest

from edfs_mcp.sandbox import seed
from tests.harness import Session

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def admin(admin_in_process: Session) -> Session:
    """What these tests check is what the tools say and do: the server in this process is enough."""
    return admin_in_process


NORTHGATE = seed.ITWIN_NORTHGATE_BRIDGE
BASE = {"itwin_id": NORTHGATE, "unique_name": seed.ODT_APIM_TEST}


async def test_without_entity_set_it_lists_the_sets(admin: Session) -> None:
    result, _ = await admin.ok("query_odata", BASE)
    assert [s["name"] for s in result["entity_sets"]] == list(seed.ODATA_ENTITY_SETS)


async def test_a_filtered_query_returns_matching_rows_and_where_to_continue(admin: Session) -> None:
    arguments = {**BASE, "entity_set": "SAP_Equipments_Read", "filter": "Plant eq 'NG01'", "top": 5}
    first, _ = await admin.ok("query_odata", arguments)
    assert len(first["rows"]) == 5 and all(row["Plant"] == "NG01" for row in first["rows"])
    assert first["next_skip"] == 5
    second, _ = await admin.ok("query_odata", {**arguments, "skip": first["next_skip"]})
    assert {r["Equipment"] for r in second["rows"]}.isdisjoint({r["Equipment"] for r in first["rows"]})


async def test_select_and_orderby_are_passed_through(admin: Session) -> None:
    result, _ = await admin.ok(
        "query_odata",
        {
            **BASE,
            "entity_set": "SAP_Equipments_Read",
            "select": "Equipment,Plant",
            "orderby": "Equipment desc",
        },
    )
    assert result["columns"] == {"Equipment": "VARCHAR", "Plant": "VARCHAR"}
    equipment = [row["Equipment"] for row in result["rows"]]
    assert equipment == sorted(equipment, reverse=True)


async def test_an_unsupported_filter_names_the_argument(admin: Session) -> None:
    text = await admin.error(
        "query_odata", {**BASE, "entity_set": "SAP_Equipments_Read", "filter": "Plant eqq 1"}
    )
    assert "HTTP 422" in text and "filter:" in text


async def test_a_package_without_odata_says_to_execute_it_instead(admin: Session) -> None:
    text = await admin.error("query_odata", {"itwin_id": NORTHGATE, "unique_name": seed.SAP_WORK_ORDERS})
    assert "SchemaNotFound" in text and "execute_integration_package" in text
