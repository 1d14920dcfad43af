"""Two real ``edfs-mcp serve`` replicas sharing a real Redis, behind a real HAProxy (round robin, no
affinity): people sign in through the load balancer, a token issued by one replica works on the
other, two people stay apart, and killing a replica mid-burst loses and duplicates no write."""

from __future__ import annotations

import contextlib
import signal
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from edfs_mcp.sandbox import SandboxServer, seed
from tests.harness import text_of, wait_for
from tests.remote.harness import Browser, MemoryTokens, oauth_env, sdk_auth
from tests.scale.parts import HAProxy, RedisServer, Replica, haproxy, replica
from tests.serving import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.real_process]

NORTHGATE = seed.ITWIN_NORTHGATE_BRIDGE
PACKAGE = seed.SQL_CUSTOMERS_TABLE


@dataclass
class Cluster:
    lb: HAProxy
    replicas: list[Replica]
    env: dict[str, str]
    directory: Path
    stack: contextlib.ExitStack

    @property
    def url(self) -> str:
        return f"{self.lb.base}/mcp"

    def restart(self, index: int, generation: int) -> int:
        """Replica ``index`` taken out of the load balancer, SIGTERMed (it drains and exits), then
        started again on its port and put back, as a rolling upgrade on Kubernetes does; the old
        process's exit code."""
        old = self.replicas[index]
        self.lb.take_out(f"r{index}")  # as Kubernetes does before SIGTERM: no new requests for it
        code = old.terminate()
        name = f"r{index}.{generation}"
        self.replicas[index] = self.stack.enter_context(replica(name, self.env, self.directory, old.port))
        self.lb.put_back(f"r{index}")
        return code


@contextmanager
def cluster(sandbox: SandboxServer, redis: RedisServer, size: int = 2, **extra: str) -> Iterator[Cluster]:
    """``size`` replicas at one public URL, the load balancer's; ``extra``: more EDFS_MCP_* settings."""
    lb_port = free_port()
    public = f"http://127.0.0.1:{lb_port}"
    sandbox.accept_web_redirect(f"{public}/auth/callback")
    env = oauth_env(sandbox, public, EDFS_MCP_REDIS_URL=redis.url, EDFS_MCP_LOG_LEVEL="INFO", **extra)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        with contextlib.ExitStack() as stack:
            replicas = [stack.enter_context(replica(f"r{i}", env, directory)) for i in range(size)]
            lb = stack.enter_context(haproxy([r.port for r in replicas], directory, lb_port))
            yield Cluster(lb, replicas, env, directory, stack)


@dataclass
class Seen:
    """Which replica answered each MCP request (HAProxy's X-Served-By)."""

    mcp: list[str] = field(default_factory=list)
    token: list[str] = field(default_factory=list)

    async def hook(self, response: httpx2.Response) -> None:
        path = response.request.url.path
        server = response.headers.get("x-served-by", "?")
        if path == "/mcp":
            self.mcp.append(server)
        elif path == "/token":
            self.token.append(server)


@asynccontextmanager
async def through_lb(
    url: str, browser: Browser, seen: Seen, mode: str = "auto", storage: MemoryTokens | None = None
) -> AsyncIterator[Client]:
    auth = sdk_auth(url, browser, storage=storage)
    async with (
        httpx2.AsyncClient(auth=auth, timeout=60, event_hooks={"response": [seen.hook]}) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode, read_timeout_seconds=60) as client,
    ):
        yield client


def leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaves(inner)]
    return [exc]


@pytest.mark.parametrize("mode", ["auto", "legacy"])  # 2026-07-28 (sessionless), 2025-11-25 (stateless)
async def test_two_people_sign_in_through_the_load_balancer_and_any_replica_serves_them(
    sandbox: SandboxServer, redis: RedisServer, mode: str
) -> None:
    admin, viewer = Browser(seed.USER_ADMIN), Browser(seed.USER_VIEWER)
    seen = {seed.USER_ADMIN: Seen(), seed.USER_VIEWER: Seen()}
    outcomes: dict[str, list[tuple[bool, str]]] = {seed.USER_ADMIN: [], seed.USER_VIEWER: []}
    with cluster(sandbox, redis) as running:
        async with contextlib.AsyncExitStack() as stack:
            clients = {
                b.username: await stack.enter_async_context(
                    through_lb(running.url, b, seen[b.username], mode)
                )
                for b in (admin, viewer)
            }

            async def call(person: str) -> None:
                result = await clients[person].call_tool("list_timers", {"itwin_id": NORTHGATE})
                outcomes[person].append((result.is_error, text_of(result)))

            async def calls(person: str) -> None:
                for _ in range(3):
                    await call(person)

            async with anyio.create_task_group() as group:  # both people at once
                group.start_soon(calls, seed.USER_ADMIN)
                group.start_soon(calls, seed.USER_VIEWER)
            for person in clients:  # each alone: two calls in a row go to both replicas (round robin)
                seen[person].mcp.clear()
                await call(person)
                await call(person)
                # The person's token came from one replica and was honoured by both.
                assert len(seen[person].token) == 1
                assert {"r0", "r1"} <= set(seen[person].mcp), seen[person].mcp
        logs = "".join(r.stderr() for r in running.replicas)
    await admin.aclose()
    await viewer.aclose()
    # Every call ran as its person: the viewer may not list the admin's timers, on either replica.
    assert len(outcomes[seed.USER_ADMIN]) == len(outcomes[seed.USER_VIEWER]) == 5
    assert all(not failed for failed, _ in outcomes[seed.USER_ADMIN]), outcomes[seed.USER_ADMIN]
    assert all(failed and "403" in text for failed, text in outcomes[seed.USER_VIEWER])
    assert admin.consent_pages == viewer.consent_pages == 1
    for secret in ("edfs_at_", "edfs_rt_", "eyJ", seed.WEB_CLIENT_SECRET):
        assert secret not in logs, secret


@dataclass
class Outcome:
    kind: str  # "ok", "error" (an answer with isError), or "lost" (the connection ended unanswered)
    served_by: str  # the replica that answered (X-Served-By), "?" when none did
    words: str


async def burst_then(
    url: str, headers: dict[str, str], sandbox: SandboxServer, burst: int, end: Callable[[], Awaitable[None]]
) -> list[Outcome]:
    """``burst`` package runs through the load balancer, each on its own connection; once every one
    of them is waiting on EDFS, ``end`` runs (a replica's end); what each call ended with."""
    outcomes: list[Outcome] = []

    async def execute() -> None:
        served = Seen()
        try:
            async with (
                httpx2.AsyncClient(headers=headers, timeout=60, event_hooks={"response": [served.hook]}) as h,
                Client(streamable_http_client(url, http_client=h), read_timeout_seconds=60) as c,
            ):
                result = await c.call_tool(
                    "execute_integration_package", {"itwin_id": NORTHGATE, "unique_name": PACKAGE}
                )
                kind = "error" if result.is_error else "ok"
                outcomes.append(Outcome(kind, served.mcp[-1] if served.mcp else "?", text_of(result)))
        except Exception as exc:  # the call was on the replica that ended
            words = "; ".join(f"{type(e).__name__}: {e}" for e in leaves(exc))
            outcomes.append(Outcome("lost", "?", words))

    def executes_arrived() -> int:
        return sum(1 for m, p in list(sandbox.state.requests) if m == "POST" and "/packages/" in p)

    async with anyio.create_task_group() as group:
        for _ in range(burst):
            group.start_soon(execute)
        deadline = anyio.current_time() + 30
        while executes_arrived() < burst:  # all of them in flight, on both replicas
            assert anyio.current_time() < deadline, f"{executes_arrived()} of {burst} executes arrived"
            await anyio.sleep(0.01)
        await end()
    return outcomes


async def test_a_replica_killed_mid_burst_loses_and_duplicates_no_write(
    sandbox: SandboxServer, redis: RedisServer
) -> None:
    """SIGKILL (a node lost, an OOM kill): the process ends at once, so nothing can be sent to the
    clients of the calls it was running. Each sees its connection close without an answer (the SDK
    client's "Server disconnected without sending a response", or HAProxy's 502 when it held the
    connection): no outcome words are possible, since the only process that knew the call's state is
    gone. What is guaranteed is on the other side: the victim's requests to EDFS die with it (EDFS
    never runs them), none is retried elsewhere, and the survivor goes on. Kubernetes sends SIGTERM
    first, which drains and answers every call (the next test)."""
    browser, storage, seen = Browser(seed.USER_ADMIN), MemoryTokens(), Seen()
    burst = 6
    with cluster(sandbox, redis) as running:
        async with through_lb(running.url, browser, seen, storage=storage) as client:
            assert not (await client.call_tool("list_integration_packages", {})).is_error
        assert storage.tokens is not None
        headers = {"Authorization": f"Bearer {storage.tokens.access_token}"}
        sandbox.state.faults.latency(2.0)  # every call is still waiting on EDFS when the replica dies
        with sandbox.state.lock:
            sandbox.state.requests.clear()
        victim = running.replicas[1]

        async def kill() -> None:
            victim.kill()

        outcomes = await burst_then(running.url, headers, sandbox, burst, kill)
        sandbox.state.faults.clear()
        ok = [o.words for o in outcomes if o.kind == "ok"]
        lost = [o.words for o in outcomes if o.kind == "lost"]
        assert len(outcomes) == burst and not [o for o in outcomes if o.kind == "error"], outcomes
        assert ok and lost, outcomes  # the survivor's calls finished; the victim's ended
        # The victim's calls end at the client as a connection that ended without an answer (or the
        # load balancer's 502): never as a success, never silently.
        assert all("disconnected without sending a response" in w or "502" in w for w in lost), lost
        # Exactly once: every finished call wrote once, and no call the victim had was run (its
        # request to EDFS was abandoned with it) nor retried elsewhere.
        wait_for(lambda: sandbox.state.abandoned == len(lost), "EDFS to see the victim's calls abandoned")
        assert sandbox.state.writes["execute"] == len(ok)

        # The survivor keeps serving: new calls through the load balancer all succeed, also before the
        # health checks mark the victim down (a refused connection is sent to the other replica).
        async with (
            httpx2.AsyncClient(headers=headers, timeout=60) as h,
            Client(streamable_http_client(running.url, http_client=h), read_timeout_seconds=60) as c,
        ):
            for _ in range(4):
                result = await c.call_tool("list_timers", {"itwin_id": NORTHGATE})
                assert not result.is_error, text_of(result)
    await browser.aclose()


async def test_a_replica_sigtermed_mid_burst_answers_every_call_it_had_with_its_outcome(
    sandbox: SandboxServer, redis: RedisServer
) -> None:
    """SIGTERM (what Kubernetes sends) with a short grace period while slow package runs are in
    flight on both replicas: the victim's calls that outlive the grace period are stopped and each is
    answered, before the process exits, with what became of its write; the survivor's finish; EDFS
    counts each write exactly once."""
    browser, storage = Browser(seed.USER_ADMIN), MemoryTokens()
    burst, drain = 6, 1.5
    with cluster(sandbox, redis, EDFS_MCP_HTTP_DRAIN_SECONDS=str(drain)) as running:
        async with through_lb(running.url, browser, Seen(), storage=storage) as client:
            assert not (await client.call_tool("list_integration_packages", {})).is_error
        assert storage.tokens is not None
        headers = {"Authorization": f"Bearer {storage.tokens.access_token}"}
        sandbox.state.faults.latency(drain + 4.0)  # every run outlives the victim's grace period
        with sandbox.state.lock:
            sandbox.state.requests.clear()
        victim = running.replicas[1]
        ended: list[tuple[int, float]] = []  # the victim's exit code, and how long it took to exit

        async def terminate() -> None:
            started = anyio.current_time()
            code = await anyio.to_thread.run_sync(victim.terminate)
            ended.append((code, anyio.current_time() - started))

        outcomes = await burst_then(running.url, headers, sandbox, burst, terminate)
        [(exit_code, stopped_after)] = ended
        sandbox.state.faults.clear()
        stderr = victim.stderr()
    await browser.aclose()
    ok = [o for o in outcomes if o.kind == "ok"]
    stopped = [o for o in outcomes if o.kind == "error"]
    # Every call got an answer: none saw its connection close.
    assert len(outcomes) == burst and not [o for o in outcomes if o.kind == "lost"], outcomes
    assert ok and stopped, outcomes
    assert {o.served_by for o in ok} == {"r0"} and {o.served_by for o in stopped} == {"r1"}
    # Each stopped call says its run was sent and may or may not have run, and why it was stopped.
    for words in (o.words for o in stopped):
        assert "request was sent" in words and "may or may not have run" in words, words
        assert "shutting down" in words and "EDFS_MCP_HTTP_DRAIN_SECONDS" in words, words
    # The victim exited cleanly, at the end of its grace period (not uvicorn's later deadline).
    assert exit_code in (0, -signal.SIGTERM), stderr[-2000:]
    assert drain <= stopped_after < drain + 3.0, stopped_after
    assert f"stopping {len(stopped)} tool call(s)" in stderr and "Cancel" not in stderr, stderr[-2000:]
    # Exactly once: each finished run wrote once; each stopped one was abandoned by EDFS, not run.
    wait_for(lambda: sandbox.state.abandoned == len(stopped), "EDFS to see the stopped runs abandoned")
    assert sandbox.state.writes["execute"] == len(ok)


async def test_a_result_made_on_one_replica_pages_on_the_other_and_only_for_its_person(
    sandbox: SandboxServer, redis: RedisServer
) -> None:
    admin, viewer, seen = Browser(seed.USER_ADMIN), Browser(seed.USER_VIEWER), Seen()
    with cluster(sandbox, redis) as running:
        async with through_lb(running.url, admin, seen) as client:
            ran = await client.call_tool(
                "execute_integration_package",
                {"itwin_id": NORTHGATE, "unique_name": seed.SENSOR_READINGS_BULK},
            )
            assert not ran.is_error, text_of(ran)
            assert ran.structured_content is not None
            result_id = ran.structured_content["result_id"]
            made_on = seen.mcp[-1]
            seen.mcp.clear()
            pages = []
            for offset in (0, 5):  # round robin: the two reads land on both replicas
                page = await client.call_tool(
                    "read_execution_result", {"result_id": result_id, "offset": offset, "limit": 5}
                )
                assert not page.is_error, text_of(page)
                assert page.structured_content is not None
                pages.append(page.structured_content["rows"])
            assert {"r0", "r1"} <= set(seen.mcp) and made_on in seen.mcp
            assert len(pages[0]) == len(pages[1]) == 5 and pages[0] != pages[1]
        async with through_lb(running.url, viewer, Seen()) as stranger:
            for _ in range(2):  # on both replicas
                taken = await stranger.call_tool("read_execution_result", {"result_id": result_id})
                assert taken.is_error
                assert "rows" not in (taken.structured_content or {})
    await admin.aclose()
    await viewer.aclose()
