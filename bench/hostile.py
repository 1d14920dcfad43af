"""Figures for hostile input: a hostile EDFS upstream, and a hostile caller of the sign-in endpoints.

    python -m bench.hostile [--only upstream|signin]

**upstream** — a hostile EDFS stand-in in its own process (asyncio, 127.0.0.1) answers each case
of ``tests/api/test_bounded_answers.py``'s matrices (gzip/deflate bombs of 1 and 2 GiB, a member
then a second one, then a trailing byte, a cut or garbage member...) and the older ones (429s
with odd ``Retry-After``, a huge or endless body, a trickle, 200 000 error details). Each case runs
in a fresh client process (an ``EdfsClient`` with the default settings unless the case says
otherwise), so the figures are the client's alone: time to the answer, the time of small calls
made meanwhile to the same server by the same client (the event loop is not held up), and its
RSS before, after and at its peak. Real sleeps: the 429 cases take ~5 s each.

**signin** — a real ``edfs-mcp serve`` (``EDFS_MCP_HTTP_AUTH=oauth``, the sandbox as Bentley),
with the memory store and then with a real ``redis-server``: the 999 x 1000 KB consent form (~1 GB)
(~1 MB, chunked, 50 at once), then a flood of 2 000 registrations from 2 000 addresses
(``X-Forwarded-For``, which the server trusts from loopback), 2 000 more of ~8 KiB each (the
most a registration may hold), and 200 from one address; the
server's RSS before, at its peak (``VmHWM``, reset before each step) and after, Redis's
``used_memory``, and whether a person signed in before the flood still works after it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2

ITWIN = "2f4b8c1e-7a3d-4e59-b6c0-91d2e3f4a5b1"
PACKAGE = "SQL_CUSTOMERS_TABLE"
BLOCK = 64 * 1024
GZIP, ZLIB, RAW = zlib.MAX_WBITS | 16, zlib.MAX_WBITS, -15
SMALL = b'{"timers": []}'


def _zeros(size: int, wbits: int = GZIP) -> bytes:
    """``size`` zero bytes compressed (a bomb, ~1000:1), as ``tests.api.hostile.gzip_of_zeros``."""
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    zeros = bytes(1 << 20)
    parts = [packer.compress(zeros[: min(len(zeros), size - done)]) for done in range(0, size, len(zeros))]
    return b"".join([*parts, packer.flush()])


def _packed(data: bytes, wbits: int) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return packer.compress(data) + packer.flush()


def _details(count: int) -> bytes:
    items = ",".join(
        f'{{"code":"InvalidValue","message":"Value {n} is not valid.","target":"variables[{n}]"}}'
        for n in range(count)
    )
    return f'{{"error":{{"code":"InvalidRequest","message":"Bad.","details":[{items}]}}}}'.encode()


# The compressed answers of test_bounded_answers.py: case -> (Content-Encoding, body).
COMPRESSED: dict[str, Callable[[], tuple[str, bytes]]] = {
    "gzip-1GiB": lambda: ("gzip", _zeros(1 << 30)),
    "x-gzip-1GiB": lambda: ("x-gzip", _zeros(1 << 30)),
    "deflate-1GiB": lambda: ("deflate", _zeros(1 << 30, ZLIB)),
    "deflate-raw-1GiB": lambda: ("deflate", _zeros(1 << 30, RAW)),
    "gzip-2GiB": lambda: ("gzip", _zeros(2 << 30)),
    "gzip+gzip": lambda: ("gzip", _packed(b'{"timers": [', GZIP) + _packed(b"]}", GZIP)),
    "gzip+byte": lambda: ("gzip", _zeros(400_000) + b"x"),
    "gzip+cut-member": lambda: ("gzip", _zeros(400_000) + b"\x1f\x8b\x08\x00"),
    "gzip+garbage": lambda: ("gzip", _zeros(400_000) + b"not gzip at all"),
    "deflate+byte": lambda: ("deflate", _zeros(400_000, ZLIB) + b"x"),
    "deflate+deflate": lambda: ("deflate", _zeros(400_000, ZLIB) + _zeros(10, ZLIB)),
    "gzip-cut": lambda: ("gzip", _zeros(400_000)[:-4]),
}


# -- the hostile server ---------------------------------------------------------------------------


async def serve() -> None:
    made: dict[str, tuple[str, bytes]] = {}
    details = _details(200_000)
    counts: dict[str, int] = {}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            path = head.split(" ", 2)[1]
            length = next(
                (
                    int(line.split(":", 1)[1])
                    for line in head.split("\r\n")
                    if line.lower().startswith("content-length:")
                ),
                0,
            )
            await reader.readexactly(length)
            case = path.strip("/").split("/", 1)[0]
            if case == "stats":
                body = json.dumps(counts).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
                await writer.drain()
                return
            if case == "prepare":  # build a case's body before it is timed
                name = path.strip("/").split("/")[1]
                if name in COMPRESSED and name not in made:
                    made[name] = COMPRESSED[name]()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                return
            if not path.endswith("/small"):
                counts[case] = counts.get(case, 0) + 1

            def head_(status: int, headers: dict[str, str]) -> bytes:
                lines = [
                    f"HTTP/1.1 {status} X",
                    "Connection: close",
                    *(f"{k}: {v}" for k, v in headers.items()),
                ]
                return ("\r\n".join(lines) + "\r\n\r\n").encode()

            if path.endswith("/small"):  # the calls made alongside a case, on the same server
                writer.write(head_(200, {"Content-Length": str(len(SMALL))}) + SMALL)
            elif case in ("ra0", "ra-1", "ranan", "ra1e-3", "rapast"):
                value = {
                    "ra0": "0",
                    "ra-1": "-1",
                    "ranan": "NaN",
                    "ra1e-3": "1e-3",
                    "rapast": "Thu, 01 Jan 2015 00:00:00 GMT",
                }[case]
                body = b'{"error":{"code":"TooManyRequests","message":"Slow down."}}'
                writer.write(head_(429, {"Retry-After": value, "Content-Length": str(len(body))}) + body)
            elif case == "big500":
                writer.write(head_(200, {"Content-Length": str(500 << 20)}))
                for _ in range((500 << 20) // BLOCK):
                    writer.write(b"x" * BLOCK)
                    await writer.drain()
            elif case in ("endless", "nonjson200"):
                writer.write(head_(200, {"Transfer-Encoding": "chunked", "Content-Type": "application/json"}))
                block = b"%x\r\n" % BLOCK + b"<" * BLOCK + b"\r\n"
                for _ in range(10**9 if case == "endless" else (200 << 20) // BLOCK):
                    writer.write(block)
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
            elif case in COMPRESSED:
                if case not in made:
                    made[case] = COMPRESSED[case]()
                encoding, bomb = made[case]
                writer.write(
                    head_(200, {"Content-Encoding": encoding, "Content-Length": str(len(bomb))}) + bomb
                )
            elif case == "trickle":
                writer.write(head_(200, {"Content-Length": "1000"}))
                for _ in range(1000):
                    writer.write(b" ")
                    await writer.drain()
                    await asyncio.sleep(1)
            elif case == "details422":
                writer.write(head_(422, {"Content-Length": str(len(details))}) + details)
            else:  # small
                writer.write(head_(200, {"Content-Length": str(len(SMALL))}) + SMALL)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


# -- one case, in its own process -----------------------------------------------------------------


def rss_mb(pid: int | str = "self") -> float:
    """Resident set size now, MB."""
    with open(f"/proc/{pid}/statm") as statm:
        return round(int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


async def client_case(case: str, url: str, timeouts: float | None) -> dict[str, Any]:
    from edfs_mcp.api import EdfsClient, Timeouts
    from edfs_mcp.auth import StaticTokenSource
    from edfs_mcp.errors import EdfsMcpError
    from edfs_mcp.messages import describe

    t = (
        Timeouts(connect=10, read=60, long_read=600)
        if timeouts is None
        else Timeouts(timeouts, timeouts, timeouts)
    )

    def client(name: str) -> EdfsClient:
        return EdfsClient(
            api_base=f"{url}/{name}", tokens=StaticTokenSource("t"), timeouts=t, max_rate_limit_wait=60
        )

    result: dict[str, Any] = {}
    main = client(case)
    gc.collect()
    result["rss_before_mb"] = rss_mb()
    latencies: list[float] = []
    done = asyncio.Event()

    async def alongside() -> None:  # small calls by the same client, to the same server, meanwhile
        await asyncio.sleep(0.05)
        while not done.is_set() or not latencies:
            begun = time.monotonic()
            await _small(main)
            latencies.append(time.monotonic() - begun)
            await asyncio.sleep(0.05)

    task = asyncio.ensure_future(alongside())
    started = time.monotonic()
    try:
        if case == "details422" or case == "nonjson200":
            await main.execute_package(ITWIN, PACKAGE, [])
        else:
            await main.list_timers(ITWIN)
    except EdfsMcpError as exc:
        result["error"] = type(exc).__name__
        result["text"] = describe(exc)
    result["seconds"] = round(time.monotonic() - started, 2)
    done.set()
    await task
    await main.aclose()
    gc.collect()
    result["alongside"] = (len(latencies), round(statistics.median(latencies), 3), round(max(latencies), 3))
    result["rss_after_mb"] = rss_mb()
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


async def _small(client: Any) -> None:
    """One small call on ``client``'s connection pool, to the same server (its ``/small`` path)."""
    from edfs_mcp.errors import Operation

    await client._http.request(Operation("list_timers", "list timers"), "GET", "/small")


UPSTREAM_CASES: list[tuple[str, float | None]] = [
    *((name, None) for name in COMPRESSED),
    ("small", None),
    ("ra0", None),
    ("ra-1", None),
    ("ranan", None),
    ("ra1e-3", None),
    ("rapast", None),
    ("big500", None),
    ("endless", None),
    ("trickle", 3.0),
    ("nonjson200", None),
    ("details422", None),
]


def upstream() -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.hostile", "serve"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{server.stdout.readline().strip()}"
        print("\n## A hostile EDFS upstream (the client's process)\n")
        print(
            "| case | requests | time to answer (s) | calls alongside: n, median / max (s) "
            "| RSS before → after (MB) | peak RSS (MB) | outcome |\n|---|---|---|---|---|---|---|"
        )
        for case_name, case_timeouts in UPSTREAM_CASES:
            httpx2.get(f"{url}/prepare/{case_name}", timeout=600)
            out = subprocess.run(  # noqa: S603 - this module, fixed arguments
                [
                    sys.executable,
                    "-m",
                    "bench.hostile",
                    "case",
                    case_name,
                    url,
                    "-" if case_timeouts is None else str(case_timeouts),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(out.stdout)
            count = httpx2.get(f"{url}/stats").json().get(case_name, 0)
            outcome = result.get("error", "ok")
            if "text" in result:
                outcome += f"; message {len(result['text'])} chars"
            n, median, most = result["alongside"]
            print(
                f"| {case_name} | {count} | {result['seconds']} | {n}, {median} / {most} "
                f"| {result['rss_before_mb']} → {result['rss_after_mb']} | {result['peak_rss_mb']} "
                f"| {outcome} |",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait()


# -- the sign-in endpoints, in a real server process ----------------------------------------------


def _reset_peak(pid: int) -> None:
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS (Linux)


def _peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


class Watched:
    """A server process's RSS (and its Redis's used_memory) around one step."""

    def __init__(self, pid: int, redis_url: str | None) -> None:
        import redis

        self.pid = pid
        self.redis = redis.Redis.from_url(redis_url) if redis_url else None

    def redis_mb(self) -> float | None:
        if self.redis is None:
            return None
        return round(int(self.redis.info("memory")["used_memory"]) / 2**20, 2)

    @contextmanager
    def step(self, name: str, rows: list[str]) -> Iterator[dict[str, Any]]:
        time.sleep(0.5)
        before, redis_before = rss_mb(self.pid), self.redis_mb()
        _reset_peak(self.pid)
        notes: dict[str, Any] = {}
        started = time.monotonic()
        yield notes
        seconds = time.monotonic() - started
        peak = _peak_mb(self.pid)
        time.sleep(0.5)
        after, redis_after = rss_mb(self.pid), self.redis_mb()
        redis_cell = "—" if redis_before is None else f"{redis_before} → {redis_after}"
        what = notes.get("what", "")
        rows.append(f"| {name} | {seconds:.1f} | {before} | {peak} | {after} | {redis_cell} | {what} |")
        print(rows[-1], flush=True)


REGISTRATION = {
    "client_name": "Flood",
    "redirect_uris": ["http://127.0.0.1:5173/callback"],
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "token_endpoint_auth_method": "none",
}


# 14 contacts of 480 characters: a registration just under the 8 KiB it may have.
LARGE = {"contacts": [f"{n:02d}" + "c" * 470 + "@x.example" for n in range(14)]}


async def _flood(
    base: str, sources: list[str], concurrency: int = 20, extra: dict[str, Any] | None = None
) -> dict[int, int]:
    statuses: dict[int, int] = {}
    queue = list(enumerate(sources))

    async def worker(http: httpx2.AsyncClient) -> None:
        while queue:
            n, source = queue.pop()
            answer = await http.post(
                f"{base}/register",
                json={**REGISTRATION, "client_name": f"Flood {n}", **(extra or {})},
                headers={"X-Forwarded-For": source},
            )
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1

    async with httpx2.AsyncClient(timeout=30) as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
    return statuses


async def _consent_forms(base: str, times: int) -> dict[int | str, int]:
    """The red team's form: 999 fields of 1 000 KB (~1 GB), no cookie, no Origin, streamed; the
    server must refuse it after 64 KiB, so the client may see the connection close mid-send."""
    field = b"x" * 1_000_000

    async def chunks() -> Any:
        for n in range(999):
            yield (b"&" if n else b"") + f"f{n}=".encode()
            for start in range(0, len(field), 64 * 1024):
                yield field[start : start + 64 * 1024]

    statuses: dict[int | str, int] = {}
    async with httpx2.AsyncClient(timeout=60) as http:

        async def one() -> None:
            try:
                answer = await http.post(
                    f"{base}/consent",
                    content=chunks(),
                    headers={
                        "Content-Type": "application/x-www-form-urlencoded",
                        "Content-Length": str(999 * (len(field) + 5)),
                    },
                )
                outcome: int | str = answer.status_code
            except httpx2.TransportError as exc:  # refused and closed before the upload ended
                outcome = type(exc).__name__
            statuses[outcome] = statuses.get(outcome, 0) + 1

        await asyncio.gather(*(one() for _ in range(times)))
    return statuses


async def _signin_figures(kind: str, rows: list[str]) -> None:
    from edfs_mcp.sandbox import SandboxServer, seed
    from tests.harness import text_of
    from tests.remote.harness import Browser, MemoryTokens, oauth_env, signed_in
    from tests.scale.parts import redis_server, replica
    from tests.serving import free_port

    with contextlib.ExitStack() as stack, SandboxServer() as sandbox, tempfile.TemporaryDirectory() as tmp:
        redis_url = stack.enter_context(redis_server()).url if kind == "redis" else None
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        sandbox.accept_web_redirect(f"{base}/auth/callback")
        env = oauth_env(sandbox, base, **({"EDFS_MCP_REDIS_URL": redis_url} if redis_url else {}))
        solo = stack.enter_context(replica("bench", env, Path(tmp), port))
        watched = Watched(solo.process.pid, redis_url)
        browser, storage = Browser(seed.USER_ADMIN), MemoryTokens()
        async with signed_in(f"{base}/mcp", browser, storage=storage) as client:
            assert not (await client.call_tool("list_integration_packages", {})).is_error
            with watched.step(f"{kind}: 999 x 1000 KB consent form (~1 GB), 20 at once", rows) as notes:
                notes["what"] = f"answers {await _consent_forms(base, 20)}"
            sources = [f"10.{n // 65536}.{n // 256 % 256}.{n % 256}" for n in range(2000)]
            with watched.step(f"{kind}: 2 000 registrations, 2 000 addresses", rows) as notes:
                statuses = await _flood(base, sources)
                kept = ""
                if watched.redis is not None:
                    records = sum(1 for _ in watched.redis.scan_iter("edfs-mcp:client:*"))
                    kept = f"; client records in Redis {records}"
                notes["what"] = f"answers {statuses}{kept}"
            large = [f"10.9.{n // 256}.{n % 256}" for n in range(2000)]
            with watched.step(f"{kind}: 2 000 registrations of ~8 KiB, 2 000 addresses", rows) as notes:
                notes["what"] = f"answers {await _flood(base, large, extra=LARGE)}"
            with watched.step(f"{kind}: 200 registrations, one address", rows) as notes:
                notes["what"] = f"answers {await _flood(base, ['192.0.2.9'] * 200)}"
            begun = time.monotonic()
            result = await client.call_tool("list_timers", {"itwin_id": seed.ITWIN_NORTHGATE_BRIDGE})
            rows.append(
                f"| {kind}: the person signed in before the floods, a tool call after | "
                f"{time.monotonic() - begun:.2f} | | | | | "
                f"{'error: ' + text_of(result)[:80] if result.is_error else 'ok'} |"
            )
            print(rows[-1], flush=True)
        await browser.aclose()


def signin() -> None:
    print("\n## A hostile caller of the sign-in endpoints (the server's process)\n")
    print(
        "| step | seconds | RSS before (MB) | peak (MB) | after (MB) | Redis used_memory (MB) | outcome |\n"
        "|---|---|---|---|---|---|---|",
        flush=True,
    )
    rows: list[str] = []
    for kind in ("memory", "redis"):
        asyncio.run(_signin_figures(kind, rows))


def main() -> None:
    if sys.argv[1:2] == ["serve"]:
        asyncio.run(serve())
        return
    if sys.argv[1:2] == ["case"]:
        case, url, timeouts = sys.argv[2], sys.argv[3], sys.argv[4]
        print(json.dumps(asyncio.run(client_case(case, url, None if timeouts == "-" else float(timeouts)))))
        return
    parser = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["upstream", "signin"])
    only = parser.parse_args().only
    if only in (None, "upstream"):
        upstream()
    if only in (None, "signin"):
        signin()


if __name__ == "__main__":
    main()
