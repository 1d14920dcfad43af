"""Package roles and their assignments (4.16-4.20)."""

from __future__ import annotations

from edfs_mcp.sandbox import SandboxServer, seed
from tests.sandbox.helpers import Api, error_of

NG = seed.ITWIN_NORTHGATE_BRIDGE
ROLES = f"/edfs/itwins/{NG}/packages/{seed.MAXIMO_ASSETS}/roles"
PM_ROLE = seed.itwin_role_id(NG, "Project Manager")
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
