"""What the MCP client on the other end can do, decided once for every tool."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver import Context

__all__ = ["Elicitation", "elicitation"]


@dataclass(frozen=True)
class Elicitation:
    """The elicitation modes the client declared. An empty ``elicitation`` capability means form
    mode (what clients declared before URL mode existed)."""

    form: bool
    url: bool


def elicitation(ctx: Context[Any, Any]) -> Elicitation:
    capabilities = ctx.client_capabilities
    declared = capabilities.elicitation if capabilities is not None else None
    if declared is None:
        return Elicitation(form=False, url=False)
    return Elicitation(form=declared.form is not None or declared.url is None, url=declared.url is not None)
