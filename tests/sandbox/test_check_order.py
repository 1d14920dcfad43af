"""The checks of edfs-api.md §8 in order: Accept/route 404 → 401 → 403 → 422 path → 404 → 422 body."""

from __future__ import annotations

import httpx2
import pytest

from edfs_mcp.sandbox import seed
from tests.sandbox.helpers import Api, error_of

NG = seed.ITWIN_NORTHGATE_BRIDGE
UNKNOWN = "00000000-0000-4000-8000-000000000000"
HEADER_NOT_FOUND = "Header Authorization was not found in the request. Access denied."


def test_no_authorization_header_is_header_not_found(anonymous: Api) -> None:
    response = anonymous.get(f"/edfs/itwins/{NG}/timers")
    assert response.status_code == 401
    assert error_of(response) == {"code": "HeaderNotFound", "message": HEADER_NOT_FOUND}
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize("value", ["Bearer garbage", "Bearer", "Basic dXNlcjpwYXNz", "Bearer a.b.c", "token"])
def test_bad_authorization_is_unauthorized(http: httpx2.Client, value: str) -> None:
    response = http.get(f"/edfs/itwins/{NG}/timers", headers={"Authorization": value})
    assert response.status_code == 401
    assert error_of(response)["code"] == "Unauthorized"


def test_viewer_without_edfs_permissions_gets_403_everywhere(viewer: Api) -> None:
    calls = [
        ("GET", "/edfs/packages"),
        ("GET", f"/edfs/packages/{seed.SAP_WORK_ORDERS}"),
        ("POST", f"/edfs/itwins/{NG}/packages/{seed.SAP_WORK_ORDERS}"),
        ("GET", f"/edfs/itwins/{NG}/packages/{seed.SAP_WORK_ORDERS}/systems"),
        ("GET", f"/edfs/itwins/{NG}/systems"),
        ("GET", f"/edfs/itwins/{NG}/timers"),
        ("PATCH", f"/edfs/itwins/{NG}/timers/{seed.TIMER_NORTHGATE_SAP_NIGHTLY}/toggle"),
        ("GET", f"/edfs/itwins/{NG}/packages/{seed.ODT_APIM_TEST}/odata"),
        ("GET", "/edfs/packages/roles"),
    ]
    for method, path in calls:
        response = viewer.request(method, path)
        assert response.status_code == 403, (method, path)
        assert error_of(response) == {
            "code": "InsufficientPermissions",
            "message": "The user has insufficient permissions for the requested operation.",
        }


def test_operator_permissions_follow_the_table(operator: Api) -> None:
    assert operator.get("/edfs/packages").status_code == 200  # org-level edfs_projmng
    assert operator.get(f"/edfs/itwins/{NG}/timers").status_code == 200  # listmng on Northgate
    riverside = seed.ITWIN_RIVERSIDE_WTP
    assert operator.get(f"/edfs/itwins/{riverside}/timers").status_code == 403  # exec only there
    assert operator.post(f"/edfs/itwins/{riverside}/packages/{seed.SQL_CUSTOMERS_TABLE}").status_code == 200
    assert operator.get(f"/edfs/itwins/{seed.ITWIN_EASTLINE_RAIL}/timers").status_code == 403  # member only


def test_org_admin_is_refused_on_another_organizations_itwin(admin: Api, harbor: Api) -> None:
    assert admin.get(f"/edfs/itwins/{seed.ITWIN_HARBOR_TUNNEL}/timers").status_code == 403
    assert harbor.get(f"/edfs/itwins/{seed.ITWIN_HARBOR_TUNNEL}/timers").status_code == 200
    assert harbor.get(f"/edfs/itwins/{NG}/timers").status_code == 403


def test_permission_is_checked_before_path_validation(operator: Api) -> None:
    # A non-admin holds no permission on an iTwin that cannot exist, so 403 comes first (§8 order).
    assert operator.get("/edfs/itwins/not-a-guid/timers").status_code == 403


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/edfs/itwins/not-a-guid/timers", "InvalidTimerListRequest"),
        ("/edfs/itwins/not-a-guid/systems", "InvalidSystemListRequest"),
        ("/edfs/itwins/not-a-guid/packages/SAP_WORK_ORDERS/systems", "InvalidSystemListRequest"),
        ("/edfs/itwins/not-a-guid/packages/ODT_APIM_TEST/odata", "InvalidSchemaRequest"),
        ("/edfs/itwins/not-a-guid/packages/ODT_APIM_TEST/roles", "InvalidAssignmentListRequest"),
    ],
)
def test_malformed_itwin_id_is_422_with_one_detail(admin: Api, path: str, code: str) -> None:
    response = admin.get(path)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == code
    assert error["details"] == [
        {"code": "InvalidValue", "message": "Provided iTwin ID value is not valid.", "target": "iTwinId"}
    ]


def test_execute_with_two_bad_segments_lists_both_like_the_reference(admin: Api) -> None:
    response = admin.post("/edfs/itwins/123/packages/bad%20name!")
    assert response.status_code == 422
    assert error_of(response) == {
        "code": "InvalidPackageDataRequest",
        "message": "Cannot retrieve PackageData.",
        "details": [
            {"code": "InvalidValue", "message": "Provided iTwin ID value is not valid.", "target": "iTwinId"},
            {
                "code": "InvalidValue",
                "message": "Provided Unique Name value contains invalid characters.",
                "target": "uniqueName",
            },
        ],
    }


def test_malformed_timer_id_targets_timer_id(admin: Api) -> None:
    response = admin.patch(f"/edfs/itwins/{NG}/timers/42/toggle")
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "InvalidTimerRequest"
    assert error["message"] == "Cannot retrieve Timer."
    assert error["details"] == [
        {"code": "InvalidValue", "message": "Provided Timer ID value is not valid.", "target": "timerId"}
    ]


def test_malformed_system_record_id_targets_id(admin: Api) -> None:
    response = admin.delete(f"/edfs/itwins/{NG}/systems/sap_prod")
    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], error["message"]) == ("InvalidSystemRequest", "Cannot remove System.")
    assert error["details"][0]["target"] == "id"


def test_bad_unique_name_on_details_is_invalid_package_request(admin: Api) -> None:
    response = admin.get("/edfs/packages/SAP$ORDERS")
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "InvalidPackageRequest"
    assert error["details"][0]["target"] == "uniqueName"


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("GET", f"/edfs/itwins/{UNKNOWN}/timers", "TimerListNotFound"),
        ("POST", f"/edfs/itwins/{UNKNOWN}/timers", "TimerListNotFound"),
        ("GET", f"/edfs/itwins/{UNKNOWN}/systems", "SystemListNotFound"),
        ("GET", f"/edfs/itwins/{NG}/packages/{seed.SHAREPOINT_DOCUMENTS}/systems", "SystemListNotFound"),
        ("GET", f"/edfs/itwins/{NG}/packages/{seed.SAP_WORK_ORDERS}/systems/EDF.Sql", "SystemTypeNotFound"),
        ("DELETE", f"/edfs/itwins/{NG}/systems/{UNKNOWN}", "SystemNotFound"),
        ("DELETE", f"/edfs/itwins/{NG}/timers/{UNKNOWN}", "TimerNotFound"),
        (
            "PATCH",
            f"/edfs/itwins/{UNKNOWN}/timers/{seed.TIMER_NORTHGATE_SAP_NIGHTLY}/toggle",
            "TimerNotFound",
        ),
        ("GET", f"/edfs/itwins/{NG}/packages/{seed.SAP_WORK_ORDERS}/odata", "SchemaNotFound"),
        ("GET", f"/edfs/itwins/{NG}/packages/NOPE/roles", "AssignmentListNotFound"),
        ("GET", f"/edfs/packages/{seed.SHAREPOINT_DOCUMENTS}", "PackageNotFound"),
    ],
)
def test_unknown_resources_get_their_operations_404_code(
    admin: Api, method: str, path: str, code: str
) -> None:
    response = admin.request(method, path, json={} if method == "POST" else None)
    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == code
    assert error["message"].startswith("Requested ")
    assert error["message"].endswith(" is not available.")


def test_existence_is_checked_before_the_body(admin: Api) -> None:
    response = admin.post(f"/edfs/itwins/{UNKNOWN}/timers", content=b"{not json")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "*/*",
        "application/json",
        "application/vnd.bentley.itwin-platform.v1+json",
        "text/html, application/json;q=0.9",
    ],
)
def test_accepted_media_types(admin: Api, accept: str | None) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    request = admin.http.build_request(
        "GET", "/edfs/packages", headers={"Authorization": f"Bearer {admin.token}", **headers}
    )
    if accept is None:
        del request.headers["Accept"]
    response = admin.http.send(request)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    "accept", ["application/vnd.bentley.itwin-platform.v2+json", "application/xml", "text/html"]
)
def test_other_accept_values_are_operation_not_found(admin: Api, accept: str) -> None:
    response = admin.get("/edfs/packages", headers={"Accept": accept})
    assert response.status_code == 404
    assert error_of(response) == {
        "code": "ResourceNotFound",
        "message": "The requested resource was not found. Verify the API URL and the Accept header.",
        "details": [
            {"code": "OperationNotFound", "message": "Unable to match incoming request to an operation."}
        ],
    }


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/edfs/nothing"),
        ("PUT", f"/edfs/itwins/{NG}/timers"),
        ("GET", f"/edfs/itwins/{NG}/timers/"),
        ("GET", "/edfs/packages/"),
        ("POST", "/edfs/packages"),
        ("GET", "/"),
        ("GET", "/edfs"),
        ("GET", "/edfs/itwins//timers"),
    ],
)
def test_unmatched_routes_are_operation_not_found_even_without_a_token(
    anonymous: Api, method: str, path: str
) -> None:
    response = anonymous.request(method, path)
    assert response.status_code == 404
    assert error_of(response)["details"] == [
        {"code": "OperationNotFound", "message": "Unable to match incoming request to an operation."}
    ]
