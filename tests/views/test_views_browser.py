"""The MCP Apps views in a real browser, driven through a real host and a real server.

The host page (tests/views/host.html, built from views/test-host with ext-apps' AppBridge and
PostMessageTransport) loads the ui:// resource the server serves into a sandboxed iframe, delivers a
real tool result, and forwards the view's tool calls to edfs-mcp (built in this process, on the
sandbox over loopback) through functions exposed with playwright. The test clicks as a person does,
then checks what the view shows, the calls the host received and the sandbox's write counters.

    python -m pytest -n0 -q -s tests/views/test_views_browser.py     # prints the timings
    UPDATE_SCREENSHOTS=1 python -m pytest -n0 -q tests/views/test_views_browser.py   # docs/*.png
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from mcp.types import TextResourceContents

from edfs_mcp.sandbox import SandboxServer, seed
from edfs_mcp.views import RESULT_VIEW, TIMER_VIEW
from tests.browser import chromium
from tests.harness import Session, serve_in_process

if TYPE_CHECKING:
    from playwright.async_api import FrameLocator, Page

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
HOST_URL = "http://edfs-views.test/host.html"
NORTHGATE = seed.ITWIN_NORTHGATE_BRIDGE
NIGHTLY = seed.TIMER_NORTHGATE_SAP_NIGHTLY  # disabled in the seed
TIMERS = f"/edfs/itwins/{NORTHGATE}/timers"
WAIT_MS = 30_000
DASH = "\u2013"  # the view writes ranges with an en dash: Rows 1 (dash) 25
PAGE = 25  # rows a page of the result view shows (views/src/result.ts)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as running:
        yield running


@pytest.fixture
async def session(sandbox: SandboxServer) -> AsyncIterator[Session]:
    sandbox.state.reset()
    async with serve_in_process(sandbox, "admin") as running:
        yield running
    sandbox.state.faults.clear()


class Host:
    """The host page in Chromium, wired to ``session``."""

    def __init__(self, page: Page, session: Session) -> None:
        self.page = page
        self.session = session
        self.dialogs: list[str] = []

    async def start(self) -> None:
        html = (ROOT / "tests" / "views" / "host.html").read_text()
        await self.page.route(HOST_URL, lambda route: route.fulfill(body=html, content_type="text/html"))

        async def read_resource(uri: str) -> dict[str, str]:
            read = await self.session.client.read_resource(uri)
            (content,) = read.contents
            assert isinstance(content, TextResourceContents)
            assert content.mime_type == "text/html;profile=mcp-app"
            return {"text": content.text}

        async def call_tool(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
            result = await self.session.client.call_tool(name, arguments)
            dumped: dict[str, Any] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
            return dumped

        await self.page.expose_function("edfsReadResource", read_resource)
        await self.page.expose_function("edfsCallTool", call_tool)
        self.page.on("dialog", lambda dialog: self.dialogs.append(dialog.message))
        await self.page.goto(HOST_URL)

    async def open(self, uri: str, arguments: dict[str, Any], result: dict[str, Any], **context: Any) -> None:
        await self.page.evaluate(
            "([uri, args, result, context]) => openView(uri, args, result, context)",
            [uri, arguments, result, context],
        )

    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """A tool call as the model makes it; its result as the host gets it."""
        result = await self.session.client.call_tool(name, arguments)
        dumped: dict[str, Any] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
        return dumped

    @property
    def view(self) -> FrameLocator:
        return self.page.frame_locator("#view")

    async def calls(self) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = await self.page.evaluate("window.toolCalls")
        return calls

    async def renders(self) -> list[dict[str, Any]]:
        renders: list[dict[str, Any]] = await self.page.evaluate("window.renders")
        return renders

    async def status(self) -> str:
        return await self.view.locator("#status").inner_text()

    async def status_is(self, words: str) -> None:
        from playwright.async_api import expect

        await expect(self.view.locator("#status")).to_contain_text(words, timeout=WAIT_MS)


@pytest.fixture
async def host(session: Session) -> AsyncIterator[Host]:
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 960, "height": 900})
        running = Host(page, session)
        await running.start()
        yield running
        assert running.dialogs == []


def _cells(rows: list[list[str]], column: int) -> list[str]:
    return [row[column] for row in rows]


async def _rows(host: Host) -> list[list[str]]:
    rows: list[list[str]] = await host.view.locator("#rows tbody tr").evaluate_all(
        "trs => trs.map(tr => [...tr.cells].map(td => td.textContent))"
    )
    return rows


async def _screenshot(host: Host, name: str) -> None:
    if os.environ.get("UPDATE_SCREENSHOTS"):
        await host.page.locator("#view").screenshot(path=str(ROOT / "docs" / name))


async def test_result_view_pages_sorts_filters_and_charts_the_whole_result(
    host: Host, sandbox: SandboxServer
) -> None:
    arguments = {"itwin_id": NORTHGATE, "unique_name": seed.SENSOR_READINGS_BULK}
    result = await host.call("execute_integration_package", arguments)
    structured = result["structuredContent"]
    result_id, preview = structured["result_id"], len(structured["rows"])
    assert structured["row_count"] == seed.SENSOR_ROW_COUNT == 100_000 and preview < 100

    started = time.perf_counter()
    await host.open(RESULT_VIEW, arguments, result, timeZone="Europe/Dublin")
    shown = min(preview, PAGE)
    await host.status_is(f"Rows 1{DASH}{shown} of 100,000")
    opened = time.perf_counter() - started
    renders = await host.renders()
    sent_at = await host.page.evaluate("window.resultSentAt")
    first_table = next(r for r in renders if r["rendered"] == "table" and r["rows"] == shown)
    print(
        f"\n100 000-row result: tool result delivered -> table rendered {first_table['at'] - sent_at:.1f} ms "
        f"(view opened and shown, resource read included: {opened * 1000:.0f} ms)"
    )
    assert len(await _rows(host)) == shown  # (part of) the preview, not the result: never all its rows
    assert (await host.view.locator("#title").inner_text()) == seed.SENSOR_READINGS_BULK

    # Next page: read_execution_result from where the preview ended.
    await host.view.locator("#next").click()
    await host.status_is(f"Rows {shown + 1}{DASH}{shown + PAGE} of 100,000")
    # Sort by value: SQL over all 100 000 rows, ascending then descending.
    value = host.view.locator("#rows th button", has_text="value")
    await value.click()
    await host.status_is(f"Rows 1{DASH}{PAGE} of 100,000, sorted by value ascending")
    assert _cells(await _rows(host), 2)[0] == "10"
    started = time.perf_counter()
    await value.click()
    await host.status_is("sorted by value descending")
    sorted_ms = (time.perf_counter() - started) * 1000
    assert _cells(await _rows(host), 2)[:2] == ["49.99", "49.99"]
    # Filter: status contains "warn" over the whole result (101 readings), still sorted.
    await host.view.locator("#filter-column").select_option("status")
    await host.view.locator("#filter-text").fill("warn")
    await host.view.locator("#filter-apply").click()
    await host.status_is(
        f"Rows 1{DASH}{PAGE} of 101, where status contains “warn” (of 100,000 in the result)"
    )
    assert set(_cells(await _rows(host), 4)) == {"WARN"}
    values = [float(v) for v in _cells(await _rows(host), 2)]
    assert values == sorted(values, reverse=True)
    from playwright.async_api import expect

    chart = host.view.locator("#chart")
    await expect(chart.locator("figcaption")).to_contain_text("Rows per unit (top 12, filtered)")
    await _screenshot(host, "result-view.png")
    for _ in range(4):
        await host.view.locator("#next").click()
    await host.status_is(f"Rows 101{DASH}101 of 101")
    print(f"sort descending over 100 000 rows, click -> table: {sorted_ms:.0f} ms")

    # The chart: rows per category, of the filtered rows (SQL GROUP BY, not this page).
    await host.view.locator("#chart-column").select_option("sensorId")
    await expect(chart.locator("figcaption")).to_contain_text("Rows per sensorId (top 12, filtered)")
    assert await chart.locator("svg rect").count() == 12

    calls = await host.calls()
    assert {call["name"] for call in calls} == {"read_execution_result", "query_execution_result"}
    assert all(call["arguments"]["result_id"] == result_id for call in calls)
    reads = [call["arguments"] for call in calls if call["name"] == "read_execution_result"]
    assert reads == [{"result_id": result_id, "offset": shown, "limit": PAGE}]
    sql = [call["arguments"]["sql"] for call in calls if call["name"] == "query_execution_result"]
    page_3 = f"LIMIT {PAGE} OFFSET 100"
    assert any('ORDER BY "value" DESC' in q and page_3 in q and "'warn'" in q for q in sql)
    assert any("GROUP BY 1" in q and '"sensorId"' in q and "'warn'" in q for q in sql)
    assert sandbox.state.writes["execute"] == 1  # the model's run; the view only reads


async def _switch(host: Host, timer_id: str) -> Any:
    return host.view.locator(f'tr[data-timer-id="{timer_id}"] input[role="switch"]')


async def _outcome(host: Host, timer_id: str, words: str) -> None:
    from playwright.async_api import expect

    await expect(host.view.locator(f'tr[data-timer-id="{timer_id}"] td.outcome')).to_contain_text(
        words, timeout=WAIT_MS
    )


async def test_timer_view_switches_timers_idempotently_and_says_what_edfs_said(
    host: Host, sandbox: SandboxServer
) -> None:
    from playwright.async_api import expect

    arguments = {"itwin_id": NORTHGATE}
    listing = await host.call("list_timers", arguments)
    timers = listing["structuredContent"]["timers"]
    await host.open(TIMER_VIEW, arguments, listing, timeZone="America/New_York", locale="en-US")
    await host.status_is(f"{len(timers)} timer(s)")
    await host.status_is("Next runs in America/New_York")
    view = host.view
    assert await view.locator("#timers tbody tr").count() == len(timers)
    enabled = next(t for t in timers if t["enabled"])
    runs = view.locator(f'tr[data-timer-id="{enabled["id"]}"] ul.runs li')
    assert await runs.count() == len(enabled["next_runs"]) == 3
    first_run = await runs.first.inner_text()
    assert "EST" in first_run or "EDT" in first_run, first_run
    nightly = await _switch(host, NIGHTLY)
    await expect(nightly).not_to_be_checked()
    writes = sandbox.state.writes

    # One click, one toggle; the view then lists again for the new next runs.
    await nightly.click()
    await _outcome(host, NIGHTLY, "is now enabled")
    await expect(nightly).to_be_checked()
    assert writes["timer_toggle"] == 1
    calls = await host.calls()
    assert calls[0] == {
        "name": "set_timer_enabled",
        "arguments": {"itwin_id": NORTHGATE, "timer_id": NIGHTLY, "enabled": True},
    }
    assert calls[1] == {"name": "list_timers", "arguments": arguments}

    # Someone disables it behind the view's back (a toggle of theirs), then turns it on again;
    # the view still shows it on. Switching it off then on: the "on" finds it on already, no toggle.
    await host.call("set_timer_enabled", {"itwin_id": NORTHGATE, "timer_id": NIGHTLY, "enabled": False})
    assert writes["timer_toggle"] == 2
    await nightly.click()  # off: EDFS already has it off
    await _outcome(host, NIGHTLY, "was already disabled; nothing changed")
    assert writes["timer_toggle"] == 2

    # A lost answer (503 on the toggle): the view says EDFS may or may not have applied it and shows
    # neither state; setting it again is safe and ends in a definite one.
    sandbox.state.faults.server_errors(1, 503, path_prefix=f"{TIMERS}/{NIGHTLY}/toggle")
    await nightly.click()
    await _outcome(host, NIGHTLY, "may or may not have been applied")
    assert await nightly.evaluate("input => input.indeterminate") is True
    assert writes["timer_toggle"] == 2  # refused before it was processed
    await nightly.click()
    await _outcome(host, NIGHTLY, "is now")
    assert await nightly.evaluate("input => input.indeterminate") is False
    assert writes["timer_toggle"] == 3
    await _screenshot(host, "timer-view.png")
    names = [call["name"] for call in await host.calls()]
    assert names.count("set_timer_enabled") == 4
    assert "toggle_timer" not in names and "delete_timer" not in names


HOSTILE = [
    "<script>parent.pwned = 1</script>",
    '<img src=x onerror="parent.pwned = 1">',
    "javascript:alert(1)",
    "admin\u202egnp.exe",
    "bell\x07 esc\x1b[2J nul\x00 zw\u200b bom\ufeff isolate\u2066x\u2069",
    "A" * 10_000_000,
]


async def test_hostile_rows_names_and_errors_are_shown_as_text(host: Host) -> None:
    columns = {"<b onmouseover=alert(1)>name</b>": "VARCHAR", "javascript:void(0)": "VARCHAR"}
    rows = [{name: value for name in columns} for value in HOSTILE]
    result = {
        "content": [{"type": "text", "text": "hostile rows"}],
        "structuredContent": {"summary": "x", "row_count": len(rows), "columns": columns, "rows": rows},
    }
    await host.open(RESULT_VIEW, {}, result)
    await host.status_is(f"Rows 1{DASH}{len(rows)} of {len(rows)}")
    view = host.view
    shown = await _rows(host)
    assert shown[0][0] == HOSTILE[0] and shown[1][0] == HOSTILE[1] and shown[2][0] == HOSTILE[2]
    assert shown[3][0] == "admin\ufffdgnp.exe"
    assert not any(c in shown[4][0] for c in "\x07\x1b\x00\u200b\ufeff\u2066\u2069")
    assert shown[5][0] == "A" * 300 + "… (10,000,000 characters)"
    headers = await view.locator("#rows th").all_inner_texts()
    assert headers[0].startswith("<b onmouseover=alert(1)>name</b>")
    # Nothing became markup: one script (the view's own), no image, link, or handler attribute.
    assert await view.locator("script").count() == 1
    assert await view.locator("img, a, b, iframe, object").count() == 0
    assert await view.locator("[onerror], [onmouseover], [href]").count() == 0
    assert await host.page.evaluate("window.pwned") is None
    # Sorting the whole (complete) result locally copes with the 10 MB cell too.
    await view.locator("#rows th button").first.click()
    await host.status_is("sorted by <b onmouseover=alert(1)>name</b> ascending")

    # An error text and timer names, as hostile.
    error = {"isError": True, "content": [{"type": "text", "text": HOSTILE[1] + " EDFS said: \u202eboom"}]}
    await host.page.evaluate("result => deliver(result)", error)
    await host.view.locator("#problem").wait_for()
    assert (await view.locator("#problem").inner_text()).startswith(HOSTILE[1])
    timers = {
        "content": [{"type": "text", "text": "timers"}],
        "structuredContent": {
            "itwin_id": NORTHGATE,
            "itwin_name": HOSTILE[0],
            "timers": [
                {
                    "id": f"t{i}",
                    "name": value,
                    "package_unique_name": value,
                    "cron": "0 1 * * *",
                    "schedule": value,
                    "enabled": i % 2 == 0,
                    "next_runs": ["2030-01-01T01:00:00+00:00"] if i % 2 == 0 else [],
                    "parameters": {},
                    "itwin_id": NORTHGATE,
                    "itwin_name": value,
                }
                for i, value in enumerate(HOSTILE)
            ],
        },
    }
    await host.open(TIMER_VIEW, {"itwin_id": NORTHGATE}, timers, timeZone="Not/AZone")
    await host.status_is(f"{len(HOSTILE)} timer(s)")
    assert (await view.locator("#title").inner_text()) == "Timers in " + HOSTILE[0]
    names = await view.locator("#timers td.name").all_inner_texts()
    assert names[0] == HOSTILE[0] and names[5] == "A" * 200 + "… (10,000,000 characters)"
    assert await view.locator("th", has_text="iTwin").count() == 1  # itwin_name present: a column
    assert await view.locator("script").count() == 1
    assert await view.locator("img, a, b").count() == 0
    assert await host.page.evaluate("window.pwned") is None
