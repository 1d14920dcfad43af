"""The public surface: every exception of the tree, plus the few entry points. Discovered, not copied."""

import importlib
import pickle
import pkgutil

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


def _drawn() -> dict[str, str]:
    """The tree drawn in errors.py's docstring: each class's name -> its parent's name."""
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []  # (column of the name, name) from the root down
    for line in (errors.__doc__ or "").splitlines():
        stripped = line.strip()
        if stripped == "EdfsMcpError":
            stack = [(line.index("E"), "EdfsMcpError")]
            continue
        if "── " not in line or not stack:
            continue
        column = line.index("── ") + 3
        name = line[column:].split()[0]
        while stack and stack[-1][0] >= column:
            stack.pop()
        parents[name] = stack[-1][1]
        stack.append((column, name))
    return parents


def _package_exceptions() -> list[type[BaseException]]:
    """Every public exception class defined in a module of edfs_mcp (the sandbox, an emulator of EDFS,
    aside). Private ``_`` classes are one module's control flow and never leave it."""
    found: list[type[BaseException]] = []
    for module in pkgutil.walk_packages(edfs_mcp.__path__, "edfs_mcp."):
        if module.name.startswith("edfs_mcp.sandbox") or module.name.endswith("__main__"):
            continue
        loaded = importlib.import_module(module.name)
        found.extend(
            cls
            for name, cls in vars(loaded).items()
            if isinstance(cls, type)
            and issubclass(cls, BaseException)
            and cls.__module__ == loaded.__name__
            and not name.startswith("_")
        )
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


def test_the_walk_finds_exceptions_beyond_errors_py() -> None:
    names = {cls.__name__ for cls in _package_exceptions()}
    assert {"SqlFailed", "ResultGone", "CronError", "CannotListen", "StateStoreUnavailable"} <= names
    assert len(names) > len(_tree())


@pytest.mark.parametrize(
    "cls", [cls for cls in _package_exceptions() if cls is not EdfsMcpError], ids=lambda cls: cls.__name__
)
def test_every_exception_of_the_package_is_in_the_drawn_tree(cls: type[BaseException]) -> None:
    assert issubclass(cls, EdfsMcpError), f"{cls.__module__}.{cls.__name__} is outside the tree"
    drawn = _drawn()
    assert cls.__name__ in drawn, f"{cls.__name__} is not drawn in errors.py's docstring"
    parent = next(base for base in cls.__bases__ if issubclass(base, EdfsMcpError))
    assert drawn[cls.__name__] == parent.__name__, f"drawn under {drawn[cls.__name__]}, derives from {parent}"


def test_everything_drawn_exists() -> None:
    assert set(_drawn()) == {cls.__name__ for cls in _package_exceptions()} - {"EdfsMcpError"}


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
