"""Bounded pages and the result cache."""

import json

from edfs_mcp.results import ResultStore, estimate_tokens, page_rows
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


def test_store_expires_and_evicts_oldest() -> None:
    store = ResultStore(ttl_seconds=60, max_results=2)
    first = store.put(_table(1), "a")
    second = store.put(_table(1), "b")
    third = store.put(_table(1), "c")
    assert store.get(first.result_id) is None
    assert store.get(second.result_id) is second and store.get(third.result_id) is third
    expired = ResultStore(ttl_seconds=0)
    stored = expired.put(_table(1), "d")
    assert expired.get(stored.result_id) is None


def test_result_ids_are_unguessable() -> None:
    store = ResultStore(max_results=100)
    ids = {store.put(_table(1), "s").result_id for _ in range(50)}
    assert len(ids) == 50 and all(len(i) >= 12 for i in ids)
