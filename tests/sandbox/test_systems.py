"""Systems and their write-only credentials (4.9-4.11)."""

from __future__ import annotations

import pytest

from edfs_mcp.sandbox import SandboxServer, seed
from tests.sandbox.helpers import Api, error_of

NG = seed.ITWIN_NORTHGATE_BRIDGE
SYSTEMS = f"/edfs/itwins/{NG}/systems"
NEW = {
    "name": "Development Sql Server",
    "systemId": "reporting_sql",
    "systemType": "EDF.Sql",
    "credentials": {
        "Server": "dbserver.somewhere.com",
        "Database": "my-db",
        "UserId": "myuser",
        "Password": "P@$$w0rd-new",
        "IntegratedSecurity": "false",
        "CommandTimeout": "30",
    },
}
RECORD_FIELDS = {
    "id",
    "systemName",
    "organizationId",
    "systemId",
    "systemType",
    "lastChange",
    "lastChangeBy",
    "lastChangeByName",
}


def test_list_systems_is_metadata_only(admin: Api) -> None:
    systems = admin.get(SYSTEMS).json()["systems"]
    assert {s["systemId"] for s in systems} == {"sap_prod", "sensor_hub", "local_sql_server", "apim_gateway"}
    for system in systems:
        assert set(system) == RECORD_FIELDS
        assert system["organizationId"] == seed.ORG_NORTHGATE


def test_create_system_returns_201_and_never_echoes_credentials(operator: Api, server: SandboxServer) -> None:
    response = operator.post(SYSTEMS, json=NEW)
    assert response.status_code == 201
    created = response.json()
    assert set(created) == {"id", "systemName", "systemId", "systemType"}
    assert created["systemId"] == "reporting_sql"
    listed = operator.get(SYSTEMS)
    assert created["id"] in {s["id"] for s in listed.json()["systems"]}
    assert "P@$$w0rd-new" not in response.text + listed.text
    [record] = [s for s in server.state.systems_of(NG) if s["id"] == created["id"]]
    assert record["lastChangeByName"] == "Oscar Operator"
    assert server.state.credentials[created["id"]]["Password"] == "P@$$w0rd-new"
    assert server.state.writes["system_create"] == 1


def test_no_endpoint_returns_a_stored_secret(admin: Api, server: SandboxServer) -> None:
    secrets = {v for creds in server.state.credentials.values() for v in creds.values()}
    itwin = seed.ITWIN_RIVERSIDE_WTP
    pages = [
        admin.get(f"/edfs/itwins/{itwin}/systems"),
        admin.get(SYSTEMS),
        admin.get("/edfs/packages"),
        admin.get(f"/edfs/itwins/{itwin}/packages/{seed.SQL_CUSTOMERS_TABLE}/systems"),
        admin.get(f"/edfs/itwins/{itwin}/packages/{seed.SQL_CUSTOMERS_TABLE}/systems/EDF.Sql"),
    ]
    text = "".join(p.text for p in pages)
    assert all(p.status_code == 200 for p in pages)
    assert not [s for s in secrets if s in text]


def test_duplicate_system_id_is_409(admin: Api, server: SandboxServer) -> None:
    response = admin.post(
        SYSTEMS,
        json={**NEW, "systemId": "sap_prod", "systemType": "EDF.Sap", "credentials": {"UserName": "u"}},
    )
    assert response.status_code == 409
    assert error_of(response)["code"] == "SystemExists"
    assert server.state.writes["system_create"] == 0


@pytest.mark.parametrize(
    ("change", "target"),
    [
        ({"name": None}, "name"),
        ({"systemId": ""}, "systemId"),
        ({"systemId": "a/b"}, "systemId"),
        ({"systemType": "EDF.Oracle"}, "systemType"),
        ({"credentials": None}, "credentials"),
        ({"credentials": ["Server"]}, "credentials"),
        ({"credentials": {"Server": 5}}, "credentials.Server"),
        ({"credentials": {"Host": "x"}}, "credentials.Host"),
    ],
)
def test_create_system_validates_the_body(admin: Api, change: dict[str, object], target: str) -> None:
    body = {k: v for k, v in {**NEW, **change}.items() if v is not None}
    response = admin.post(SYSTEMS, json=body)
    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], error["message"]) == ("InvalidSystemRequest", "Cannot create System.")
    assert target in [d["target"] for d in error["details"]]


def test_delete_system_is_204_then_404(admin: Api, server: SandboxServer) -> None:
    url = f"{SYSTEMS}/{seed.SYSTEM_NORTHGATE_SAP}"
    response = admin.delete(url)
    assert response.status_code == 204
    assert response.content == b""
    assert seed.SYSTEM_NORTHGATE_SAP not in server.state.credentials
    assert admin.delete(url).status_code == 404
    assert server.state.writes["system_delete"] == 1


def test_system_record_ids_are_case_insensitive(admin: Api) -> None:
    assert admin.delete(f"{SYSTEMS}/{seed.SYSTEM_NORTHGATE_SAP.upper()}").status_code == 204


def test_system_of_another_itwin_is_not_found_here(admin: Api) -> None:
    response = admin.delete(f"{SYSTEMS}/{seed.SYSTEM_RIVERSIDE_SQL}")
    assert response.status_code == 404
    assert error_of(response)["code"] == "SystemNotFound"
