"""A diagnostic baseline: the SDK floor whose one tool makes the raw execute POST, and nothing else.

No edfs-mcp code runs: it shows what calling HTTP from inside any SDK tool costs, so the rest of
edfs-mcp's per-call time is its own. Environment: BENCH_BASE_URL, BENCH_PATH, BENCH_TOKEN.
"""

import os

import httpx2
from mcp.server import MCPServer

ACCEPT = "application/vnd.bentley.itwin-platform.v1+json"
server = MCPServer("sdk-floor-http", log_level="WARNING")
http = httpx2.AsyncClient(
    base_url=os.environ["BENCH_BASE_URL"],
    headers={"Accept": ACCEPT, "Authorization": f"Bearer {os.environ['BENCH_TOKEN']}"},
)


@server.tool()
async def post() -> str:
    """POST the execute body; return the HTTP status."""
    response = await http.post(os.environ["BENCH_PATH"], json={"variables": [], "returnAsXml": False})
    response.raise_for_status()
    return str(response.status_code)


if __name__ == "__main__":
    server.run("stdio")
