"""Bounded pages and the result cache."""

import json

import pytest

from edfs_mcp.results import ResultGone, ResultStore, estimate_tokens, page_rows
from edfs_mcp.tabular import Table


def _table(n: int) -> Table:
    return Table(rows=[{"id": i, "name": f"row {i}", "note": "x" * 40} for i in range(n)])


def test_a_page_stays_within_the_token_budget_and_says_where_to_continue() -> None:
    table = _table(10_000)
    page = page_rows(table, offset=0, limit=10_000, budget_tokens=2000)
    assert 0 < len(page.rows) < 10_000
    assert estimate_tokens(json.dumps(page.rows)) <= 2000 + len(page.rows)
    assert page.next_offset == len(page.rows)


def test_pages_cover_every_row_exactly_once() -> None:
    table = _table(1234)
    seen: list[int] = []
    offset: int | None = 0
    while offset is not None:
        page = page_rows(table, offset=offset, limit=500, budget_tokens=3000)
        seen.extend(row["id"] for row in page.rows)
        offset = page.next_offset
    assert seen == list(range(1234))


def test_one_row_bigger_than_the_budget_is_cut_to_fit_and_paging_goes_on() -> None:
    table = Table(rows=[{"blob": "y" * 50_000}, {"blob": "z" * 1400}, {"blob": "w"}])
    page = page_rows(table, offset=0, limit=10, budget_tokens=500)
    first = page.rows[0]["blob"]
    assert first.startswith("y" * 100) and first.endswith("more characters cut]")
    assert estimate_tokens(json.dumps(page.rows)) <= 500
    assert page.next_offset is not None and page.next_offset >= 1


def test_a_row_that_cannot_fit_at_all_becomes_a_marker() -> None:
    table = Table(rows=[{f"k{i}": "v" * 30 for i in range(150)}])
    page = page_rows(table, offset=0, limit=1, budget_tokens=500)
    assert page.rows == [{"…": "[row too large to show: 150 fields]"}]


def test_column_selection() -> None:
    page = page_rows(_table(3), offset=1, limit=1, budget_tokens=1000, columns=["name"])
    assert page.rows == [{"name": "row 1"}] and page.next_offset == 2


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.anyio
async def test_the_store_is_bounded_in_bytes_and_says_why_a_result_is_gone() -> None:
    store = ResultStore(ttl_seconds=60, max_bytes=100, clock=Clock())
    first = await store.put(_table(1), "a", owner="local", size_bytes=40)
    second = await store.put(_table(1), "b", owner="local", size_bytes=40)
    third = await store.put(_table(1), "c", owner="local", size_bytes=40)
    assert first and second and third and store.bytes_held == 80
    with pytest.raises(ResultGone) as gone:
        await store.get(first.result_id, owner="local")
    assert gone.value.reason == "evicted"
    assert await store.get(second.result_id, owner="local") is second
    assert await store.put(_table(1), "too big", owner="local", size_bytes=101) is None
    assert await store.get(third.result_id, owner="local") is third  # nothing was evicted for it


@pytest.mark.anyio
async def test_a_result_expires() -> None:
    clock = Clock()
    store = ResultStore(ttl_seconds=60, clock=clock)
    stored = await store.put(_table(1), "d", owner="local", size_bytes=1)
    assert stored is not None
    clock.now += 61
    with pytest.raises(ResultGone) as gone:
        await store.get(stored.result_id, owner="local")
    assert gone.value.reason == "expired" and store.bytes_held == 0


@pytest.mark.anyio
async def test_a_result_belongs_to_the_principal_that_made_it() -> None:
    store = ResultStore()
    stored = await store.put(_table(1), "e", owner="session:a", size_bytes=1)
    assert stored is not None
    with pytest.raises(ResultGone) as gone:
        await store.get(stored.result_id, owner="session:b")
    assert gone.value.reason == "unknown"  # the same as a wrong ID: its existence is not told
    assert await store.get(stored.result_id, owner="session:a") is stored


@pytest.mark.anyio
async def test_result_ids_are_unguessable() -> None:
    store = ResultStore()
    ids = set()
    for _ in range(50):
        stored = await store.put(_table(1), "s", owner="local", size_bytes=1)
        assert stored is not None
        ids.add(stored.result_id)
    assert len(ids) == 50 and all(len(i) >= 16 for i in ids)
