"""Systems: list, set up through the credentials page (the person types; the model never sees it), delete.

The server runs in this process against the loopback sandbox; the person's browser is an HTTP client
that keeps cookies and sends the fetch metadata a browser sends (the real-Chromium run is in
test_systems_browser.py). Each attack on a form ends with the sandbox's count of created systems.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from html import unescape
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.types import ElicitResult

from edfs_mcp.config import Settings
from edfs_mcp.sandbox import SandboxServer, seed
from edfs_mcp.server import build_server
from edfs_mcp.system_page import local_desk
from tests.harness import IDENTITIES, Session, text_of
from tests.tools.conftest import tools_as

pytestmark = pytest.mark.anyio

RIVERSIDE = seed.ITWIN_RIVERSIDE_WTP
RIVERSIDE_NAME = "Riverside Water Treatment Plant"
SAP = {"itwin_id": RIVERSIDE, "unique_name": seed.SAP_WORK_ORDERS}
PASSWORD = "Riv3rside-SAP-pa55!"  # what the person types
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Dest": "document"}


def _forget_forms() -> None:
    # The local desk is the process's (one listener): each test starts with no form open.
    desk = local_desk()
    desk.store._values.clear()
    desk._open.clear()
    desk._creators.clear()


@pytest.fixture(autouse=True)
def _clean(sandbox: SandboxServer) -> Iterator[None]:
    sandbox.state.reset()
    _forget_forms()
    yield
    sandbox.state.reset()
    _forget_forms()


def created(sandbox: SandboxServer) -> int:
    return sandbox.state.writes["system_create"]


def fields_of(html: str) -> dict[str, str]:
    """The page's inputs: hidden, text and number values; selects at their selected option."""
    found = {
        unescape(name): unescape(value)
        for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html)
    }
    for name, body in re.findall(r'<select[^>]*name="([^"]+)">(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        found[name] = unescape(chosen.group(1)) if chosen else ""
    return found


def labels_of(html: str) -> dict[str, str]:
    """Property name -> the input's name, from the page's labels."""
    return {
        unescape(label).strip(): key for key, label in re.findall(r'<label for="(p\d+)">([^<]+)<span', html)
    }


class Person:
    """The person's browser: cookies kept, fetch metadata as a browser sends it for its own page."""

    def __init__(self) -> None:
        self.http = httpx2.AsyncClient(timeout=30)

    async def open(self, link: str) -> httpx2.Response:
        return await self.http.get(link, headers={"Sec-Fetch-Site": "none", "Sec-Fetch-Dest": "document"})

    async def fill(self, link: str, typed: dict[str, str], **headers: str) -> httpx2.Response:
        page = await self.open(link)
        assert page.status_code == 200, page.text
        return await self.submit(link, page.text, typed, **headers)

    async def submit(self, link: str, html: str, typed: dict[str, str], **headers: str) -> httpx2.Response:
        fields, labels = fields_of(html), labels_of(html)
        for name, value in typed.items():
            fields[labels[name]] = value
        return await self.http.post(link, data=fields, headers={**SAME_ORIGIN, **headers})

    async def aclose(self) -> None:
        await self.http.aclose()


@pytest.fixture
async def person() -> AsyncIterator[Person]:
    browser = Person()
    yield browser
    await browser.aclose()


@pytest.fixture
async def admin(sandbox: SandboxServer) -> AsyncIterator[Session]:
    """The Org Admin's session, open for the whole test (its forms create with its client)."""
    async with tools_as(sandbox, "admin") as tools:
        yield tools


SAP_TYPED = {"UserName": "avery", "Password": PASSWORD, "BaseUrl": "https://sap.riverside.example"}


@asynccontextmanager
async def asking_tools(
    sandbox: SandboxServer, answer: Any, mode: str = "auto", identity: str = "admin"
) -> AsyncIterator[Session]:
    """The server signed in as ``identity``, its client able to show URL and form elicitations."""
    client_id, secret = IDENTITIES[identity]
    settings = Settings(
        api_base=sandbox.base_url, authority=sandbox.base_url, client_id=client_id, client_secret=secret
    )
    async with Client(
        build_server(settings), elicitation_callback=answer, mode=mode, read_timeout_seconds=60
    ) as client:
        yield Session(client)


async def test_list_systems_shows_metadata_and_never_a_credential(sandbox: SandboxServer) -> None:
    async with tools_as(sandbox, "admin") as tools:
        listed, text = await tools.ok("list_systems", {"itwin_id": RIVERSIDE})
    assert {s["system_id"] for s in listed["systems"]} == {"local_sql_server", "maximo_prod"}
    assert listed["itwin_name"] == RIVERSIDE_NAME and f"{RIVERSIDE_NAME!r} (iTwin {RIVERSIDE})" in text
    first = listed["systems"][0]
    assert first["last_change_by"] == "Avery Admin" and first["system_type"] == "EDF.Sql"
    for values in sandbox.state.credentials.values():
        for value in values.values():
            assert len(value) < 4 or value not in text


async def test_without_url_elicitation_the_model_shows_a_link_and_a_second_call_reports(
    sandbox: SandboxServer, person: Person
) -> None:
    async with tools_as(sandbox, "admin") as tools:
        refused = await tools.error("execute_integration_package", SAP)
        assert "sap_prod" in refused
        asked = {**SAP, "values": {"BaseUrl": "https://sap.r.example"}}
        pending, text = await tools.ok("set_up_system", asked)
        assert pending["status"] == "pending" and pending["system_id"] == "sap_prod"
        assert pending["itwin_name"] == RIVERSIDE_NAME
        link = pending["link"]
        assert link.startswith("http://127.0.0.1:") and link in text and "set_up_system again" in text
        # The same call while the form is open: the same link, no second form.
        again, _ = await tools.ok("set_up_system", asked)
        assert again["link"] == link

        page = await person.open(link)
        assert page.status_code == 200
        assert page.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
        assert 'type="password"' in page.text and "https://sap.r.example" in page.text
        done = await person.submit(link, page.text, {"UserName": "avery", "Password": PASSWORD})
        assert done.status_code == 200 and "System created" in done.text, done.text

        reported, text = await tools.ok("set_up_system", SAP)
        assert reported["status"] == "created" and reported["system"]["system_id"] == "sap_prod"
        assert reported["itwin_name"] == RIVERSIDE_NAME and RIVERSIDE_NAME in text
        assert PASSWORD not in text
        ran, _ = await tools.ok("execute_integration_package", SAP)
        assert ran["row_count"] > 0
        # And then it is simply configured.
        known, _ = await tools.ok("set_up_system", SAP)
        assert known["status"] == "already_configured" and known["itwin_name"] == RIVERSIDE_NAME
    assert created(sandbox) == 1
    (record,) = [r for r, s in sandbox.state.systems[RIVERSIDE].items() if s["systemId"] == "sap_prod"]
    assert sandbox.state.credentials[record] == {
        "BaseUrl": "https://sap.r.example",
        "Client": "100",
        "UserName": "avery",
        "Password": PASSWORD,
        "Language": "EN",
    }


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_with_url_elicitation_one_call_waits_for_the_person_and_reports(
    sandbox: SandboxServer, person: Person, mode: str
) -> None:
    shown: list[str] = []

    async def show(context: Any, params: Any) -> ElicitResult:
        assert params.mode == "url"
        shown.append(params.url)

        async def the_person_fills_it_in() -> None:
            await anyio.sleep(0.3)
            await person.fill(params.url, SAP_TYPED)

        group.start_soon(the_person_fills_it_in)
        return ElicitResult(action="accept")

    async with anyio.create_task_group() as group, asking_tools(sandbox, show, mode) as tools:
        result, text = await tools.ok("set_up_system", SAP)
    assert len(shown) == 1
    assert result["status"] == "created" and result["link"] is None
    assert shown[0] not in text and "127.0.0.1" not in text  # the link never reached the model
    assert PASSWORD not in text
    assert created(sandbox) == 1


@pytest.mark.parametrize("action", ["decline", "cancel"])
async def test_a_person_who_declines_creates_nothing_and_the_link_is_dead(
    sandbox: SandboxServer, person: Person, action: str
) -> None:
    shown: list[str] = []

    async def refuse(context: Any, params: Any) -> ElicitResult:
        shown.append(params.url)
        return ElicitResult(action=action)

    async with asking_tools(sandbox, refuse) as tools:
        text = await tools.error("set_up_system", SAP)
    assert "was not set up" in text and "Nothing was created" in text
    late = await person.open(shown[0])
    assert late.status_code == 410
    assert created(sandbox) == 0


async def test_a_replayed_form_creates_nothing_more(
    sandbox: SandboxServer, person: Person, admin: Session
) -> None:
    pending, _ = await admin.ok("set_up_system", SAP)
    link = pending["link"]
    page = await person.open(link)
    first = await person.submit(link, page.text, SAP_TYPED)
    assert first.status_code == 200
    replay = await person.submit(link, page.text, SAP_TYPED)
    assert replay.status_code == 409 and "already submitted" in replay.text
    assert created(sandbox) == 1


async def test_an_expired_form_creates_nothing(
    sandbox: SandboxServer, person: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    async with tools_as(sandbox, "admin") as tools:
        pending, _ = await tools.ok("set_up_system", SAP)
        page = await person.open(pending["link"])
        desk = local_desk()
        later = lambda: time.time() + 11 * 60  # noqa: E731
        monkeypatch.setattr(desk, "clock", later)
        monkeypatch.setattr(desk.store, "_clock", later)
        late = await person.submit(pending["link"], page.text, SAP_TYPED)
        assert late.status_code == 410 and "expired" in late.text
        assert (await person.open(pending["link"])).status_code == 410
        monkeypatch.undo()
        # The model is not told a stale link: a new call opens a new form.
        fresh, _ = await tools.ok("set_up_system", SAP)
        assert fresh["status"] == "pending" and fresh["link"] != pending["link"]
    assert created(sandbox) == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # another port of 127.0.0.1 is the same site, not our origin
        {"Sec-Fetch-Site": "", "Origin": "http://attacker.example"},
        {"Sec-Fetch-Site": "", "Origin": "null"},
    ],
)
async def test_a_post_from_another_origin_creates_nothing(
    sandbox: SandboxServer, person: Person, admin: Session, headers: dict[str, str]
) -> None:
    pending, _ = await admin.ok("set_up_system", SAP)
    page = await person.open(pending["link"])
    sent = {k: v for k, v in {**SAME_ORIGIN, **headers}.items() if v}
    fields = fields_of(page.text) | {"p3": PASSWORD}
    forged = await person.http.post(pending["link"], data=fields, headers=sent)
    assert forged.status_code == 403 and "Nothing was created" in forged.text
    assert created(sandbox) == 0
    # The real page still works afterwards.
    assert (await person.submit(pending["link"], page.text, SAP_TYPED)).status_code == 200


async def test_another_browser_or_a_missing_check_value_creates_nothing(
    sandbox: SandboxServer, person: Person, admin: Session
) -> None:
    pending, _ = await admin.ok("set_up_system", SAP)
    link = pending["link"]
    page = await person.open(link)
    stranger = Person()
    try:
        assert (await stranger.open(link)).status_code == 409  # the link is claimed by the first browser
        taken = await stranger.submit(link, page.text, SAP_TYPED)
        assert taken.status_code == 403
    finally:
        await stranger.aclose()
    fields = fields_of(page.text) | {"p3": PASSWORD, "csrf": "guessed"}
    assert (await person.http.post(link, data=fields, headers=SAME_ORIGIN)).status_code == 403
    assert created(sandbox) == 0


async def test_framed_or_prefetched_pages_are_refused_and_claim_nothing(
    sandbox: SandboxServer, person: Person, admin: Session
) -> None:
    pending, _ = await admin.ok("set_up_system", SAP)
    link = pending["link"]
    for headers in ({"Sec-Fetch-Dest": "iframe"}, {"Sec-Fetch-Dest": "document", "Sec-Purpose": "prefetch"}):
        framed = await httpx2.AsyncClient().get(link, headers=headers)
        assert framed.status_code == 403 and framed.headers["x-frame-options"] == "DENY"
    assert (await person.fill(link, SAP_TYPED)).status_code == 200  # still the person's
    assert created(sandbox) == 1


async def test_bodies_and_fields_are_bounded(sandbox: SandboxServer, person: Person, admin: Session) -> None:
    pending, _ = await admin.ok("set_up_system", SAP)
    link = pending["link"]
    page = await person.open(link)
    fields = fields_of(page.text)
    huge = await person.http.post(link, data={**fields, "p3": "x" * 70_000}, headers=SAME_ORIGIN)
    assert huge.status_code == 413
    many = await person.http.post(
        link, data={**fields, **{f"x{i}": "1" for i in range(40)}}, headers=SAME_ORIGIN
    )
    assert many.status_code == 400
    long = await person.http.post(link, data={**fields, "p3": "x" * 5000}, headers=SAME_ORIGIN)
    assert long.status_code == 400
    assert created(sandbox) == 0


async def test_a_value_of_the_wrong_type_reshows_the_page_without_the_secret(
    sandbox: SandboxServer, person: Person, admin: Session
) -> None:
    pending, _ = await admin.ok(
        "set_up_system", {**SAP, "system_id": "sap_prod", "values": {"language": "DE"}}
    )
    page = await person.open(pending["link"])
    assert '<option value="DE" selected>' in page.text
    wrong = await person.submit(pending["link"], page.text, {**SAP_TYPED, "Language": "XX"})
    assert wrong.status_code == 400 and "Language: choose one of the listed values." in wrong.text
    assert PASSWORD not in wrong.text and "avery" in wrong.text
    assert (await person.submit(pending["link"], wrong.text, SAP_TYPED)).status_code == 200
    assert created(sandbox) == 1


async def test_arguments_are_checked_before_anything_is_sent(sandbox: SandboxServer) -> None:
    async with tools_as(sandbox, "admin") as tools:
        await tools.ok("list_systems", {"itwin_id": RIVERSIDE})  # signed in before counting
        before = len(sandbox.state.requests)
        secret = await tools.error("set_up_system", {**SAP, "values": {"Password": "hunter22"}})
        assert "Invalid arguments for set_up_system" in secret and "only the user types" in secret
        assert "hunter22" not in secret
        bad_id = await tools.error("set_up_system", {**SAP, "system_id": "sap prod/../x"})
        assert "is not a systemId" in bad_id
        bad_ref = await tools.error("delete_system", {"itwin_id": RIVERSIDE, "system": "no such thing!"})
        assert "neither a system's record id" in bad_ref
        assert len(sandbox.state.requests) == before
        unknown = await tools.error("set_up_system", {**SAP, "values": {"Colour": "blue"}})
        assert "'Colour'" in unknown and "BaseUrl" in unknown
        other = await tools.error("set_up_system", {**SAP, "system_id": "maximo_prod"})
        assert "uses no system 'maximo_prod'" in other and "sap_prod (EDF.Sap)" in other
    assert created(sandbox) == 0


async def test_delete_system_needs_a_yes(sandbox: SandboxServer) -> None:
    target = {"itwin_id": RIVERSIDE, "system": "maximo_prod"}
    async with tools_as(sandbox, "admin") as tools:
        text = await tools.error("delete_system", target)
        assert "confirm=true" in text
        gone, text = await tools.ok("delete_system", {**target, "confirm": True})
        assert gone["deleted"] and gone["system_id"] == "maximo_prod"
        assert gone["itwin_name"] == RIVERSIDE_NAME and f"from {RIVERSIDE_NAME!r}" in text
        assert "maximo_prod" in await tools.error("delete_system", {**target, "confirm": True})
    assert sandbox.state.writes["system_delete"] == 1


@pytest.mark.parametrize(("answer", "deleted"), [({"delete": True}, True), ({"delete": False}, False)])
async def test_delete_system_asks_when_the_client_can(
    sandbox: SandboxServer, answer: dict[str, bool], deleted: bool
) -> None:
    asked: list[str] = []

    async def reply(context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content=answer)

    record = seed.SYSTEM_RIVERSIDE_SQL
    async with asking_tools(sandbox, reply) as tools:
        result = await tools.client.call_tool("delete_system", {"itwin_id": RIVERSIDE, "system": record})
    assert len(asked) == 1 and "local_sql_server" in asked[0] and RIVERSIDE_NAME in asked[0]
    assert result.is_error is (not deleted), text_of(result)
    if deleted:
        assert (result.structured_content or {})["itwin_name"] == RIVERSIDE_NAME
    assert sandbox.state.writes["system_delete"] == int(deleted)


# --- the team deployment --------------------------------------------------------------------------


async def test_team_the_page_is_for_the_person_who_asked_only(sandbox: SandboxServer) -> None:
    from tests.remote.harness import Browser, in_process, signed_in

    with in_process(sandbox) as served:
        avery, oscar = Browser(seed.USER_ADMIN), Browser(seed.USER_OPERATOR)
        try:
            async with signed_in(served.url, avery) as client:
                tools = Session(client)
                pending, _ = await tools.ok("set_up_system", SAP)
                link = pending["link"]
                assert link.startswith(f"{served.base}/systems/setup/")
                # Oscar signed in to the same server, and a browser signed in to nobody: refused.
                async with signed_in(served.url, oscar):
                    pass
                for someone in (oscar, Browser("nobody")):
                    page = await someone.http.get(link, headers=SAME_ORIGIN)
                    assert page.status_code == 403 and "Not your form" in page.text
                    posted = await someone.http.post(link, data={"csrf": "x"}, headers=SAME_ORIGIN)
                    assert posted.status_code == 403
                assert created(sandbox) == 0
                # Avery's own browser (where they approved the MCP client) may.
                page = await avery.http.get(link, headers=SAME_ORIGIN)
                assert page.status_code == 200, page.text
                fields = fields_of(page.text)
                labels = labels_of(page.text)
                fields.update({labels[k]: v for k, v in SAP_TYPED.items()})
                done = await avery.http.post(link, data=fields, headers=SAME_ORIGIN)
                assert done.status_code == 200 and "System created" in done.text
                reported, text = await tools.ok("set_up_system", SAP)
                assert reported["status"] == "created" and PASSWORD not in text
        finally:
            await avery.aclose()
            await oscar.aclose()
    assert created(sandbox) == 1
    (record,) = [s for s in sandbox.state.systems[RIVERSIDE].values() if s["systemId"] == "sap_prod"]
    assert record["lastChangeByName"] == "Avery Admin"  # created as the person, with their sign-in


async def test_a_lost_answer_is_never_resent_and_the_list_tells(
    sandbox: SandboxServer, person: Person, admin: Session
) -> None:
    pending, _ = await admin.ok("set_up_system", SAP)
    page = await person.open(pending["link"])
    sandbox.state.faults.drop_after_processing(
        1, path_prefix=f"/edfs/itwins/{RIVERSIDE}/systems", method="POST"
    )
    done = await person.submit(pending["link"], page.text, SAP_TYPED)
    assert done.status_code == 200 and "System created" in done.text, done.text
    reported, _ = await admin.ok("set_up_system", SAP)
    assert reported["status"] == "created"
    assert created(sandbox) == 1  # sent once, found by listing


async def test_when_edfs_refuses_the_page_and_the_next_call_say_why(
    sandbox: SandboxServer, person: Person, admin: Session
) -> None:
    pending, _ = await admin.ok("set_up_system", SAP)
    page = await person.open(pending["link"])
    # Someone else creates sap_prod meanwhile: EDFS answers 409 to the form.
    sandbox.state.systems[RIVERSIDE]["0f0f0f0f-0000-4000-8000-000000000001"] = {
        "id": "0f0f0f0f-0000-4000-8000-000000000001",
        "systemName": "SAP (someone else)",
        "systemId": "sap_prod",
        "systemType": "EDF.Sap",
    }
    refused = await person.submit(pending["link"], page.text, SAP_TYPED)
    assert refused.status_code == 422 and "SystemExists" in refused.text
    assert PASSWORD not in refused.text
    text = await admin.error("set_up_system", SAP)
    assert "was not created" in text and "SystemExists" in text and PASSWORD not in text
    assert created(sandbox) == 0


async def test_the_local_page_answers_only_to_this_machines_names(
    sandbox: SandboxServer, person: Person, admin: Session
) -> None:
    pending, _ = await admin.ok("set_up_system", SAP)
    rebound = await person.http.get(pending["link"], headers={**SAME_ORIGIN, "Host": "attacker.example"})
    assert rebound.status_code == 400
    assert (await person.fill(pending["link"], SAP_TYPED)).status_code == 200
    assert created(sandbox) == 1
