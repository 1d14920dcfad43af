#!/usr/bin/env sh
# Register edfs-mcp with Claude Code for your user. The EDFS_MCP_* settings exported in this shell
# are passed on with --env; with no credentials the server runs on its built-in sandbox.
# (The server name comes before --env: `claude mcp add` reads --env greedily.)
set -eu
set --
for name in EDFS_MCP_CLIENT_ID EDFS_MCP_CLIENT_SECRET EDFS_MCP_ACCESS_TOKEN \
    EDFS_MCP_API_BASE EDFS_MCP_AUTHORITY EDFS_MCP_READ_ONLY; do
  eval "value=\${$name:-}"
  if [ -n "$value" ]; then
    set -- "$@" --env "$name=$value"
  fi
done
claude mcp add edfs --transport stdio --scope user "$@" -- uvx edfs-mcp serve
