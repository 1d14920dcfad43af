"""``python -m bench.cold_start [CLONE ...]``: a person's first start, ``uvx --from <clone> edfs-mcp serve``.

Each clone is started with an empty uv cache of its own, so the time to the ``initialize`` answer
includes resolving, downloading and installing every wheel (what the issue calls the cold start), and
then once more with that cache filled (the warm start). It also prints the MB of wheels the install
downloads. Without arguments it measures this checkout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import ROOT

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "bench", "version": "1"},
    },
}
TIMEOUT_SECONDS = 300.0


def time_to_initialize(clone: Path, cache: Path) -> float:
    """Seconds from spawning ``uvx`` to the ``initialize`` answer on its stdout."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("EDFS_MCP_")}
    environment["UV_CACHE_DIR"] = str(cache)
    # A fresh HOME too, so nothing of the person's (a token file, uv's settings) takes part.
    environment["HOME"] = str(cache.parent)
    start = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 - the bench's own command line
        ["uvx", "--from", str(clone), "edfs-mcp", "serve"],  # noqa: S607 - uvx from PATH is the point
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=environment,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write((json.dumps(INITIALIZE) + "\n").encode())
        process.stdin.flush()
        while time.perf_counter() - start < TIMEOUT_SECONDS:
            line = process.stdout.readline()
            if not line:
                raise RuntimeError(f"edfs-mcp from {clone} ended before answering initialize")
            if json.loads(line).get("id") == 1:
                return time.perf_counter() - start
        raise RuntimeError(f"no initialize answer within {TIMEOUT_SECONDS:.0f} s")
    finally:
        process.kill()
        process.wait()


def download_mb(clone: Path, scratch: Path) -> float:
    """MB of the wheels ``pip install <clone>`` downloads on this platform, edfs-mcp's own excluded
    (uv's cache keeps wheels unpacked, so their download size is taken with ``pip download``)."""
    wheels = scratch / "wheels"
    subprocess.run(  # noqa: S603 - the bench's own command line
        [sys.executable, "-m", "pip", "download", "-q", "--dest", str(wheels), str(clone)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    found = [path for path in wheels.iterdir() if not path.name.startswith("edfs_mcp")]
    return sum(path.stat().st_size for path in found) / 1e6


def main(clones: list[Path]) -> None:
    for clone in clones:
        with tempfile.TemporaryDirectory(prefix="edfs-mcp-cold-") as scratch:
            cache = Path(scratch) / "uv-cache"
            cold = time_to_initialize(clone, cache)
            warm = time_to_initialize(clone, cache)
            print(
                f"{clone}: cold start to initialize {cold:.1f} s, warm {warm:.1f} s, "
                f"wheels downloaded {download_mb(clone, Path(scratch)):.1f} MB",
                flush=True,
            )


if __name__ == "__main__":
    main([Path(argument) for argument in sys.argv[1:]] or [ROOT])
