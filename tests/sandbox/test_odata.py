"""OData entity sets (4.6), $metadata (4.7) and entity-set queries (4.8)."""

from __future__ import annotations

from typing import Any

import pytest
from defusedxml import ElementTree

from edfs_mcp.sandbox import SandboxServer, seed
from tests.sandbox.helpers import Api, error_of

NG = seed.ITWIN_NORTHGATE_BRIDGE
ODATA = f"/edfs/itwins/{NG}/packages/{seed.ODT_APIM_TEST}/odata"
EQUIPMENT = f"{ODATA}/SAP_Equipments_Read"


def query(api: Api, path: str, **params: str) -> list[dict[str, Any]]:
    response = api.get(path, params=params)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["value"]
    return rows


def test_entity_sets_with_context_from_this_server(admin: Api, server: SandboxServer) -> None:
    body = admin.get(ODATA).json()
    assert body["@odata.context"] == f"{server.base_url}{ODATA}/$metadata"
    assert body["value"] == [{"name": n, "kind": "EntitySet", "url": n} for n in seed.ODATA_ENTITY_SETS]


@pytest.mark.parametrize("segment", ["$metadata", "%24metadata"])
def test_metadata_is_edmx_with_one_entity_set_each(admin: Api, segment: str) -> None:
    response = admin.get(f"{ODATA}/{segment}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    root = ElementTree.fromstring(response.content)
    names = [e.get("Name") for e in root.iter("{http://docs.oasis-open.org/odata/ns/edm}EntitySet")]
    assert names == list(seed.ODATA_ENTITY_SETS)


def test_query_a_whole_set(admin: Api, server: SandboxServer) -> None:
    body = admin.get(EQUIPMENT).json()
    assert body["@odata.context"] == f"{server.base_url}{ODATA}/$metadata#SAP_Equipments_Read"
    assert len(body["value"]) == 30


def test_filter_with_comparisons_and_logic(admin: Api) -> None:
    rows = query(
        admin,
        EQUIPMENT,
        **{
            "$filter": "ConstructionYear ge 2010 and (Manufacturer eq 'ABB' or "
            "Manufacturer eq 'Siemens') and InService eq true"
        },
    )
    assert rows
    assert all(
        r["ConstructionYear"] >= 2010 and r["Manufacturer"] in ("ABB", "Siemens") and r["InService"]
        for r in rows
    )
    assert query(admin, EQUIPMENT, **{"$filter": "not (ConstructionYear lt 3000)"}) == []
    assert len(query(admin, EQUIPMENT, **{"$filter": "AcquisitionValue gt 5000.5"})) == len(
        [r for r in query(admin, EQUIPMENT) if r["AcquisitionValue"] > 5000.5]
    )


def test_filter_contains_and_null(admin: Api) -> None:
    rows = query(admin, f"{ODATA}/SAP_Funcloc_Read", **{"$filter": "contains(Description,'Pier')"})
    assert rows
    assert all("Pier" in r["Description"] for r in rows)
    roots = query(admin, f"{ODATA}/SAP_Funcloc_Read", **{"$filter": "SuperiorFunctionalLocation eq null"})
    assert len(roots) == 3
    dated = query(
        admin, f"{ODATA}/SAP_Work_Orders_Read", **{"$filter": "ScheduledStart lt 2024-04-10T00:00:00Z"}
    )
    assert [r["WorkOrder"] for r in dated] == ["4000100", "4000101", "4000102", "4000103", "4000104"]


def test_select_orderby_top_skip(admin: Api, server: SandboxServer) -> None:
    response = admin.get(
        f"{ODATA}/SAP_Material_Read",
        params={"$select": "Material,Price", "$orderby": "Price desc,Material", "$top": "3", "$skip": "1"},
    )
    body = response.json()
    assert body["@odata.context"].endswith("#SAP_Material_Read(Material,Price)")
    rows = body["value"]
    assert len(rows) == 3
    assert all(set(r) == {"Material", "Price"} for r in rows)
    everything = query(admin, f"{ODATA}/SAP_Material_Read", **{"$orderby": "Price desc,Material asc"})
    assert rows == [{"Material": r["Material"], "Price": r["Price"]} for r in everything[1:4]]
    assert [r["Price"] for r in everything] == sorted((r["Price"] for r in everything), reverse=True)


def test_paging_past_the_end_is_a_short_page(admin: Api) -> None:
    assert len(query(admin, EQUIPMENT, **{"$top": "25", "$skip": "25"})) == 5
    assert query(admin, EQUIPMENT, **{"$skip": "100"}) == []


@pytest.mark.parametrize("key", ["('10000003')", "(10000003)", "(Equipment='10000003')"])
def test_one_entity_by_key(admin: Api, key: str) -> None:
    response = admin.get(f"{EQUIPMENT}{key}")
    assert response.status_code == 200
    body = response.json()
    assert body["Equipment"] == "10000003"
    assert body["@odata.context"].endswith("#SAP_Equipments_Read/$entity")


def test_unknown_key_or_set_is_schema_not_found(admin: Api) -> None:
    for path in (f"{EQUIPMENT}('99')", f"{ODATA}/SAP_Nothing_Read", f"{EQUIPMENT}(Plant='NG01')"):
        response = admin.get(path)
        assert response.status_code == 404, path
        assert error_of(response)["code"] == "SchemaNotFound"


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("$filter", "Nope eq 1"),
        ("$filter", "ConstructionYear eq 'x'"),
        ("$filter", "Equipment eq"),
        ("$filter", "Equipment = '1'"),
        ("$filter", "contains(ConstructionYear,'1')"),
        ("$filter", "(((("),
        ("$filter", "not " * 200 + "InService"),
        ("$filter", "'unterminated"),
        ("$filter", ""),
        ("$select", "Equipment,Nope"),
        ("$orderby", "Nope"),
        ("$orderby", "Equipment sideways"),
        ("$top", "-1"),
        ("$top", "ten"),
        ("$skip", "1.5"),
        ("$expand", "Anything"),
        ("$count", "true"),
    ],
)
def test_bad_query_options_are_422_targeting_the_option(admin: Api, option: str, value: str) -> None:
    response = admin.get(EQUIPMENT, params={option: value})
    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], error["message"]) == ("InvalidSchemaRequest", "Cannot retrieve Schema.")
    assert error["details"][0]["target"] == option


def test_a_non_odata_package_has_no_schema(admin: Api) -> None:
    response = admin.get(f"/edfs/itwins/{NG}/packages/{seed.SAP_WORK_ORDERS}/odata")
    assert response.status_code == 404
    assert error_of(response)["code"] == "SchemaNotFound"


def test_odata_needs_the_exec_permission(operator: Api, admin: Api) -> None:
    eastline = f"/edfs/itwins/{seed.ITWIN_EASTLINE_RAIL}/packages/{seed.ODT_APIM_TEST}/odata"
    assert operator.get(eastline).status_code == 403
    assert admin.get(eastline).status_code == 200
    assert operator.get(ODATA).status_code == 200


@pytest.mark.parametrize(
    "expression", ["tolower(Description) eq 'pier'", "contains(toupper(Description),'P')"]
)
def test_an_unsupported_function_is_named_with_the_supported_ones(admin: Api, expression: str) -> None:
    response = admin.get(f"{ODATA}/SAP_Funcloc_Read", params={"$filter": expression})
    assert response.status_code == 422
    [item] = error_of(response)["details"]
    assert item["target"] == "$filter"
    assert item["message"].startswith("Function '") and "contains, startswith, endswith" in item["message"]
