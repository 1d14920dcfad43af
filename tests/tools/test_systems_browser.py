"""Setting up a system in real Chromium: the person types the credentials, the model never sees them.

The Org Admin's ``edfs-mcp serve`` runs as a real process over stdio with a home of its own; the
person sets up the SAP system on Riverside on the page it serves on 127.0.0.1, SAP_WORK_ORDERS then
runs there, and every byte the server wrote (stdout, the MCP wire, tee'd; stderr at DEBUG; every file
under its home: tokens, caches, temp files) and every tool result is searched for the password.
The attacks a browser enforces (frames, cross-site POSTs) run against a server in this process.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO, cast

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult, ElicitResult
from playwright.async_api import Browser

from edfs_mcp.sandbox import SandboxServer, seed
from tests.browser import chromium
from tests.harness import server_env, text_of
from tests.tools.test_systems import SAP, _forget_forms, created

pytestmark = pytest.mark.anyio

RIVERSIDE = seed.ITWIN_RIVERSIDE_WTP
PASSWORD = "Chr0mium-Typed-S3cret!"


@pytest.fixture(autouse=True)
def _clean(sandbox: SandboxServer) -> None:
    sandbox.state.reset()
    _forget_forms()


async def fill_in(browser: Browser, link: str) -> str:
    """The person opens the link in a tab, types the credentials and presses Create; the answer's title."""
    context = await browser.new_context()
    context.set_default_timeout(15_000)
    page = await context.new_page()
    try:
        await page.goto(link)
        assert (await page.locator("h1").text_content() or "").startswith("Set up system sap_prod")
        assert await page.get_attribute("#p3", "type") == "password"
        await page.fill("#p0", "https://sap.riverside.example")
        await page.fill("#p2", "avery")
        await page.fill("#p3", PASSWORD)
        async with page.expect_navigation():
            await page.click("button[type=submit]")
        return (await page.locator("h1").text_content() or "").strip()
    finally:
        await context.close()


@asynccontextmanager
async def serve_teed(
    sandbox: SandboxServer, home: Path, elicitation_callback: Any = None
) -> AsyncIterator[tuple[Client, Path, Path]]:
    """`edfs-mcp serve` over stdio as the Org Admin, everything it writes kept: (client, stdout, stderr)."""
    for part in ("config", "cache", "tmp", "data"):
        (home / part).mkdir(parents=True, exist_ok=True)
    env = server_env(
        sandbox,
        "admin",
        {
            "HOME": str(home),
            "EDFS_MCP_CONFIG_DIR": str(home / "config"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "XDG_DATA_HOME": str(home / "data"),
            "TMPDIR": str(home / "tmp"),
        },
    )
    stdout, stderr = home.parent / "stdout.bin", home.parent / "stderr.log"
    command = f"{shlex.quote(sys.executable)} -m edfs_mcp serve | tee {shlex.quote(str(stdout))}"
    params = StdioServerParameters(command="/bin/sh", args=["-c", command], env=env)
    with stderr.open("w") as errlog:
        async with Client(
            stdio_client(params, errlog=cast(TextIO, errlog)),
            read_timeout_seconds=60,
            elicitation_callback=elicitation_callback,
        ) as client:
            yield client, stdout, stderr


def everything_written(home: Path, *logs: Path) -> list[tuple[Path, bytes]]:
    files = [path for path in home.rglob("*") if path.is_file() and not path.is_symlink()]
    return [(path, path.read_bytes()) for path in [*files, *logs]]


def dumped(result: CallToolResult) -> str:
    return text_of(result) + json.dumps(result.structured_content or {})


@pytest.mark.parametrize("client_kind", ["shows the link", "url elicitation"])
async def test_the_person_sets_up_sap_on_riverside_in_chromium_and_no_byte_holds_the_password(
    sandbox: SandboxServer, tmp_path: Path, client_kind: str
) -> None:
    results: list[CallToolResult] = []
    answers: list[str] = []
    answered = anyio.Event()
    async with chromium() as browser, anyio.create_task_group() as group:

        async def show(context: Any, params: Any) -> ElicitResult:
            async def person() -> None:
                answers.append(await fill_in(browser, params.url))
                answered.set()

            group.start_soon(person)
            return ElicitResult(action="accept")

        callback = show if client_kind == "url elicitation" else None
        async with serve_teed(sandbox, tmp_path / "home", callback) as (client, stdout, stderr):

            async def call(name: str, arguments: dict[str, Any]) -> CallToolResult:
                result = await client.call_tool(name, arguments)
                results.append(result)
                return result

            refused = await call("execute_integration_package", SAP)
            assert refused.is_error and "sap_prod" in text_of(refused)
            first = await call("set_up_system", SAP)
            assert not first.is_error, text_of(first)
            assert first.structured_content is not None
            if callback is None:
                assert first.structured_content["status"] == "pending"
                answers.append(await fill_in(browser, first.structured_content["link"]))
                answered.set()
                second = await call("set_up_system", SAP)
                assert second.structured_content is not None, text_of(second)
                assert second.structured_content["status"] == "created"
            else:
                assert first.structured_content["status"] == "created"
                assert "127.0.0.1" not in dumped(first)  # the link never reached the model
            with anyio.fail_after(15):  # the page's answer may render after the tool's
                await answered.wait()
            assert answers == ["System created"]
            ran = await call("execute_integration_package", SAP)
            assert not ran.is_error, text_of(ran)
            assert ran.structured_content is not None and ran.structured_content["row_count"] > 0
            listed = await call("list_systems", {"itwin_id": RIVERSIDE})
            assert "sap_prod" in text_of(listed)
    assert created(sandbox) == 1
    (record,) = [r for r, s in sandbox.state.systems[RIVERSIDE].items() if s["systemId"] == "sap_prod"]
    assert sandbox.state.credentials[record]["Password"] == PASSWORD  # it did reach EDFS

    written = everything_written(tmp_path / "home", stdout, stderr)
    assert stdout.stat().st_size > 0 and b"set_up_system" in stdout.read_bytes()
    assert b"DEBUG" in stderr.read_bytes() or stderr.stat().st_size > 0
    for path, data in written:
        assert PASSWORD.encode() not in data, f"the password is in {path}"
    for result in results:
        assert PASSWORD not in dumped(result)


async def test_a_framed_page_shows_nothing_and_a_cross_site_post_creates_nothing(
    sandbox: SandboxServer,
) -> None:
    from tests.tools.conftest import tools_as

    async with tools_as(sandbox, "admin") as tools, chromium() as browser:
        pending, _ = await tools.ok("set_up_system", SAP)
        link = pending["link"]
        context = await browser.new_context()
        context.set_default_timeout(15_000)
        page = await context.new_page()

        # Another page frames it: the browser shows nothing of it, and the link stays unclaimed.
        await page.set_content(f'<iframe id="f" src="{link}" width="600" height="400"></iframe>')
        await page.wait_for_timeout(1500)
        frame = next(f for f in page.frames if f != page.main_frame)
        framed = await frame.content()
        assert "Create system" not in framed and 'type="password"' not in framed

        # The person opens it for real; then a page of another origin posts to it, check value and all.
        mine = await context.new_page()
        await mine.goto(link)
        csrf = await mine.get_attribute("input[name=csrf]", "value")
        attacker = await context.new_page()
        await attacker.set_content(
            f'<form id="x" method="post" action="{link}"><input name="csrf" value="{csrf}">'
            f'<input name="p3" value="{PASSWORD}"><input name="p2" value="eve"></form>'
        )
        async with attacker.expect_navigation():
            await attacker.evaluate("document.getElementById('x').submit()")
        assert (await attacker.locator("h1").text_content() or "").strip() == "Request refused"
        assert created(sandbox) == 0

        # The real page still creates it.
        await mine.fill("#p0", "https://sap.riverside.example")
        await mine.fill("#p2", "avery")
        await mine.fill("#p3", PASSWORD)
        async with mine.expect_navigation():
            await mine.click("button[type=submit]")
        assert (await mine.locator("h1").text_content() or "").strip() == "System created"
        await context.close()
    assert created(sandbox) == 1
