"""list_integration_packages with an iTwin: one call tells which packages can run there."""

import pytest

from edfs_mcp.sandbox import SandboxServer, seed
from tests.harness import Session
from tests.tools.conftest import tools_as

pytestmark = pytest.mark.anyio

BRIDGE = seed.ITWIN_NORTHGATE_BRIDGE


async def test_with_an_itwin_it_says_which_packages_can_run_and_what_the_others_lack(tools: Session) -> None:
    listed, text = await tools.ok("list_integration_packages", {"itwin_id": BRIDGE})
    by_name = {p["unique_name"]: p for p in listed["packages"]}
    assert by_name[seed.MAXIMO_ASSETS]["can_run"] is False
    assert by_name[seed.MAXIMO_ASSETS]["missing_systems"] == ["EDF.Maximo maximo_prod"]
    assert all(p["can_run"] for name, p in by_name.items() if name != seed.MAXIMO_ASSETS)
    assert "MAXIMO_ASSETS (lacks EDF.Maximo maximo_prod)" in text and "set_up_system" in text


@pytest.mark.scale  # it runs every package the iTwin lists, the 100 000-row one too
async def test_what_it_says_is_what_a_run_does(tools: Session) -> None:
    listed, _ = await tools.ok("list_integration_packages", {"itwin_id": BRIDGE})
    for package in listed["packages"]:
        if package["is_odata"]:
            continue
        arguments = {"itwin_id": BRIDGE, "unique_name": package["unique_name"]}
        if package["can_run"]:
            await tools.ok("execute_integration_package", arguments)
        else:
            assert "is not configured for this iTwin" in await tools.error(
                "execute_integration_package", arguments
            )


async def test_without_an_itwin_nothing_is_said_about_running(tools: Session) -> None:
    listed, text = await tools.ok("list_integration_packages")
    assert all(p["can_run"] is None and p["missing_systems"] is None for p in listed["packages"])
    assert "can_run" not in text and "can run" not in text


async def test_when_systems_cannot_be_read_it_says_why_and_lists_anyway(sandbox: SandboxServer) -> None:
    # The operator runs packages at Riverside but may not read its systems (edfs_credmng).
    async with tools_as(sandbox, "operator") as tools:
        listed, text = await tools.ok("list_integration_packages", {"itwin_id": seed.ITWIN_RIVERSIDE_WTP})
    assert listed["packages"] and all(p["can_run"] is None for p in listed["packages"])
    # One sentence: the operator's run goes ahead, so the full 403 advice would only be noise.
    note = listed["systems_note"]
    assert "edfs_credmng" in note and "does not stop a run" in note and "Ask an administrator" not in note
    assert "Could not be checked" in text
