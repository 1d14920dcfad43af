"""Every tool is presented honestly: title, explicit hints, schemas, a toolset."""

import pytest

from edfs_mcp.tools import TOOLSETS
from tests.harness import Session

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def admin(admin_in_process: Session) -> Session:
    """What these tests check is what the tools say and do: the server in this process is enough."""
    return admin_in_process


HINTS = ("read_only_hint", "destructive_hint", "idempotent_hint", "open_world_hint")


async def test_every_tool_has_title_hints_and_schemas(admin: Session) -> None:
    tools = (await admin.client.list_tools()).tools
    names = [tool.name for tool in tools]
    assert len(names) == len(set(names))
    in_toolsets = {spec.name for specs in TOOLSETS.values() for spec in specs}
    assert set(names) == in_toolsets
    for tool in tools:
        assert tool.title, tool.name
        assert tool.description and len(tool.description) < 400, tool.name
        assert tool.annotations is not None, tool.name
        for hint in HINTS:
            assert getattr(tool.annotations, hint) is not None, f"{tool.name}.{hint}"
        assert tool.output_schema and tool.output_schema.get("type") == "object", tool.name
        assert tool.input_schema.get("type") == "object", tool.name


async def test_the_core_tools_are_served_with_honest_annotations(admin: Session) -> None:
    tools = {tool.name: tool for tool in (await admin.client.list_tools()).tools}
    execute = tools["execute_integration_package"].annotations
    assert execute is not None
    assert (execute.read_only_hint, execute.idempotent_hint, execute.open_world_hint) == (False, False, True)
    create = tools["create_timer"].annotations
    assert create is not None and (create.read_only_hint, create.idempotent_hint) == (False, False)
    # EDFS's blind toggle is no tool: switching a timer is set_timer_enabled, which is safe to repeat.
    assert "toggle_timer" not in tools
    set_enabled = tools["set_timer_enabled"].annotations
    assert set_enabled is not None
    assert (set_enabled.read_only_hint, set_enabled.destructive_hint, set_enabled.idempotent_hint) == (
        False,
        False,
        True,
    )
    for name in (
        "find_itwins",
        "list_integration_packages",
        "get_integration_package",
        "list_timers",
        "read_execution_result",
    ):
        hints = tools[name].annotations
        assert hints is not None and hints.read_only_hint is True, name


async def test_ids_are_described_as_guids_in_the_input_schema(admin: Session) -> None:
    tools = {tool.name: tool for tool in (await admin.client.list_tools()).tools}
    schema = tools["execute_integration_package"].input_schema
    assert set(schema["required"]) == {"itwin_id", "unique_name"}
    assert "find_itwins" in schema["properties"]["itwin_id"]["description"]
    assert schema["properties"]["variables"]["type"] == "object"


async def test_the_server_says_what_it_is_connected_to(admin: Session) -> None:
    instructions = admin.client.instructions or ""
    assert "execute_integration_package" in instructions
    assert "SANDBOX" not in instructions  # pointed at a sandbox by URL + credentials, like a real deployment
