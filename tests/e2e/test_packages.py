"""Packages: discovery, details with systems, and running them.

What the tools say and do, asked of `serve`'s server built in this process (harness.serve_in_process).
"""

import json

import pytest

from edfs_mcp.sandbox import SandboxServer, fixtures, seed
from tests.harness import Session, serve_in_process, text_of

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def admin(admin_in_process: Session) -> Session:
    """The tools here are asked what they say and do, of the server built in this process."""
    return admin_in_process


NORTHGATE = seed.ITWIN_NORTHGATE_BRIDGE


async def test_list_packages_shows_the_organizations_subscriptions(admin: Session) -> None:
    result = await admin.call("list_integration_packages")
    packages = {p["unique_name"]: p for p in (result.structured_content or {})["packages"]}
    assert {seed.SAP_WORK_ORDERS, seed.SQL_CUSTOMERS_TABLE, seed.ODT_APIM_TEST} <= set(packages)
    assert seed.SHAREPOINT_DOCUMENTS not in packages  # Harbor's subscription, not Northgate's
    assert packages[seed.ODT_APIM_TEST]["is_odata"] is True
    assert seed.SAP_WORK_ORDERS in text_of(result)


async def test_package_details_parse_the_input_example(admin: Session) -> None:
    info, _ = await admin.ok("get_integration_package", {"unique_name": seed.SQL_CUSTOMERS_TABLE})
    names = [v["name"] for v in info["variables"]]
    assert names == ["Parameter", "TableNames", "CustomerID"]
    assert info["response_columns"] and info["systems"] is None


async def test_package_details_with_an_itwin_say_which_systems_are_missing(admin: Session) -> None:
    sap, _ = await admin.ok(
        "get_integration_package", {"unique_name": seed.SAP_WORK_ORDERS, "itwin_id": NORTHGATE}
    )
    assert [(s["system_id"], s["configured"]) for s in sap["systems"]] == [("sap_prod", True)]
    maximo = await admin.call(
        "get_integration_package", {"unique_name": seed.MAXIMO_ASSETS, "itwin_id": NORTHGATE}
    )
    systems = (maximo.structured_content or {})["systems"]
    assert [(s["system_id"], s["required"], s["configured"]) for s in systems] == [
        ("maximo_prod", True, False),
        ("maximo_reporting_db", False, False),
    ]
    assert "Not configured for this iTwin: EDF.Maximo system 'maximo_prod'; EDFS refuses" in text_of(maximo)


async def test_a_run_without_a_required_system_is_refused_as_the_details_said(
    admin: Session, sandbox: SandboxServer
) -> None:
    text = await admin.error(
        "execute_integration_package", {"itwin_id": NORTHGATE, "unique_name": seed.MAXIMO_ASSETS}
    )
    assert "HTTP 422 InvalidPackageDataRequest" in text
    assert "Required system 'maximo_prod' (EDF.Maximo) is not configured for this iTwin" in text
    assert "edfs_credmng" in text and "Nothing was changed" in text
    assert sandbox.state.writes["execute"] == 0
    # Only the optional system is missing on Riverside: the run goes ahead.
    riverside, _ = await admin.ok(
        "execute_integration_package",
        {"itwin_id": seed.ITWIN_RIVERSIDE_WTP, "unique_name": seed.MAXIMO_ASSETS},
    )
    assert riverside["row_count"] == 24


async def test_execute_returns_the_packages_rows(admin: Session, sandbox: SandboxServer) -> None:
    result, _ = await admin.ok(
        "execute_integration_package", {"itwin_id": NORTHGATE, "unique_name": seed.SQL_CUSTOMERS_TABLE}
    )
    assert result["format"] == "json" and result["row_count"] == len(result["rows"]) > 1
    assert result["next_offset"] is None
    assert "customerID" in result["columns"]
    assert sandbox.state.writes["execute"] == 1
    # Shown whole, and still a result SQL can ask (no counting by eye): the run is not repeated.
    answer, _ = await admin.ok(
        "query_execution_result",
        {"result_id": result["result_id"], "sql": "SELECT count(*) AS n FROM result"},
    )
    assert answer["rows"] == [{"n": result["row_count"]}]
    assert sandbox.state.writes["execute"] == 1


async def test_execute_passes_variables(admin: Session) -> None:
    everything, _ = await admin.ok(
        "execute_integration_package", {"itwin_id": NORTHGATE, "unique_name": seed.SQL_CUSTOMERS_TABLE}
    )
    one_id = everything["rows"][0]["customerID"]
    filtered, _ = await admin.ok(
        "execute_integration_package",
        {"itwin_id": NORTHGATE, "unique_name": seed.SQL_CUSTOMERS_TABLE, "variables": {"CustomerID": one_id}},
    )
    assert filtered["row_count"] >= 1
    assert all(row["customerID"] == one_id for row in filtered["rows"])
    assert filtered["row_count"] < everything["row_count"]


async def test_execute_as_xml_gives_the_same_rows(admin: Session) -> None:
    arguments = {"itwin_id": NORTHGATE, "unique_name": seed.SQL_CUSTOMERS_TABLE}
    as_json, _ = await admin.ok("execute_integration_package", arguments)
    as_xml, _ = await admin.ok("execute_integration_package", {**arguments, "return_as_xml": True})
    assert as_xml["format"] == "xml" and as_json["xml"] is None
    assert as_xml["row_count"] == as_json["row_count"]
    # The model sees the XML itself too, not only the rows parsed from it.
    assert as_xml["xml"].lstrip().startswith("<") and as_json["rows"][0]["customerID"] in as_xml["xml"]
    assert [r["customerID"].strip() for r in as_xml["rows"]] == [
        r["customerID"].strip() for r in as_json["rows"]
    ]


async def test_a_100k_row_result_is_previewed_and_paged_without_running_again(
    admin: Session, sandbox: SandboxServer
) -> None:
    result, _ = await admin.ok(
        "execute_integration_package", {"itwin_id": NORTHGATE, "unique_name": seed.SENSOR_READINGS_BULK}
    )
    assert result["row_count"] == seed.SENSOR_ROW_COUNT
    assert (
        0 < len(result["rows"]) < 2000
        and result["result_id"]
        and result["next_offset"] == len(result["rows"])
    )
    shown = len(result["rows"])
    page, _ = await admin.ok(
        "read_execution_result", {"result_id": result["result_id"], "offset": shown, "limit": 50}
    )
    assert page["offset"] == shown and len(page["rows"]) == 50 and page["next_offset"] == shown + 50
    assert page["rows"][0] != result["rows"][-1]
    last, _ = await admin.ok(
        "read_execution_result", {"result_id": result["result_id"], "offset": seed.SENSOR_ROW_COUNT - 3}
    )
    assert len(last["rows"]) == 3 and last["next_offset"] is None
    assert sandbox.state.writes["execute"] == 1


async def test_read_execution_result_rejects_unknown_ids_and_columns(admin: Session) -> None:
    text = await admin.error("read_execution_result", {"result_id": "r_doesnotexist"})
    assert "No cached result" in text and "ask the user" in text
    result, _ = await admin.ok(
        "execute_integration_package", {"itwin_id": NORTHGATE, "unique_name": seed.SENSOR_READINGS_BULK}
    )
    text = await admin.error("read_execution_result", {"result_id": result["result_id"], "columns": ["nope"]})
    assert "Unknown column(s) 'nope'" in text and next(iter(result["columns"])) in text


@pytest.mark.scale
async def test_every_row_of_a_100k_result_reads_back_in_order(sandbox: SandboxServer) -> None:
    expected = json.loads(fixtures.sensor_payload(False))["data"]
    arguments = {"itwin_id": NORTHGATE, "unique_name": seed.SENSOR_READINGS_BULK}
    async with serve_in_process(sandbox, "admin", env={"EDFS_MCP_RESULT_BUDGET_TOKENS": "25000"}) as session:
        first, _ = await session.ok("execute_integration_package", arguments)
        rows = list(first["rows"])
        offset, pages = first["next_offset"], 1
        while offset is not None:
            page, _ = await session.ok(
                "read_execution_result", {"result_id": first["result_id"], "offset": offset, "limit": 5000}
            )
            assert page["offset"] == offset
            rows.extend(page["rows"])
            offset, pages = page["next_offset"], pages + 1
    assert len(rows) == len(expected) == seed.SENSOR_ROW_COUNT
    assert rows == expected
    assert sandbox.state.writes["execute"] == 1
    print(f"100 000 rows read back in {pages} pages")
