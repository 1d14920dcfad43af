"""The answer to a stdio line that is not a JSON-RPC message (JSON-RPC 2.0 §5.1: id null)."""

import pytest
from mcp.types import INVALID_REQUEST, PARSE_ERROR, jsonrpc_message_adapter
from pydantic import ValidationError

from edfs_mcp.stdio import answer_to_bad_line


def _rejection(line: str) -> ValidationError:
    """What the SDK's stdio transport hands the server for ``line``."""
    with pytest.raises(ValidationError) as caught:
        jsonrpc_message_adapter.validate_json(line, by_name=False)
    return caught.value


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("garbage\n", PARSE_ERROR),
        ('{"jsonrpc": "2.0", "id": 1, "method": "ping"\n', PARSE_ERROR),  # cut short
        ('{"hello": "world"}\n', INVALID_REQUEST),
        ("[1, 2]\n", INVALID_REQUEST),
        ('{"jsonrpc": "2.0", "method": 1}\n', INVALID_REQUEST),
    ],
)
def test_a_bad_line_is_answered_with_id_null(line: str, code: int) -> None:
    answer = answer_to_bad_line(_rejection(line))
    assert answer is not None
    assert answer.model_dump(by_alias=True, exclude_unset=True)["id"] is None
    assert answer.error.code == code
    assert answer.error.message.startswith("Parse error" if code == PARSE_ERROR else "Invalid Request")


@pytest.mark.parametrize("line", ["\n", "   \n", "\t\n"])
def test_a_blank_line_is_not_answered(line: str) -> None:
    assert answer_to_bad_line(_rejection(line)) is None
