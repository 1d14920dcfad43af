"""Results in Redis: compact (zstd Arrow IPC), bounded per person, gone with a reason, owner-only."""

from __future__ import annotations

import time

import anyio
import pytest
import redis as redis_sync

from edfs_mcp.results import ResultGone
from edfs_mcp.state.redis_results import RedisResultStore, decode, encode
from edfs_mcp.tabular import Table
from tests.scale.parts import RedisServer

pytestmark = pytest.mark.real_process


def rows(count: int, tag: str = "a") -> Table:
    return Table(
        {"sensor": f"S-{i % 7}", "status": "OK" if i % 3 else "ALARM", "value": i * 0.5, "tag": tag}
        for i in range(count)
    )


def test_a_result_is_kept_compactly_and_reads_back_the_same() -> None:
    table = rows(5000)
    blob = encode(table, "run of X", owner="person:a")
    header, back = decode(blob)
    assert header["source"] == "run of X" and "person:a" not in blob.decode("latin-1")
    assert back.row_count == 5000 and back.column_types == table.column_types
    assert back.rows_between(10, 20) == table.rows_between(10, 20)
    assert len(blob) < table.nbytes / 4  # compressed columns, not JSON rows


@pytest.mark.anyio
async def test_each_person_has_their_own_budget_and_gone_results_say_why(redis: RedisServer) -> None:
    one_result = rows(2000).nbytes
    store = RedisResultStore.from_url(redis.url, max_bytes=int(one_result * 2.5), ttl_seconds=60)
    other = RedisResultStore.from_url(redis.url, max_bytes=int(one_result * 2.5), ttl_seconds=60)
    try:
        made = [
            await store.put(rows(2000, str(i)), f"run {i}", owner="person:a", size_bytes=one_result)
            for i in (1, 2)
        ]
        theirs = await other.put(rows(2000, "b"), "run b", owner="person:b", size_bytes=one_result)
        # person:a's third, made on another replica: past the budget.
        third = await other.put(rows(2000, "3"), "run 3", owner="person:a", size_bytes=one_result)
        first, second = made
        assert first is not None and second is not None and theirs is not None and third is not None
        # person:a's oldest went to make room; person:b's, in the same Redis, stayed.
        with pytest.raises(ResultGone) as gone:
            await other.get(first.result_id, owner="person:a")
        assert gone.value.reason == "evicted"
        assert (await store.get(second.result_id, owner="person:a")).source == "run 2"
        assert (await store.get(theirs.result_id, owner="person:b")).table.rows_between(0, 1)[0]["tag"] == "b"
        # Another person's result does not exist for them.
        with pytest.raises(ResultGone) as hidden:
            await store.get(theirs.result_id, owner="person:a")
        assert hidden.value.reason == "unknown"
        # Too big for the whole budget: not kept.
        assert await store.put(rows(10), "x", owner="person:a", size_bytes=one_result * 3) is None
    finally:
        await store.aclose()
        await other.aclose()


@pytest.mark.anyio
async def test_an_expired_result_says_so(redis: RedisServer) -> None:
    store = RedisResultStore.from_url(redis.url, ttl_seconds=0.2)
    try:
        kept = await store.put(rows(10), "run", owner="person:a", size_bytes=100)
        assert kept is not None
        raw = redis_sync.Redis.from_url(redis.url)
        deadline = time.monotonic() + 10
        while raw.exists(f"edfs-mcp:result:{kept.result_id}"):  # Redis expires it on its own
            assert time.monotonic() < deadline, "never expired"
            await anyio.sleep(0.02)
        raw.close()
        with pytest.raises(ResultGone) as gone:
            await store.get(kept.result_id, owner="person:a")
        assert gone.value.reason == "expired"
    finally:
        await store.aclose()
