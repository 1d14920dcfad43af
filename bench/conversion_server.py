"""The generic OpenAPI → MCP conversion, the baseline of the HTTP figures: ``FastMCP.from_openapi`` over
``bench/openapi.json`` (the iTwins and EDFS operations edfs-mcp calls), served over streamable HTTP.

``python bench/conversion_server.py PORT API_BASE`` with the sandbox's access token in ``BENCH_TOKEN``
(not on the command line); every request carries it and the Accept header EDFS asks for. Installed by
the ``bench`` extra (``pip install -e ".[bench]"``).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import httpx2
from fastmcp import FastMCP

ACCEPT = "application/vnd.bentley.itwin-platform.v1+json"
SPEC = Path(__file__).with_name("openapi.json")


def main() -> None:
    port, base = int(sys.argv[1]), sys.argv[2]
    logging.basicConfig(level=logging.WARNING)
    client = httpx2.AsyncClient(
        base_url=base,
        headers={"Authorization": f"Bearer {os.environ['BENCH_TOKEN']}", "Accept": ACCEPT},
        timeout=60,
    )
    spec = json.loads(SPEC.read_text())
    server = FastMCP.from_openapi(spec, client=client, name="EDFS (generic conversion)")
    server.run(transport="http", host="127.0.0.1", port=port, show_banner=False, log_level="warning")


if __name__ == "__main__":
    main()
