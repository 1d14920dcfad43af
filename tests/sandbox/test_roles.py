"""Package roles and their assignments (4.16-4.20)."""

from __future__ import annotations

from edfs_mcp.sandbox import SandboxServer, seed
from tests.sandbox.helpers import Api, error_of

NG = seed.ITWIN_NORTHGATE_BRIDGE
ELR = seed.ITWIN_EASTLINE_RAIL  # no package role assigned at start
ROLES = f"/edfs/itwins/{ELR}/packages/{seed.MAXIMO_ASSETS}/roles"
PM_ROLE = seed.itwin_role_id(ELR, "Project Manager")
EXEC = seed.PACKAGE_ROLE_EXECUTE


def test_available_package_roles(admin: Api) -> None:
    assert admin.get("/edfs/packages/roles").json() == {
        "packageRoles": [
            {
                "roleId": EXEC,
                "name": "Execute Integration Package",
                "description": "Execute Integration Package",
            }
        ]
    }


def test_seeded_assignment_is_listed(admin: Api) -> None:
    body = admin.get(f"/edfs/itwins/{NG}/packages/{seed.SAP_WORK_ORDERS}/roles").json()
    assert body == {
        "assignments": [
            {
                "iTwinRoleName": "EDFS_integration",
                "iTwinRoleId": seed.itwin_role_id(NG, "EDFS_integration"),
                "packageRoles": [{"packageRoleName": "Execute Integration Package", "packageRoleId": EXEC}],
            }
        ]
    }


def test_add_update_and_remove_assignments(admin: Api, server: SandboxServer) -> None:
    assert admin.get(ROLES).json() == {"assignments": []}
    added = admin.post(ROLES, json={"assignments": [{"iTwinRoleId": PM_ROLE, "packageRoleIds": [EXEC]}]})
    assert added.status_code == 200
    assert [a["iTwinRoleName"] for a in added.json()["assignments"]] == ["Project Manager"]
    again = admin.post(ROLES, json={"assignments": [{"iTwinRoleId": PM_ROLE, "packageRoleIds": [EXEC]}]})
    assert again.json() == added.json()  # re-adding is a no-op
    updated = admin.patch(ROLES, json={"assignments": [{"iTwinRoleId": PM_ROLE, "packageRoleIds": [EXEC]}]})
    assert updated.status_code == 200
    removed = admin.request("DELETE", ROLES, json={"iTwinRoleIds": [PM_ROLE]})
    assert removed.status_code == 200
    assert removed.json() == {"assignments": []}
    assert server.state.writes["roles_add"] == 2
    assert server.state.writes["roles_remove"] == 1


def test_bad_role_ids_are_422_with_their_targets(admin: Api) -> None:
    response = admin.post(
        ROLES,
        json={
            "assignments": [
                {"iTwinRoleId": "nope", "packageRoleIds": ["x"]},
                {"iTwinRoleId": PM_ROLE, "packageRoleIds": ["x"]},
            ]
        },
    )
    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], error["message"]) == (
        "InvalidAssignmentListRequest",
        "Cannot create AssignmentList.",
    )
    assert {(d["target"], d["message"]) for d in error["details"]} == {
        ("ITwinRoleId", "Provided iTwin Role ID value is not valid."),
        ("PackageRoleIds", "Provided Package Role ID value is not valid."),
    }


def test_managing_roles_needs_ilsmng_and_manage_roles(operator: Api) -> None:
    assert operator.get(ROLES).status_code == 403
    assert operator.get("/edfs/packages/roles").status_code == 403


RIVERSIDE = seed.ITWIN_RIVERSIDE_WTP
RUN_SQL = f"/edfs/itwins/{RIVERSIDE}/packages/{seed.SQL_CUSTOMERS_TABLE}"
SQL_ROLES = f"{RUN_SQL}/roles"
VIEWER_ROLE = seed.itwin_role_id(RIVERSIDE, "Viewer")
V2 = "application/vnd.bentley.itwin-platform.v2+json"


def test_the_exec_role_through_an_itwin_role_gates_the_run(admin: Api, viewer: Api) -> None:
    assert viewer.post(RUN_SQL).status_code == 403  # a Viewer, and Viewer has no package role
    grant = {"assignments": [{"iTwinRoleId": VIEWER_ROLE, "packageRoleIds": [EXEC]}]}
    assert admin.post(SQL_ROLES, json=grant).status_code == 200
    assert viewer.post(RUN_SQL).status_code == 200
    # Only for that package and that iTwin.
    assert viewer.post(f"/edfs/itwins/{RIVERSIDE}/packages/{seed.MAXIMO_ASSETS}").status_code == 403
    assert viewer.post(f"/edfs/itwins/{NG}/packages/{seed.SQL_CUSTOMERS_TABLE}").status_code == 403
    assert admin.request("DELETE", SQL_ROLES, json={"iTwinRoleIds": [VIEWER_ROLE]}).status_code == 200
    assert viewer.post(RUN_SQL).status_code == 403


def test_managing_a_package_role_needs_that_role_too(server: SandboxServer, viewer: Api) -> None:
    # ilsmng + administration_manage_roles let one read the assignments, not hand out a role one lacks.
    server.state.set_itwin_roles(RIVERSIDE, seed.IDENTITY_VIEWER, {"Viewer", "Project Administrator"})
    assert viewer.get(SQL_ROLES).status_code == 200
    grant = {"assignments": [{"iTwinRoleId": VIEWER_ROLE, "packageRoleIds": [EXEC]}]}
    assert viewer.post(SQL_ROLES, json=grant).status_code == 403
    server.state.set_itwin_roles(
        RIVERSIDE, seed.IDENTITY_VIEWER, {"EDFS_integration", "Project Administrator"}
    )
    assert viewer.post(SQL_ROLES, json=grant).status_code == 200


def test_access_control_lists_the_itwin_roles_the_assignments_name(admin: Api) -> None:
    response = admin.get(f"/accesscontrol/itwins/{RIVERSIDE}/roles", headers={"Accept": V2})
    assert response.status_code == 200
    roles = {role["displayName"]: role for role in response.json()["roles"]}
    assert set(roles) == set(seed.ITWIN_ROLE_NAMES)
    assert roles["Viewer"] == {
        "id": VIEWER_ROLE,
        "displayName": "Viewer",
        "description": "Sees the iTwin and its data",
        "permissions": ["itwins_read"],
    }
    assert "administration_manage_roles" in roles["Project Administrator"]["permissions"]
    names = {a["iTwinRoleId"]: a["iTwinRoleName"] for a in admin.get(SQL_ROLES).json()["assignments"]}
    assert all(roles[name]["id"] == role_id for role_id, name in names.items())


def test_access_control_answers_v2_and_needs_manage_roles(admin: Api, operator: Api) -> None:
    path = f"/accesscontrol/itwins/{RIVERSIDE}/roles"
    assert admin.get(path, headers={"Accept": "application/json"}).status_code == 200
    assert admin.get(path).status_code == 404  # the helper asks for EDFS's v1: not this API's version
    assert operator.get(path, headers={"Accept": V2}).status_code == 403
    missing = admin.get(
        "/accesscontrol/itwins/00000000-0000-4000-8000-000000000000/roles", headers={"Accept": V2}
    )
    assert missing.status_code == 404
    assert error_of(missing) == {"code": "ItwinNotFound", "message": "Requested iTwin is not available."}
