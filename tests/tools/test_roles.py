"""Package roles over MCP, against the sandbox over HTTP: the Org Admin gives the Riverside Viewer role the
Exec role by name, the viewer can then run the package; taken away (after asking), the run is refused with
a 403 that says what is missing."""

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from mcp.types import ElicitResult

from edfs_mcp.sandbox import SandboxServer, seed
from tests.harness import Session, serve_in_process
from tests.tools.conftest import tools_as

pytestmark = pytest.mark.anyio

RIVERSIDE = seed.ITWIN_RIVERSIDE_WTP
RIVERSIDE_NAME = "Riverside Water Treatment Plant"
SQL = seed.SQL_CUSTOMERS_TABLE
RUN = {"itwin_id": RIVERSIDE, "unique_name": SQL}
VIEWER_ROLE = seed.itwin_role_id(RIVERSIDE, "Viewer")
EXEC = "Execute Integration Package"
ROLE_WRITES = ("roles_add", "roles_update", "roles_remove")


@pytest.fixture(autouse=True)
def _roles_restored(sandbox: SandboxServer) -> Iterator[None]:
    """The session's sandbox is shared: put the assignments and memberships back as they were."""
    with sandbox.state.lock:
        saved = copy.deepcopy((sandbox.state.assignments, sandbox.state.members))
    yield
    sandbox.state.faults.clear()
    with sandbox.state.lock:
        sandbox.state.assignments, sandbox.state.members = saved


def viewer_holds_exec(sandbox: SandboxServer) -> bool:
    with sandbox.state.lock:
        held = sandbox.state.assignments.get((RIVERSIDE, SQL), {}).get(VIEWER_ROLE, set())
        return seed.PACKAGE_ROLE_EXECUTE in held


def role_writes(sandbox: SandboxServer) -> int:
    return sum(sandbox.state.writes[kind] for kind in ROLE_WRITES)


async def test_grant_run_revoke_refused(sandbox: SandboxServer) -> None:
    async with tools_as(sandbox, "viewer") as vera:
        refused = await vera.error("execute_integration_package", RUN)
    assert "HTTP 403" in refused and EXEC in refused

    async with tools_as(sandbox, "admin") as admin:
        listed, text = await admin.ok("list_package_roles", RUN)
        roles = {r["itwin_role"]: r["package_roles"] for r in listed["itwin_roles"]}
        assert roles["Viewer"] == [] and roles["EDFS_integration"] == [EXEC]
        assert listed["available_package_roles"] == [EXEC]
        assert "EDFS_integration" in text and "set_package_role" in text
        assert listed["itwin_name"] == RIVERSIDE_NAME and f"On {RIVERSIDE_NAME!r} (iTwin {RIVERSIDE})" in text

        before = role_writes(sandbox)
        granted, text = await admin.ok("set_package_role", {**RUN, "itwin_role": "viewer", "granted": True})
        assert granted["changed"] is True and granted["granted"] is True and granted["itwin_role"] == "Viewer"
        assert "now has" in text and viewer_holds_exec(sandbox)
        assert granted["itwin_name"] == RIVERSIDE_NAME and f"on {RIVERSIDE_NAME!r}" in text
        assert role_writes(sandbox) == before + 1
        again, text = await admin.ok("set_package_role", {**RUN, "itwin_role": "VIEWER", "granted": True})
        assert again["changed"] is False and "already has" in text and again["itwin_name"] == RIVERSIDE_NAME
        assert role_writes(sandbox) == before + 1  # read, found it so, wrote nothing

    async with tools_as(sandbox, "viewer") as vera:
        ran, _ = await vera.ok("execute_integration_package", RUN)
        assert ran["row_count"] > 0

    async with tools_as(sandbox, "admin") as admin:  # this client cannot be asked: confirm=true is needed
        text = await admin.error("set_package_role", {**RUN, "itwin_role": "Viewer", "granted": False})
        assert "confirm=true" in text and "Not changed" in text
        assert viewer_holds_exec(sandbox) and role_writes(sandbox) == before + 1
        revoked, text = await admin.ok(
            "set_package_role", {**RUN, "itwin_role": "Viewer", "granted": False, "confirm": True}
        )
        assert revoked["changed"] is True and revoked["granted"] is False and "no longer has" in text
        assert revoked["itwin_name"] == RIVERSIDE_NAME
    assert not viewer_holds_exec(sandbox)
    assert sandbox.state.writes["roles_remove"] >= 1  # Viewer held nothing else: 4.20

    async with tools_as(sandbox, "viewer") as vera:
        text = await vera.error("execute_integration_package", RUN)
    assert "HTTP 403 InsufficientPermissions" in text
    assert EXEC in text and "iTwin roles" in text and "Organization Administrator" in text
    assert "set_package_role(" not in text  # Vera may not manage roles: no tool she could use is offered


@pytest.mark.parametrize(("action", "revoked"), [("accept", True), ("decline", False)])
async def test_taking_it_away_asks_the_user_when_the_client_can(
    sandbox: SandboxServer, action: str, revoked: bool
) -> None:
    sandbox.state.assignments.setdefault((RIVERSIDE, SQL), {})[VIEWER_ROLE] = {seed.PACKAGE_ROLE_EXECUTE}
    questions: list[str] = []

    async def answer(context: Any, params: Any) -> ElicitResult:
        questions.append(params.message)
        return ElicitResult(action=action, content={"revoke": True} if action == "accept" else None)

    async with serve_in_process(sandbox, "admin", elicitation_callback=answer) as session:
        result = await session.call("set_package_role", {**RUN, "itwin_role": "Viewer", "granted": False})
    assert len(questions) == 1 and EXEC in questions[0] and "'Viewer'" in questions[0].replace('"', "'")
    assert RIVERSIDE_NAME in questions[0]
    assert result.is_error is (not revoked)
    assert viewer_holds_exec(sandbox) is (not revoked)


async def test_a_grant_or_nothing_to_take_away_asks_nothing(sandbox: SandboxServer) -> None:
    questions: list[str] = []

    async def answer(context: Any, params: Any) -> ElicitResult:
        questions.append(params.message)
        return ElicitResult(action="decline")

    async with serve_in_process(sandbox, "admin", elicitation_callback=answer) as session:
        nothing, _ = await session.ok("set_package_role", {**RUN, "itwin_role": "Viewer", "granted": False})
        assert nothing["changed"] is False
        granted, _ = await session.ok("set_package_role", {**RUN, "itwin_role": "Viewer", "granted": True})
        assert granted["changed"] is True
    assert questions == [] and viewer_holds_exec(sandbox)


async def test_a_role_holding_others_is_updated_not_replaced(sandbox: SandboxServer) -> None:
    # EDFS_integration already holds the Exec role for SQL at Riverside: re-granting writes nothing,
    # and a role that holds one keeps it when changed through 4.19 (here: taken away, then back).
    async with tools_as(sandbox, "admin") as admin:
        before = sandbox.state.writes["roles_update"]
        same, _ = await admin.ok(
            "set_package_role", {**RUN, "itwin_role": "edfs_integration", "granted": True}
        )
        assert same["changed"] is False
        assert sandbox.state.writes["roles_update"] == before


async def test_unknown_names_list_what_there_is_and_change_nothing(sandbox: SandboxServer) -> None:
    async with tools_as(sandbox, "admin") as admin:
        before = role_writes(sandbox)
        text = await admin.error("set_package_role", {**RUN, "itwin_role": "Nobody", "granted": True})
        assert "No iTwin role named" in text and "Nothing was changed" in text
        assert all(name in text for name in seed.ITWIN_ROLE_NAMES)
        text = await admin.error(
            "set_package_role", {**RUN, "itwin_role": "Viewer", "granted": True, "package_role": "Admin"}
        )
        assert "No package role named" in text and EXEC in text
        assert role_writes(sandbox) == before


async def test_every_bad_argument_is_one_sentence_and_nothing_is_sent(sandbox: SandboxServer) -> None:
    async with tools_as(sandbox, "admin") as admin:
        await admin.ok("find_itwins")  # signed in: what follows sends nothing at all
        sent = len(sandbox.state.requests)
        text = await admin.error(
            "set_package_role",
            {
                "itwin_id": "riverside",
                "unique_name": "SQL CUSTOMERS",
                "itwin_role": "   ",
                "granted": "perhaps",
                "package_role": "x" * 300,
            },
        )
        listed = await admin.error("list_package_roles", {"itwin_id": "nope", "unique_name": "a/b"})
    assert text.startswith("Invalid arguments for set_package_role; nothing was sent.")
    for argument in ("itwin_id", "unique_name", "itwin_role", "granted", "package_role"):
        assert text.count(argument) >= 1, argument
    assert "find_itwins" in text and "list_integration_packages" in text and "role name" in text
    assert listed.startswith("Invalid arguments for list_package_roles") and "itwin_id" in listed
    assert len(sandbox.state.requests) == sent


async def test_a_refused_run_says_set_package_role_can_when_the_caller_may_manage_roles(
    sandbox: SandboxServer,
) -> None:
    sandbox.state.set_itwin_roles(RIVERSIDE, seed.IDENTITY_VIEWER, {"Viewer", "Project Administrator"})
    async with tools_as(sandbox, "viewer") as vera:
        text = await vera.error("execute_integration_package", RUN)
        assert "HTTP 403" in text and EXEC in text
        assert "You can read this package's role assignments here" in text and "set_package_role(" in text
        listed, _ = await vera.ok("list_package_roles", RUN)
        assert {r["itwin_role"] for r in listed["itwin_roles"]} == set(seed.ITWIN_ROLE_NAMES)
        # Managing the Exec role needs it too: the sandbox refuses, and the words say what is missing.
        refused = await vera.error("set_package_role", {**RUN, "itwin_role": "Viewer", "granted": True})
    assert "HTTP 403" in refused and "edfs_ilsmng" in refused and "Nothing was changed" in refused


def _posts(sandbox: SandboxServer) -> int:
    return sum(
        1 for method, path in list(sandbox.state.requests) if method == "POST" and path.endswith("/roles")
    )


async def test_a_write_whose_answer_is_lost_is_read_back_and_never_sent_twice(sandbox: SandboxServer) -> None:
    async with tools_as(sandbox, "admin") as admin:
        before, posts = sandbox.state.writes["roles_add"], _posts(sandbox)
        sandbox.state.faults.drop_after_processing(1, path_prefix="/edfs/itwins/", method="POST")
        changed, text = await admin.ok("set_package_role", {**RUN, "itwin_role": "Viewer", "granted": True})
    assert changed["changed"] is True and "answer to the change was lost" in text
    assert sandbox.state.writes["roles_add"] == before + 1 and _posts(sandbox) == posts + 1
    assert viewer_holds_exec(sandbox)


async def test_a_write_that_failed_is_read_back_and_said_so(sandbox: SandboxServer) -> None:
    async with tools_as(sandbox, "admin") as admin:
        posts = _posts(sandbox)
        sandbox.state.faults.server_errors(1, 503, path_prefix="/edfs/itwins/", method="POST")
        text = await admin.error("set_package_role", {**RUN, "itwin_role": "Viewer", "granted": True})
    assert "may or may not" in text and "did not take effect" in text and "not sent again" in text
    assert _posts(sandbox) == posts + 1 and not viewer_holds_exec(sandbox)


async def test_the_embedded_sandbox_lists_them_too(tools: Session) -> None:
    listed, _ = await tools.ok("list_package_roles", RUN)
    assert listed["itwin_id"] == RIVERSIDE and listed["itwin_roles_note"] is None
