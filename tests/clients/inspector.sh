#!/usr/bin/env sh
# Drives `edfs-mcp serve --sandbox` over stdio with the MCP Inspector CLI (pinned in package.json;
# `npm ci` first). Prints "ok - ..." / "not ok - ..." per check, then "N passed, M failed";
# exits 1 when anything failed. edfs-mcp must be on PATH.
set -u
cd "$(dirname "$0")"

ITWIN=2f4b8c1e-7a3d-4e59-b6c0-91d2e3f4a5b1
out=$(mktemp)
trap 'rm -f "$out" "$out.why"' EXIT
passed=0
failed=0

# inspect EXPECTED_EXIT ARGS...: run the Inspector CLI, keep its stdout in $out.
inspect() {
  expected=$1
  shift
  npx --no-install @modelcontextprotocol/inspector --cli edfs-mcp serve --sandbox "$@" >"$out" 2>/dev/null
  code=$?
  if [ "$code" -ne "$expected" ]; then
    echo "inspector exited $code, expected $expected" >"$out.why"
    return 1
  fi
}

# verdict LABEL JS: JS is a predicate on `r`, the parsed JSON the Inspector printed.
verdict() {
  label=$1
  if [ ! -e "$out.why" ] && node -e "
    const r = JSON.parse(require('node:fs').readFileSync(process.argv[1], 'utf8'));
    process.exit(($2) ? 0 : 1);
  " "$out" 2>/dev/null; then
    passed=$((passed + 1))
    echo "ok - [inspector] $label"
  else
    failed=$((failed + 1))
    echo "not ok - [inspector] $label: $(cat "$out.why" 2>/dev/null) $(head -c 400 "$out")"
  fi
  rm -f "$out.why"
}

inspect 0 --method tools/list
verdict "tools/list has execute_integration_package and set_timer_enabled" \
  "['execute_integration_package', 'set_timer_enabled'].every((n) => r.tools.some((t) => t.name === n))"

inspect 0 --method tools/call --tool-name execute_integration_package \
  --tool-arg "itwin_id=$ITWIN" --tool-arg unique_name=SAP_WORK_ORDERS
verdict "tools/call execute_integration_package returns rows" \
  "r.isError !== true && r.structuredContent.unique_name === 'SAP_WORK_ORDERS' && r.structuredContent.row_count > 0"

# The Inspector exits 5 when the tool result has isError: true.
inspect 5 --method tools/call --tool-name get_integration_package --tool-arg unique_name=NO_SUCH_PACKAGE
verdict "an unknown package is a tool error naming list_integration_packages" \
  "r.isError === true && r.content.some((c) => c.type === 'text' && c.text.includes('list_integration_packages'))"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
