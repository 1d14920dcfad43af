"""What each kind of tool promises a client: the MCP tool annotations, decided once for every tool.

A client uses these hints to decide what to run without asking (read-only), what it may repeat
(idempotent) and what to confirm first (destructive). Every tool takes one of these presets.
"""

from __future__ import annotations

from mcp.types import ToolAnnotations

__all__ = ["ADDITIVE_WRITE", "DESTRUCTIVE_WRITE", "IDEMPOTENT_WRITE", "READ_ONLY", "RUNS_A_PACKAGE"]

READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
# Reaches a stated end (a timer enabled, a role held) and only writes when needed: safe to repeat.
IDEMPOTENT_WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
# Adds something new (a timer, a system): repeating it adds another, or is refused as a duplicate.
ADDITIVE_WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)
# Takes something away that another call cannot give back as it was (a timer, a system), or stops
# people working (a package role taken away): asks first. Repeating it changes nothing more.
DESTRUCTIVE_WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)
# A run may write to the connected system (SAP, Maximo, SQL...): never assume it is safe to repeat.
RUNS_A_PACKAGE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True
)
