"""``python -m bench.scale [--calls 1600] [--concurrency 160] [--generators 2]``: scale-out through a real
load balancer, every part in its own process.

One run starts a real ``redis-server``, the sandbox as Bentley (``edfs-mcp sandbox --as web``, its own
process, with 200 ms added to every EDFS answer through its control API), three ``edfs-mcp serve``
replicas sharing the Redis, and HAProxy in front (the parts of ``tests/scale``). A person signs in
through the load balancer; then ``--generators`` load-generator processes (``bench.scale_load``)
with ``concurrency`` MCP clients between them (2026-07-28, the official SDK) make ``calls``
``list_timers`` calls in all, with 1, then 2, then 3 replicas behind HAProxy.

Printed: calls/s for each and their ratios to 1 replica, p50 / p99 latency, Redis commands per tool
call (``INFO commandstats``, summed, before and after), and the CPU seconds each process spent in
the measured burst (from ``/proc``; the load generators report their own), so what limits the ratio
on this machine is visible.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import redis

from edfs_mcp.sandbox import seed
from tests.harness import clean_env
from tests.remote.harness import Browser, MemoryTokens, signed_in
from tests.scale.parts import haproxy, redis_server, replica
from tests.serving import free_port

LATENCY = 0.2
SIZES = (1, 2, 3)


def _commands(url: str) -> int:
    """Commands Redis has processed, from ``INFO commandstats`` (every command, by name)."""
    client = redis.Redis.from_url(url)
    try:
        stats = client.info("commandstats")
        return sum(int(entry["calls"]) for entry in stats.values())
    finally:
        client.close()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def sandbox_process(public_url: str) -> Iterator[tuple[dict[str, str], int]]:
    """``edfs-mcp sandbox --as web`` in its own process: (its export lines as settings, its pid)."""
    port = free_port()
    command = [sys.executable, "-m", "edfs_mcp", "sandbox", "--as", "web", "--public-url", public_url]
    process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [*command, "--port", str(port)],
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        env: dict[str, str] = {}
        assert process.stdout is not None
        while "EDFS_MCP_STATE_KEY" not in env:
            line = process.stdout.readline()
            assert line, "the sandbox exited"
            if line.startswith("export "):
                key, _, value = line.removeprefix("export ").strip().partition("=")
                env[key] = value
        yield env, process.pid
    finally:
        process.terminate()
        process.wait(20)


def _faults(base: str, body: dict[str, object]) -> None:
    httpx2.post(f"{base}/_sandbox/faults", json=body, timeout=10).raise_for_status()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _start(
    url: str, token: str, calls: int, concurrency: int, generators: int
) -> list[subprocess.Popen[str]]:
    """The load generators, each warm and waiting for the word to go."""
    env = {**clean_env(), "BENCH_TOKEN": token}
    processes = []
    for index in range(generators):
        share = calls // generators + (1 if index < calls % generators else 0)
        clients = concurrency // generators + (1 if index < concurrency % generators else 0)
        processes.append(
            subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
                [sys.executable, "-m", "bench.scale_load", url, str(share), str(clients)],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    for process in processes:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready", "a load generator did not start"
    return processes


def _run(processes: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    """Let every load generator go at once; their reports."""
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    reports = []
    for process in processes:
        assert process.stdout is not None
        reports.append(json.loads(process.stdout.readline()))
        process.wait(60)
    return reports


def measure(calls: int, concurrency: int, generators: int) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    rates: dict[int, float] = {}
    lb_port = free_port()
    public = f"http://127.0.0.1:{lb_port}"
    with (
        redis_server() as store,
        sandbox_process(public) as (sandbox_env, sandbox_pid),
        tempfile.TemporaryDirectory() as tmp,
        contextlib.ExitStack() as stack,
    ):
        sandbox_base = sandbox_env["EDFS_MCP_API_BASE"]
        env = {
            **sandbox_env,
            "EDFS_MCP_REDIS_URL": store.url,
            "EDFS_MCP_LOG_LEVEL": "WARNING",
            "EDFS_MCP_HTTP_MAX_CONNECTIONS": "1000",  # above the load: measure calls, not refusals
        }
        replicas = [stack.enter_context(replica(f"r{i}", env, Path(tmp))) for i in range(max(SIZES))]
        assert store.process is not None
        token = ""
        for size in SIZES:
            with haproxy([r.port for r in replicas[:size]], Path(tmp), lb_port) as lb:
                url = f"{lb.base}/mcp"
                if not token:
                    token = anyio.run(_sign_in, url)
                _faults(sandbox_base, {"latency": {"seconds": LATENCY}})
                pids = {
                    **{f"replica r{i}": r.process.pid for i, r in enumerate(replicas[:size])},
                    "haproxy": lb.process.pid,
                    "redis-server": store.process.pid,
                    "sandbox (EDFS)": sandbox_pid,
                }
                processes = _start(url, token, calls, concurrency, generators)
                cpu_before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
                commands_before = _commands(store.url)
                reports = _run(processes)
                commands = _commands(store.url) - commands_before - 1  # less the first INFO
                cpu = {name: _cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
                httpx2.delete(f"{sandbox_base}/_sandbox/faults", timeout=10)
            durations: list[float] = [d for r in reports for d in r["durations"]]
            errors = sum(int(r["errors"]) for r in reports)
            elapsed = max(float(r["end"]) for r in reports) - min(float(r["start"]) for r in reports)
            assert errors == 0 and len(durations) == calls, (errors, len(durations))
            rates[size] = calls / elapsed
            label = f"{size} replica{'s' if size > 1 else ''}"
            replica_cpu = sum(v for k, v in cpu.items() if k.startswith("replica"))
            load_cpu = sum(float(r["cpu"]) for r in reports)
            each = " + ".join(f"{v:.1f}" for k, v in cpu.items() if k.startswith("replica"))
            rows += [
                (f"{label}: calls/s", f"{rates[size]:.1f}"),
                (
                    f"{label}: p50 / p99 latency (s)",
                    f"{statistics.median(durations):.3f} / {_percentile(durations, 0.99):.3f}",
                ),
                (f"{label}: Redis commands per tool call", f"{commands / calls:.2f}"),
                (
                    f"{label}: CPU s in {elapsed:.1f} s (replicas / haproxy / redis / sandbox / "
                    "load generators)",
                    f"{replica_cpu:.1f} ({each}) / {cpu['haproxy']:.1f} / {cpu['redis-server']:.1f} / "
                    f"{cpu['sandbox (EDFS)']:.1f} / {load_cpu:.1f}",
                ),
            ]
        for size in SIZES[1:]:
            rows.append((f"calls/s with {size} replicas / with 1", f"{rates[size] / rates[1]:.2f}"))
    rows.append(("CPU cores on this machine", str(os.cpu_count())))
    return rows


async def _sign_in(url: str) -> str:
    storage, browser = MemoryTokens(), Browser(seed.USER_ADMIN)
    async with signed_in(url, browser, storage=storage) as client:
        await client.call_tool("list_integration_packages", {})
    await browser.aclose()
    assert storage.tokens is not None
    return storage.tokens.access_token


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--calls", type=int, default=1600)
    parser.add_argument("--concurrency", type=int, default=160)
    parser.add_argument("--generators", type=int, default=2, help="load-generator processes")
    args = parser.parse_args()
    rows = measure(args.calls, args.concurrency, args.generators)
    print(
        f"Through HAProxy, {LATENCY * 1000:.0f} ms added upstream, {args.calls} calls by {args.concurrency} "
        f"clients in {args.generators} load-generator processes:\n"
    )
    print("| figure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
