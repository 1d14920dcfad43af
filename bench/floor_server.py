"""The SDK floor: the smallest MCPServer, one trivial tool, served over stdio like edfs-mcp.

Logging as edfs-mcp's default (WARNING), so neither pays for log lines the other does not write.
"""

from mcp.server import MCPServer

server = MCPServer("sdk-floor", log_level="WARNING")


@server.tool()
def echo(text: str) -> str:
    """Return ``text`` unchanged."""
    return text


if __name__ == "__main__":
    server.run("stdio")
