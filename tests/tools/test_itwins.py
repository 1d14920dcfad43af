"""find_itwins: a model's first question, "list my iTwins", and searching by name or number."""

import pytest

from edfs_mcp.sandbox import seed
from tests.harness import Session

pytestmark = pytest.mark.anyio

ADMIN = next(i for i in seed.IDENTITIES if i.id == seed.IDENTITY_ADMIN)
MEMBER_OF = [t for t in seed.ITWINS if t.id in ADMIN.member_of]


async def test_without_arguments_it_lists_every_active_itwin_with_its_status(tools: Session) -> None:
    found, text = await tools.ok("find_itwins")
    active = {t.id: t.status for t in MEMBER_OF if t.status != "Inactive"}
    assert {i["id"]: i["status"] for i in found["itwins"]} == active
    assert found["query"] is None and found["next_offset"] is None
    assert "Inactive iTwins are hidden (include_inactive=true shows them)" in text


async def test_inactive_itwins_are_shown_on_request_and_told_apart(tools: Session) -> None:
    found, _ = await tools.ok("find_itwins", {"include_inactive": True})
    statuses = {i["id"]: i["status"] for i in found["itwins"]}
    assert statuses == {t.id: t.status for t in MEMBER_OF}
    assert "Inactive" in statuses.values()


async def test_a_long_list_comes_in_pages_that_say_where_the_next_starts(tools: Session) -> None:
    seen: list[str] = []
    offset: int | None = 0
    while offset is not None:
        page, text = await tools.ok("find_itwins", {"include_inactive": True, "limit": 2, "offset": offset})
        assert len(page["itwins"]) <= 2
        seen += [i["id"] for i in page["itwins"]]
        if page["next_offset"] is not None:
            assert f"offset={page['next_offset']}" in text
        offset = page["next_offset"]
    assert sorted(seen) == sorted(t.id for t in MEMBER_OF)


async def test_a_search_puts_exact_matches_first(tools: Session) -> None:
    found, _ = await tools.ok("find_itwins", {"query": "ng-br-2024"})
    assert found["itwins"][0]["id"] == seed.ITWIN_NORTHGATE_BRIDGE and found["itwins"][0]["exact_match"]


async def test_no_match_says_how_to_widen_the_search(tools: Session) -> None:
    found, text = await tools.ok("find_itwins", {"query": "no such project"})
    assert found["itwins"] == [] and "omit query to list them all" in text
