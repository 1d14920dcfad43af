"""`edfs-mcp serve` on stdio, a real process, answers a line that is not a JSON-RPC message with the
JSON-RPC error (id null) and goes on serving the next request."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.harness import clean_env
from tests.serving import INITIALIZE

pytestmark = pytest.mark.real_process


def _answer(process: subprocess.Popen[str], line: str) -> dict[str, Any]:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(line + "\n")
    process.stdin.flush()
    answer = process.stdout.readline()
    assert answer, "the server sent nothing back"
    parsed: dict[str, Any] = json.loads(answer)
    return parsed


def test_a_bad_line_gets_the_json_rpc_error_and_the_next_request_its_answer() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "edfs_mcp", "serve", "--sandbox"],
        env=clean_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _answer(process, "this is not json") == {
            "jsonrpc": "2.0",
            "id": None,
            "error": {"code": -32700, "message": "Parse error: the line is not JSON"},
        }
        initialized = _answer(process, json.dumps(INITIALIZE))
        assert initialized["id"] == INITIALIZE["id"] and initialized["result"]["serverInfo"]["name"]
        # a blank line is no message: no answer; JSON that is no message: Invalid Request
        invalid = _answer(process, '\n{"hello": "world"}')
        assert invalid["id"] is None and invalid["error"]["code"] == -32600
        assert _answer(process, json.dumps({"jsonrpc": "2.0", "id": 2, "method": "ping"})) == {
            "jsonrpc": "2.0",
            "id": 2,
            "result": {},
        }
        assert process.stdin is not None
        process.stdin.close()
        assert process.wait(timeout=30) == 0
        assert process.stderr is not None
        assert "stdio: a line that is no message, answered: Parse error" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
