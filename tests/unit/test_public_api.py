"""The public surface: every exception of the tree, plus the few entry points. Discovered, not copied."""

import pickle

import pytest

import edfs_mcp
from edfs_mcp import errors
from edfs_mcp.errors import EdfsMcpError, ErrorDetail, Operation

ENTRY_POINTS = {"EdfsClient", "Settings", "build_server", "__version__"}


def _tree() -> list[type[EdfsMcpError]]:
    """Every exception class drawn in errors.py, found by walking the tree from its root."""
    found: list[type[EdfsMcpError]] = []
    todo: list[type[EdfsMcpError]] = [EdfsMcpError]
    while todo:
        cls = todo.pop()
        if cls.__module__ == errors.__name__:
            found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_the_public_names_are_the_exception_tree_and_the_entry_points() -> None:
    assert edfs_mcp.__all__ == sorted(edfs_mcp.__all__)
    assert set(edfs_mcp.__all__) == {cls.__name__ for cls in _tree()} | ENTRY_POINTS
    for name in edfs_mcp.__all__:
        assert getattr(edfs_mcp, name) is not None


def test_every_exception_in_the_tree_is_drawn_in_its_docstring() -> None:
    drawing = errors.__doc__ or ""
    assert all(cls.__name__ in drawing for cls in _tree())


OPERATION = Operation("list_timers", "list timers", permission="edfs_listmng")
ARGUMENTS: dict[str, tuple[object, ...]] = {
    "ApiError": (422, OPERATION, "Code", "message", (ErrorDetail("InvalidValue", "bad", "iTwinId"),)),
    "NotSent": (OPERATION, "ConnectError", "api.example"),
    "OutcomeUnknown": (OPERATION, "ReadTimeout"),
    "AnswerRefused": (OPERATION, "EDFS_MCP_READ_TIMEOUT"),
    "ResponseTooLarge": (OPERATION, "EDFS_MCP_MAX_RESPONSE_BYTES", 1024),
    "DeadlineExceeded": (OPERATION, "EDFS_MCP_READ_TIMEOUT", 3.0),
}


def _example(cls: type[EdfsMcpError]) -> EdfsMcpError:
    for base in cls.__mro__:
        if base.__name__ in ARGUMENTS:
            return cls(*ARGUMENTS[base.__name__])
    return cls("a message")


@pytest.mark.parametrize("cls", _tree(), ids=lambda cls: cls.__name__)
def test_every_exception_is_hashable_and_survives_pickling(cls: type[EdfsMcpError]) -> None:
    error = _example(cls)
    assert hash(error) == hash(error) and {error: 1}[error] == 1
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes, made a line above
    assert type(copy) is cls and str(copy) == str(error) and vars(copy) == vars(error)
