"""Figures for the hostile-upstream cases: requests per call, peak RSS, time to error.

    python -m tests.api.measure_hostile

Starts a hostile EDFS stand-in in its own process (asyncio, 127.0.0.1), then runs each case in a
fresh client process (an EdfsClient with the default settings unless the case says otherwise), so
the peak RSS printed is the client's alone. Real sleeps: the 429 cases take ~5 s each.
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import time
import zlib
from typing import Any

import httpx2

ITWIN = "2f4b8c1e-7a3d-4e59-b6c0-91d2e3f4a5b1"
PACKAGE = "SQL_CUSTOMERS_TABLE"
BLOCK = 64 * 1024


def _bomb(size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(1 << 20)
    return b"".join([*(packer.compress(zeros) for _ in range(size >> 20)), packer.flush()])


def _details(count: int) -> bytes:
    items = ",".join(
        f'{{"code":"InvalidValue","message":"Value {n} is not valid.","target":"variables[{n}]"}}'
        for n in range(count)
    )
    return f'{{"error":{{"code":"InvalidRequest","message":"Bad.","details":[{items}]}}}}'.encode()


# -- the hostile server ---------------------------------------------------------------------------


async def serve() -> None:
    bombs = {"bomb1g": _bomb(1 << 30), "bomb2g": _bomb(2 << 30)}
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
            counts[case] = counts.get(case, 0) + 1

            def head_(status: int, headers: dict[str, str]) -> bytes:
                lines = [
                    f"HTTP/1.1 {status} X",
                    "Connection: close",
                    *(f"{k}: {v}" for k, v in headers.items()),
                ]
                return ("\r\n".join(lines) + "\r\n\r\n").encode()

            if case.startswith("ra"):
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
            elif case in bombs:
                bomb = bombs[case]
                writer.write(
                    head_(200, {"Content-Encoding": "gzip", "Content-Length": str(len(bomb))}) + bomb
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
                writer.write(head_(200, {"Content-Length": "14"}) + b'{"timers": []}')
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
    started = time.monotonic()
    try:
        if case == "nonjson200":
            side = client("small")
            latencies: list[float] = []

            async def alongside() -> None:
                await asyncio.sleep(0.05)
                for _ in range(20):
                    begun = time.monotonic()
                    await side.list_timers(ITWIN)
                    latencies.append(time.monotonic() - begun)

            task = asyncio.ensure_future(alongside())
            try:
                await main.execute_package(ITWIN, PACKAGE, [])
            except EdfsMcpError as exc:
                result["error"] = type(exc).__name__
            await task
            await side.aclose()
            result["alongside_max_s"] = round(max(latencies), 3)
        elif case == "details422" or case.startswith("bomb") or case in ("big500", "endless"):
            await main.execute_package(
                ITWIN, PACKAGE, []
            ) if case == "details422" else await main.list_timers(ITWIN)
        else:
            await main.list_timers(ITWIN)
    except EdfsMcpError as exc:
        result["error"] = type(exc).__name__
        result["text"] = describe(exc)
    result["seconds"] = round(time.monotonic() - started, 2)
    await main.aclose()
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


CASES: list[tuple[str, float | None]] = [
    ("small", None),
    ("ra0", None),
    ("ra-1", None),
    ("ranan", None),
    ("ra1e-3", None),
    ("rapast", None),
    ("big500", None),
    ("endless", None),
    ("bomb1g", None),
    ("bomb2g", None),
    ("trickle", 3.0),
    ("nonjson200", None),
    ("details422", None),
]


def main() -> None:
    if sys.argv[1:2] == ["serve"]:
        asyncio.run(serve())
        return
    if sys.argv[1:2] == ["case"]:
        case, url, timeouts = sys.argv[2], sys.argv[3], sys.argv[4]
        print(json.dumps(asyncio.run(client_case(case, url, None if timeouts == "-" else float(timeouts)))))
        return
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.api.measure_hostile", "serve"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{server.stdout.readline().strip()}"
        print("| case | requests | seconds | peak RSS (MB) | outcome |\n|---|---|---|---|---|")
        for case_name, case_timeouts in CASES:
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "tests.api.measure_hostile",
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
            if "alongside_max_s" in result:
                outcome += f"; list_timers alongside: max {result['alongside_max_s']} s"
            if "text" in result:
                outcome += f"; message {len(result['text'])} chars"
            print(
                f"| {case_name} | {count} | {result['seconds']} | {result['peak_rss_mb']} | {outcome} |",
                flush=True,
            )
            if "text" in result and case_name in ("ranan", "details422", "trickle", "bomb1g"):
                print(f"|   | | | | `{result['text'][:300]}` |")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
