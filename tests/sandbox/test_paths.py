"""Percent-encoded segments are decoded one by one and validated: never re-routed, never a 500."""

from __future__ import annotations

import json
from urllib.parse import quote

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edfs_mcp.sandbox import SandboxServer, seed
from tests.sandbox.helpers import V1, Api, error_of

NG = seed.ITWIN_NORTHGATE_BRIDGE
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize(
    "name",
    [
        "..%2F..%2Ftimers",
        "SAP%2FWORK",
        "%2E%2E%2F%2E%2E",
        "a%252Fb",
        "x%00y",
        "%C0%AF",
        "%E2%80%AE",
        "SAP%20WORK",
        "a%3Fb",
        "a%23b",
        "a%5Cb",
        "%0A0",
        "a%0D%0Ab",
    ],
)
def test_encoded_unique_names_are_422_on_execute(admin: Api, server: SandboxServer, name: str) -> None:
    response = admin.post(f"/edfs/itwins/{NG}/packages/{name}")
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "InvalidPackageDataRequest"
    assert error["details"] == [
        {
            "code": "InvalidValue",
            "target": "uniqueName",
            "message": "Provided Unique Name value contains invalid characters.",
        }
    ]
    assert server.state.writes["execute"] == 0
    assert server.state.requests[-1] == ("POST", f"/edfs/itwins/{NG}/packages/{name}")


def test_encoded_dots_are_a_name_not_a_parent_directory(admin: Api) -> None:
    response = admin.post(f"/edfs/itwins/{NG}/packages/%2E%2E")
    assert response.status_code == 404
    assert error_of(response)["code"] == "ResourceNotFound"


@pytest.mark.parametrize("itwin", [f"{NG}%2F..", f"..%2F{NG}", quote(f"{NG}/timers", safe=""), f"{NG}%20"])
def test_encoded_itwin_ids_are_422(admin: Api, itwin: str) -> None:
    response = admin.get(f"/edfs/itwins/{itwin}/timers")
    assert response.status_code == 422
    assert error_of(response)["details"][0]["target"] == "iTwinId"


def test_a_slash_inside_a_timer_id_does_not_reach_toggle(admin: Api, server: SandboxServer) -> None:
    response = admin.request(
        "DELETE", f"/edfs/itwins/{NG}/timers/{seed.TIMER_NORTHGATE_SAP_NIGHTLY}%2Ftoggle"
    )
    assert response.status_code == 422
    assert error_of(response)["details"][0]["target"] == "timerId"
    patch = admin.patch(f"/edfs/itwins/{NG}/timers/{seed.TIMER_NORTHGATE_SAP_NIGHTLY}%2Ftoggle")
    assert patch.status_code == 404
    assert server.state.writes["timer_toggle"] == server.state.writes["timer_delete"] == 0


def test_encoded_slash_in_the_literal_part_is_not_a_route(admin: Api) -> None:
    response = admin.get(f"/edfs%2Fitwins/{NG}/timers")
    assert response.status_code == 404
    assert error_of(response)["code"] == "ResourceNotFound"


segments = st.text(min_size=1, max_size=40).map(lambda s: quote(s, safe=""))
templates = st.sampled_from(
    [
        ("GET", "/edfs/packages/{}"),
        ("POST", f"/edfs/itwins/{NG}/packages/{{}}"),
        ("GET", "/edfs/itwins/{}/timers"),
        ("PATCH", f"/edfs/itwins/{NG}/timers/{{}}/toggle"),
        ("DELETE", f"/edfs/itwins/{NG}/systems/{{}}"),
        ("GET", f"/edfs/itwins/{NG}/packages/{seed.ODT_APIM_TEST}/odata/{{}}"),
        ("GET", f"/edfs/itwins/{NG}/packages/{{}}/systems/{{}}"),
        ("GET", "/itwins/{}"),
    ]
)


@FUZZ
@given(template=templates, segment=segments, other=segments)
def test_no_path_segment_causes_a_500(
    http: httpx2.Client, tokens: dict[str, str], template: tuple[str, str], segment: str, other: str
) -> None:
    method, path = template
    response = Api(http, tokens["admin"]).request(method, path.format(segment, other))
    assert response.status_code in {200, 204, 404, 422}
    if response.status_code >= 400:
        assert set(error_of(response)) <= {"code", "message", "details"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "variables",
                    "returnAsXml",
                    "name",
                    "value",
                    "cronStr",
                    "packageUniqueName",
                    "credentials",
                    "systemId",
                    "systemType",
                    "x",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=15,
)
bodies = st.one_of(st.binary(max_size=64), json_values.map(lambda v: json.dumps(v).encode()))


@FUZZ
@given(
    path=st.sampled_from(
        [
            f"/edfs/itwins/{NG}/packages/{seed.SQL_CUSTOMERS_TABLE}",
            f"/edfs/itwins/{NG}/timers",
            f"/edfs/itwins/{NG}/systems",
            f"/edfs/itwins/{NG}/packages/{seed.MAXIMO_ASSETS}/roles",
        ]
    ),
    body=bodies,
)
def test_no_body_causes_a_500(http: httpx2.Client, tokens: dict[str, str], path: str, body: bytes) -> None:
    response = http.post(
        path,
        content=body,
        headers={
            "Authorization": f"Bearer {tokens['admin']}",
            "Accept": V1,
            "Content-Type": "application/json",
        },
    )
    assert response.status_code in {200, 201, 409, 422}
    if response.status_code == 422:
        assert error_of(response)["details"]


@FUZZ
@given(
    option=st.sampled_from(["$filter", "$select", "$orderby", "$top", "$skip"]), value=st.text(max_size=60)
)
def test_no_odata_query_causes_a_500(
    http: httpx2.Client, tokens: dict[str, str], option: str, value: str
) -> None:
    url = f"/edfs/itwins/{NG}/packages/{seed.ODT_APIM_TEST}/odata/SAP_Work_Orders_Read"
    response = Api(http, tokens["admin"]).get(url, params={option: value})
    assert response.status_code in {200, 422}
