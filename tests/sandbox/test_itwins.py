"""The iTwins API subset (edfs-api.md §10)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from edfs_mcp.sandbox import SandboxServer, seed
from tests.sandbox.helpers import Api, error_of

MINIMAL = {"id", "class", "subClass", "type", "number", "displayName"}


def names(body: dict[str, Any]) -> list[str]:
    return [t["displayName"] for t in body["iTwins"]]


def test_only_member_itwins_are_listed_and_inactive_ones_hidden(
    operator: Api, admin: Api, viewer: Api
) -> None:
    assert names(operator.get("/itwins/").json()) == [
        "Eastline Light Rail Extension",
        "Northgate Bridge Rehabilitation",
        "Riverside Water Treatment Plant",
    ]
    assert set(names(viewer.get("/itwins").json())) == {
        "Northgate Bridge Rehabilitation",
        "Riverside Water Treatment Plant",
    }
    admin_names = names(admin.get("/itwins/").json())
    assert "Old Depot Survey" not in admin_names
    assert "Harbor Tunnel Retrofit" not in admin_names
    assert "Northgate Signals Upgrade" in admin_names  # Trial counts as not inactive


def test_minimal_by_default_full_on_prefer_representation(admin: Api) -> None:
    minimal = admin.get("/itwins/").json()["iTwins"][0]
    assert set(minimal) == MINIMAL
    full = admin.get("/itwins/", headers={"Prefer": "return=representation"}).json()["iTwins"][0]
    assert set(full) >= MINIMAL | {
        "dataCenterLocation",
        "status",
        "parentId",
        "iTwinAccountId",
        "createdDateTime",
        "createdBy",
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"$search": "northgate"}, ["Northgate Bridge Rehabilitation", "Northgate Signals Upgrade"]),
        ({"$search": "rwt-03"}, ["Riverside Water Treatment Plant"]),
        ({"displayName": "Pump Station 14"}, ["Pump Station 14"]),
        ({"displayName": "pump station 14"}, []),
        ({"number": "NG-BR-2024"}, ["Northgate Bridge Rehabilitation"]),
        ({"subClass": "Asset"}, ["Pump Station 14"]),
        (
            {"subClass": "Asset,Project", "$search": "st"},
            ["Eastline Light Rail Extension", "Pump Station 14"],
        ),
        ({"subClass": "Project", "$search": "st"}, ["Eastline Light Rail Extension"]),
        ({"status": "Inactive"}, ["Old Depot Survey"]),
        ({"$search": "depot", "includeInactive": "true"}, ["Old Depot Survey"]),
        ({"$search": "depot"}, []),
    ],
)
def test_filters(admin: Api, params: dict[str, str], expected: list[str]) -> None:
    response = admin.get("/itwins/", params=params)
    assert response.status_code == 200
    assert names(response.json()) == expected


def test_paging_links_carry_skip_and_top(admin: Api, server: SandboxServer) -> None:
    seen: list[str] = []
    body = admin.get("/itwins/", params={"subClass": "Project,Asset", "$top": "2"}).json()
    assert body["_links"]["prev"] is None
    pages = 0
    while True:
        pages += 1
        seen += names(body)
        links = body["_links"]
        assert links["self"]["href"].startswith(f"{server.base_url}/itwins/?")
        if links["next"] is None:
            break
        query = parse_qs(urlsplit(links["next"]["href"]).query)
        assert query["$top"] == ["2"]
        assert query["subClass"] == ["Project,Asset"]
        body = admin.get(links["next"]["href"]).json()
        assert body["_links"]["prev"] is not None
    assert pages == 3
    assert len(seen) == len(set(seen)) == 5


def test_x_max_return_caps_what_paging_reaches(admin: Api) -> None:
    response = admin.get("/itwins/", params={"$top": "2", "$skip": "2"}, headers={"X-Max-Return": "3"})
    assert response.headers["x-max-return"] == "3"
    body = response.json()
    assert len(body["iTwins"]) == 1
    assert body["_links"]["next"] is None


@pytest.mark.parametrize(
    ("params", "target"),
    [
        ({"$top": "1001"}, "$top"),
        ({"$top": "0"}, "$top"),
        ({"$skip": "-1"}, "$skip"),
        ({"$search": "x", "displayName": "y"}, "$search"),
        ({"status": "Gone"}, "status"),
        ({"status": "Active", "includeInactive": "true"}, "includeInactive"),
        ({"subClass": "Building"}, "subClass"),
        ({"$expand": "x"}, "$expand"),
    ],
)
def test_bad_parameters_are_422(admin: Api, params: dict[str, str], target: str) -> None:
    response = admin.get("/itwins/", params=params)
    assert response.status_code == 422
    assert target in [d["target"] for d in error_of(response)["details"]]


def test_get_one_itwin(operator: Api) -> None:
    body = operator.get(f"/itwins/{seed.ITWIN_RIVERSIDE_WTP}").json()
    assert body["iTwin"]["number"] == "RWT-0331"
    assert body["iTwin"]["status"] == "Active"


@pytest.mark.parametrize(
    "itwin_id",
    [
        seed.ITWIN_HARBOR_TUNNEL,
        seed.ITWIN_PUMP_STATION_14,
        "00000000-0000-4000-8000-000000000000",
        "not-a-guid",
    ],
)
def test_unknown_or_foreign_itwin_is_not_found(operator: Api, itwin_id: str) -> None:
    response = operator.get(f"/itwins/{itwin_id}")
    assert response.status_code == 404
    assert error_of(response) == {"code": "iTwinNotFound", "message": "Requested iTwin is not available."}


def test_itwins_needs_a_token(anonymous: Api) -> None:
    response = anonymous.get("/itwins/")
    assert response.status_code == 401
    assert error_of(response)["code"] == "HeaderNotFound"
