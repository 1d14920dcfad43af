#!/usr/bin/env sh
# Register edfs-mcp with Claude Code for your user. The EDFS_MCP_* settings exported in this shell
# are passed on with --env; with no credentials the server runs on its built-in sandbox.
#
#   sh claude-code.sh               the published package: uvx edfs-mcp serve
#   sh claude-code.sh --from-clone  this clone, with uv: uvx --from <clone> edfs-mcp serve
#   sh claude-code.sh --venv        the edfs-mcp on your PATH (pip install -e .), by absolute path
#
# (The server name comes before --env: `claude mcp add` reads --env greedily.)
set -eu
mode=${1:-}
case "$mode" in
  "" | --from-clone | --venv) ;;
  *) echo "usage: sh claude-code.sh [--from-clone | --venv]" >&2; exit 2 ;;
esac
set --
# Every exported EDFS_MCP_* name, sorted. A name is [A-Za-z0-9_]*, so the eval only reads a variable;
# a value with a newline then NAME= in it can only add a name unset here (skipped) or exported anyway.
for name in $(env | sed -n 's/^\(EDFS_MCP_[A-Za-z0-9_]*\)=.*/\1/p' | LC_ALL=C sort -u); do
  eval "value=\${$name:-}"
  if [ -n "$value" ]; then
    set -- "$@" --env "$name=$value"
  fi
done
case "$mode" in
  "") set -- "$@" -- uvx edfs-mcp serve ;;
  --from-clone)
    clone=$(cd "$(dirname "$0")/../.." && pwd)
    set -- "$@" -- uvx --from "$clone" edfs-mcp serve ;;
  --venv)
    if ! script=$(command -v edfs-mcp); then
      echo "claude-code.sh: no edfs-mcp on PATH; activate the virtual environment it is installed in" >&2
      exit 2
    fi
    set -- "$@" -- "$script" serve ;;
esac
exec claude mcp add edfs --transport stdio --scope user "$@"
