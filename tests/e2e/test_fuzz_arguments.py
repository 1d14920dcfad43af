"""Property-based: hostile arguments for every tool never crash the server, every rejection names
the argument, and no request with an invalid path segment ever reaches the sandbox.

200 generated cases per tool, through a real mcp.Client to the server built in-process,
which talks to the sandbox over loopback HTTP.
"""

import functools
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from edfs_mcp.config import Settings
from edfs_mcp.sandbox import SandboxServer, seed
from edfs_mcp.server import build_server
from edfs_mcp.tools import all_tools
from tests.harness import text_of

# A CPU-heavy hypothesis run (~35 s of CPU on one core): it runs in the second stage (scale).
pytestmark = pytest.mark.scale

EXAMPLES_PER_TOOL = 200
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
NAME = re.compile(r"^[A-Za-z0-9_.-]+$")

NASTY = st.sampled_from(
    [
        "",
        ".",
        "..",
        "../..",
        "%2e%2e",
        "a/b",
        "a%2Fb",
        "..%2F..%2Fitwins",
        "x?y=z",
        "#frag",
        "\x00",
        "\n",
        "é",
        "名前",
        "\u202e",
        " ",
        "x" * 5000,
        seed.ITWIN_NORTHGATE_BRIDGE,
        seed.ITWIN_NORTHGATE_BRIDGE.upper(),
        seed.TIMER_NORTHGATE_SAP_NIGHTLY,
        seed.SAP_WORK_ORDERS,
        seed.ODT_APIM_TEST,
        "SAP_Equipments_Read",
        "0 22 * * 1-5",
        "* * * * * *",
        "r_unknown",
    ]
)
VALUES = st.one_of(
    NASTY,
    st.text(max_size=60),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
    st.lists(st.one_of(NASTY, st.text(max_size=10)), max_size=4),
    st.dictionaries(st.one_of(NASTY, st.text(max_size=10)), st.one_of(NASTY, st.integers()), max_size=4),
)


UUIDS = st.uuids().map(str)
PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "itwin_id": st.one_of(st.sampled_from([i.id for i in seed.ITWINS]), UUIDS),
    "timer_id": st.one_of(st.sampled_from([t[0] for t in seed.TIMERS]), UUIDS),
    "unique_name": st.one_of(
        st.sampled_from([p.unique_name for p in seed.PACKAGES]), st.from_regex(NAME, fullmatch=True)
    ),
    "cron": st.sampled_from(["0 22 * * 1-5", "*/5 * * * *", "0 0 1 1 *", "61 1 * * *", "0 0 * * 8"]),
    "entity_set": st.one_of(
        st.sampled_from(list(seed.ODATA_ENTITY_SETS)), st.from_regex(r"[A-Za-z_]\w{0,20}", fullmatch=True)
    ),
    "query": st.text(min_size=1, max_size=30),
    "filter": st.sampled_from(["Plant eq 'NG01'", "contains(Description,'x')", "Plant eqq", "1 eq 1", "'"]),
    "select": st.sampled_from(["Equipment", "Equipment,Plant", "Nope", ""]),
    "orderby": st.sampled_from(["Equipment desc", "Nope asc", "Plant"]),
    "variables": st.dictionaries(
        st.text(max_size=12), st.one_of(st.text(max_size=20), st.integers()), max_size=3
    ),
    "parameters": st.dictionaries(st.text(max_size=12), st.text(max_size=20), max_size=3),
    "columns": st.lists(st.sampled_from(["sensorId", "value", "nope", ""]), max_size=3),
    "result_id": st.sampled_from(["r_unknown", "", "r_" + "x" * 70]),
    "sub_class": st.sampled_from(["Project", "Asset", "Nope"]),
    "name": st.text(max_size=40),
    **{flag: st.booleans() for flag in ("include_inactive", "enabled", "confirm", "return_as_xml")},
    **{number: st.integers(-5, 6000) for number in ("limit", "offset", "top", "skip")},
}
MISSING = object()


@functools.cache  # one strategy per (name, pick), not a new one_of per draw
def _value_of(name: str, pick: int) -> st.SearchStrategy[Any]:
    return PLAUSIBLE.get(name, VALUES) if pick else st.one_of(st.just(MISSING), VALUES)


def _arguments(properties: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Each property: plausible (often valid) three times in four, else hostile or absent; plus stray keys."""
    fields = {
        name: st.one_of(
            st.sampled_from([0, 1, 2, 3]).flatmap(functools.partial(_value_of, name)),
        )
        for name in properties
    }
    known = st.fixed_dictionaries(fields).map(lambda d: {k: v for k, v in d.items() if v is not MISSING})
    extra = st.dictionaries(st.text(max_size=12), VALUES, max_size=2)
    return st.tuples(known, extra).map(lambda pair: {**pair[1], **pair[0]})


@pytest.fixture(scope="module")
def portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal("asyncio") as running:
        yield running


@pytest.fixture(scope="module")
def client(portal: BlockingPortal, sandbox: SandboxServer) -> Iterator[Client]:
    server = build_server(
        Settings(
            api_base=sandbox.base_url,
            authority=sandbox.base_url,
            client_id=seed.CLIENT_ADMIN_ID,
            client_secret=seed.CLIENT_ADMIN_SECRET,
            max_rate_limit_wait=0,
        )
    )
    with portal.wrap_async_context_manager(Client(server)) as connected:
        yield connected


def _segments_are_valid(raw_path: str) -> bool:
    path = raw_path.split("?", 1)[0]
    parts = [unquote(part) for part in path.split("/")[1:]]
    if parts[:2] != ["edfs", "itwins"] or len(parts) < 3:
        return all(part and part not in (".", "..") and "/" not in part for part in parts[1:] if part)
    checks: list[object] = [GUID.match(parts[2])]
    if len(parts) > 4 and parts[3] == "packages":
        checks.append(NAME.match(parts[4]) and parts[4] not in (".", ".."))
    if len(parts) > 4 and parts[3] == "timers":
        checks.append(GUID.match(parts[4]))
    return all(checks)


TOOLS = {spec.name: spec for spec in all_tools()}


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_hostile_arguments_are_rejected_clearly_and_never_reach_edfs(
    tool: str, client: Client, portal: BlockingPortal, sandbox: SandboxServer
) -> None:
    schema = next(t for t in portal.call(client.list_tools).tools if t.name == tool).input_schema
    properties = sorted(schema.get("properties", {}))

    seen = {"cases": 0, "accepted": 0, "api_errors": 0}

    @settings(max_examples=EXAMPLES_PER_TOOL, deadline=None, suppress_health_check=list(HealthCheck))
    @given(arguments=_arguments(properties))
    def check(arguments: dict[str, Any]) -> None:
        seen["cases"] += 1
        result = portal.call(client.call_tool, tool, arguments)
        text = text_of(result)
        if not result.is_error:
            seen["accepted"] += 1
            return
        assert text.strip() != f"Error executing tool {tool}", f"crash on {arguments!r}"
        if text.startswith("Invalid arguments"):
            assert any(name in text for name in properties), text
        else:
            seen["api_errors"] += 1
            assert re.search(
                r"Could not|Not deleted|No cached|Unknown column|offset|no timer|There is no", text
            ), text

    sandbox.state.faults.clear()
    check()
    print(f"{tool}: {seen}")
    assert seen["cases"] >= EXAMPLES_PER_TOOL
    bad = [path for _, path in sandbox.state.requests if not _segments_are_valid(path)]
    assert bad == []
