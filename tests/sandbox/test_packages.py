"""Packages (4.1, 4.2), package systems (4.4, 4.5) and execute (4.3)."""

from __future__ import annotations

import json

import pytest
from defusedxml import ElementTree

from edfs_mcp.sandbox import SandboxServer, seed
from tests.sandbox.helpers import Api, error_of

NG = seed.ITWIN_NORTHGATE_BRIDGE
PACKAGE_FIELDS = {
    "subscriptionId",
    "version",
    "uniqueName",
    "name",
    "description",
    "subscribedBy",
    "subscribedByName",
    "subscribedOn",
    "projectStage",
    "isOdata",
}
SQL_INPUT_EXAMPLE = (
    '{ "variables": [ { "name": "Parameter", "value": "Value" }, { "name": "TableNames", "value": '
    '"Translator" }, { "name": "CustomerID", "value": "ACME" } ], "returnAsXml": false }'
)


def execute_url(unique_name: str, itwin_id: str = NG) -> str:
    return f"/edfs/itwins/{itwin_id}/packages/{unique_name}"


def test_subscribed_packages_are_the_callers_organizations(admin: Api, harbor: Api) -> None:
    packages = admin.get("/edfs/packages").json()["packages"]
    assert {p["uniqueName"] for p in packages} == {
        seed.SAP_WORK_ORDERS,
        seed.SQL_CUSTOMERS_TABLE,
        seed.MAXIMO_ASSETS,
        seed.ODT_APIM_TEST,
        seed.SENSOR_READINGS_BULK,
        seed.SENSOR_READINGS_ARCHIVE,
    }
    for package in packages:
        assert set(package) == PACKAGE_FIELDS
        assert isinstance(package["isOdata"], bool)
    assert [p["isOdata"] for p in packages if p["uniqueName"] == seed.ODT_APIM_TEST] == [True]
    harbor_names = {p["uniqueName"] for p in harbor.get("/edfs/packages").json()["packages"]}
    assert seed.SHAREPOINT_DOCUMENTS in harbor_names
    assert seed.SENSOR_READINGS_BULK not in harbor_names


def test_package_details_hold_examples_as_json_strings(admin: Api) -> None:
    response = admin.get(f"/edfs/packages/{seed.SQL_CUSTOMERS_TABLE}")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == PACKAGE_FIELDS | {"lastChange", "inputExample", "responseExample"}
    assert body["inputExample"] == SQL_INPUT_EXAMPLE
    assert json.loads(body["responseExample"]) == {
        "DATA": [{"CustomerID": "ACME ", "CompanyName": "ACME Ltd.", "ContactName": "Joe Bloggs"}]
    }
    assert body["subscribedByName"] == "System"


@pytest.mark.parametrize(
    "unique_name", [p.unique_name for p in seed.PACKAGES if p.unique_name != "SHAREPOINT_DOCUMENTS"]
)
def test_every_input_example_parses_to_variables(admin: Api, unique_name: str) -> None:
    body = admin.get(f"/edfs/packages/{unique_name}").json()
    example = json.loads(body["inputExample"])
    assert set(example) == {"variables", "returnAsXml"}
    assert all(set(v) == {"name", "value"} for v in example["variables"])
    assert isinstance(json.loads(body["responseExample"]), dict)


def test_package_system_types_and_their_properties(admin: Api) -> None:
    systems = admin.get(f"{execute_url(seed.SQL_CUSTOMERS_TABLE)}/systems").json()
    assert systems == {
        "systems": [{"systemId": "local_sql_server", "systemType": "EDF.Sql", "required": "Yes"}]
    }
    maximo = admin.get(f"{execute_url(seed.MAXIMO_ASSETS)}/systems").json()["systems"]
    assert {s["required"] for s in maximo} == {"Yes", "No"}
    props = admin.get(f"{execute_url(seed.SQL_CUSTOMERS_TABLE)}/systems/EDF.Sql").json()["properties"]
    assert props[0] == {"name": "Server", "defaultValue": None, "enumValues": None, "dataType": "String"}
    assert {p["name"]: (p["defaultValue"], p["dataType"]) for p in props[4:]} == {
        "IntegratedSecurity": ("false", "Boolean"),
        "CommandTimeout": ("30", "Int32"),
    }
    sap = admin.get(f"{execute_url(seed.SAP_WORK_ORDERS)}/systems/EDF.Sap").json()["properties"]
    assert ["EN", "DE", "FR"] in [p["enumValues"] for p in sap]


def test_execute_returns_package_data_as_json(admin: Api, server: SandboxServer) -> None:
    response = admin.post(execute_url(seed.SQL_CUSTOMERS_TABLE), json={"returnAsXml": False, "variables": []})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    rows = response.json()["data"]
    assert rows[0] == {"customerID": "ACME ", "companyName": "ACME Ltd.", "contactName": "Joe Bloggs"}
    assert len(rows) > 5
    assert server.state.writes["execute"] == 1


def test_execute_variables_filter_rows_and_unknown_ones_are_ignored(admin: Api) -> None:
    body = {"variables": [{"name": "CustomerID", "value": "ACME"}, {"name": "Unknown", "value": "x"}]}
    rows = admin.post(execute_url(seed.SQL_CUSTOMERS_TABLE), json=body).json()["data"]
    assert rows == [{"customerID": "ACME ", "companyName": "ACME Ltd.", "contactName": "Joe Bloggs"}]
    sap = admin.post(
        execute_url(seed.SAP_WORK_ORDERS),
        json={"variables": [{"name": "Status", "value": "REL"}, {"name": "FromDate", "value": "2024-05-01"}]},
    ).json()["data"]
    assert sap
    assert all(r["Status"] == "REL" and r["ScheduledStart"] >= "2024-05-01" for r in sap)


def test_execute_without_a_body_is_an_empty_request(admin: Api) -> None:
    response = admin.post(execute_url(seed.MAXIMO_ASSETS, seed.ITWIN_RIVERSIDE_WTP))
    assert response.status_code == 200
    assert len(response.json()["data"]) == 24


def test_execute_null_variables_are_allowed(admin: Api) -> None:
    url = execute_url(seed.MAXIMO_ASSETS, seed.ITWIN_RIVERSIDE_WTP)
    assert admin.post(url, json={"variables": None}).status_code == 200


def test_a_required_system_the_itwin_lacks_stops_the_run_before_it_starts(
    admin: Api, server: SandboxServer
) -> None:
    # Northgate Bridge has no maximo_prod; Riverside has it (its optional reporting db is missing).
    response = admin.post(execute_url(seed.MAXIMO_ASSETS))
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("InvalidPackageDataRequest", "Cannot retrieve PackageData.")
    assert error["details"] == [
        {
            "code": "InvalidValue",
            "target": "systemId",
            "message": "Required system 'maximo_prod' (EDF.Maximo) is not configured for this iTwin.",
        }
    ]
    assert server.state.writes["execute"] == 0


def test_an_odata_query_needs_the_required_system_too(admin: Api) -> None:
    base = f"/edfs/itwins/{seed.ITWIN_RIVERSIDE_WTP}/packages/{seed.ODT_APIM_TEST}/odata"
    assert admin.get(base).status_code == 200  # the entity sets and $metadata are the package's own
    response = admin.get(f"{base}/SAP_Equipments_Read")
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["target"] == "systemId"


def test_execute_as_xml(admin: Api) -> None:
    body = {"returnAsXml": True, "variables": [{"name": "CustomerID", "value": "ALFKI"}]}
    response = admin.post(execute_url(seed.SQL_CUSTOMERS_TABLE), json=body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == "data"
    (row,) = list(root)
    assert row.findtext("companyName") == "Alfreds Futterkiste"


@pytest.mark.scale
def test_sensor_bulk_returns_100000_rows_in_both_formats(admin: Api, server: SandboxServer) -> None:
    rows = admin.post(execute_url(seed.SENSOR_READINGS_BULK)).json()["data"]
    assert len(rows) == seed.SENSOR_ROW_COUNT == 100_000
    assert set(rows[0]) == {"sensorId", "timestamp", "value", "unit", "status"}
    assert len({(r["sensorId"], r["timestamp"]) for r in rows[:5000]}) == 5000
    xml = admin.post(execute_url(seed.SENSOR_READINGS_BULK), json={"returnAsXml": True})
    assert len(ElementTree.fromstring(xml.content)) == 100_000
    assert server.state.writes["execute"] == 2


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({"returnAsXml": False, "extra": 1}, "extra"),
        ({"returnAsXml": "yes"}, "returnAsXml"),
        ({"variables": "CustomerID=ACME"}, "variables"),
        ({"variables": [{"name": "a", "value": 1}]}, "variables[0]"),
        ({"variables": [{"name": "a", "value": "b", "x": "y"}]}, "variables[0].x"),
        ({"variables": ["a"]}, "variables[0]"),
        ([1, 2], "body"),
    ],
)
def test_execute_body_schema_is_strict(admin: Api, server: SandboxServer, body: object, target: str) -> None:
    response = admin.post(execute_url(seed.SQL_CUSTOMERS_TABLE), json=body)
    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], error["message"]) == ("InvalidPackageDataRequest", "Cannot retrieve PackageData.")
    assert target in [d["target"] for d in error["details"]]
    assert server.state.writes["execute"] == 0


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b"[" * 100_000, b'{"variables": [}'])
def test_malformed_execute_body_is_422_not_500(admin: Api, raw: bytes) -> None:
    response = admin.post(
        execute_url(seed.SQL_CUSTOMERS_TABLE), content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert error_of(response)["details"][0]["target"] == "body"


@pytest.mark.parametrize(
    ("itwin_id", "unique_name"),
    [
        ("00000000-0000-4000-8000-000000000000", seed.SQL_CUSTOMERS_TABLE),
        (NG, seed.SHAREPOINT_DOCUMENTS),
        (NG, "NO_SUCH_PACKAGE"),
    ],
)
def test_execute_unknown_itwin_or_package_is_resource_not_found(
    admin: Api, itwin_id: str, unique_name: str
) -> None:
    response = admin.post(execute_url(unique_name, itwin_id), json={})
    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "ResourceNotFound"
    assert error["details"] == [
        {"code": "OperationNotFound", "message": "Unable to match incoming request to an operation."}
    ]


def test_execute_works_for_the_other_organization_only_on_its_itwins(harbor: Api) -> None:
    url = execute_url(seed.SHAREPOINT_DOCUMENTS, seed.ITWIN_HARBOR_TUNNEL)
    rows = harbor.post(url).json()["data"]
    assert rows
    assert all(r["name"].endswith(".pdf") for r in rows)
