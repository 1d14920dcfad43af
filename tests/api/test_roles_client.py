"""Package roles (4.16-4.20) and Access Control's iTwin roles (4.21) through the API client, against
the sandbox on loopback. 4.19 and 4.20 are reached at the method and path the client is set to."""

from __future__ import annotations

import pytest

from edfs_mcp.errors import NotFound
from edfs_mcp.sandbox import SandboxServer, seed
from tests.api.conftest import sandbox_client
from tests.harness import Waits

pytestmark = pytest.mark.anyio

EASTLINE = seed.ITWIN_EASTLINE_RAIL  # no package role assigned at start
PM = seed.itwin_role_id(EASTLINE, "Project Manager")
EXEC = seed.PACKAGE_ROLE_EXECUTE


async def test_itwin_roles_come_from_access_control_v2(fresh: SandboxServer, waits: Waits) -> None:
    async with sandbox_client(fresh, waits) as client:
        roles = await client.list_itwin_roles(EASTLINE)
        available = await client.list_package_roles()
    # The sandbox answers v1 there with 404: the client asked for v2.
    assert {role.display_name for role in roles} == set(seed.ITWIN_ROLE_NAMES)
    assert next(r for r in roles if r.display_name == "Project Manager").id == PM
    assert [(r.role_id, r.name) for r in available] == [(EXEC, "Execute Integration Package")]


async def test_add_update_remove_answer_with_the_listing(fresh: SandboxServer, waits: Waits) -> None:
    name = seed.MAXIMO_ASSETS
    async with sandbox_client(fresh, waits) as client:
        added = await client.add_role_assignments(EASTLINE, name, {PM: [EXEC]})
        assert [(a.itwin_role_name, [p.package_role_id for p in a.package_roles]) for a in added] == [
            ("Project Manager", [EXEC])
        ]
        assert await client.update_role_assignments(EASTLINE, name, {PM: [EXEC]}) == added
        assert await client.list_role_assignments(EASTLINE, name) == added
        assert await client.remove_role_assignments(EASTLINE, name, [PM]) == []
    assert [m for m, p in fresh.state.requests if p.endswith(f"{name}/roles")] == [
        "POST",
        "PATCH",
        "GET",
        "DELETE",
    ]


async def test_update_and_remove_follow_the_configured_method_and_path(
    fresh: SandboxServer, waits: Waits
) -> None:
    name = seed.MAXIMO_ASSETS
    async with sandbox_client(fresh, waits) as client:
        client.roles_update_route = ("PUT", "roles")
        client.roles_remove_route = ("POST", "roles/remove")
        with pytest.raises(NotFound):  # the sandbox serves the assumed ones only
            await client.update_role_assignments(EASTLINE, name, {PM: [EXEC]})
        with pytest.raises(NotFound):
            await client.remove_role_assignments(EASTLINE, name, [PM])
    sent = [(m, p.rsplit(f"/{name}/", 1)[-1]) for m, p in fresh.state.requests if f"/{name}/" in p]
    assert sent == [("PUT", "roles"), ("POST", "roles/remove")]
    assert fresh.state.writes["roles_update"] == 0 and fresh.state.writes["roles_remove"] == 0
