"""The SDK floor: the smallest MCPServer, one trivial tool, served over stdio like edfs-mcp
(``python bench/floor_server.py``), or over streamable HTTP on 127.0.0.1 (``... PORT``).

Logging as edfs-mcp's default (WARNING), so neither pays for log lines the other does not write.
"""

import sys

from mcp.server import MCPServer

server = MCPServer("sdk-floor", log_level="WARNING")


@server.tool()
def echo(text: str) -> str:
    """Return ``text`` unchanged."""
    return text


if __name__ == "__main__":
    if len(sys.argv) > 1:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[1]))
    else:
        server.run("stdio")
