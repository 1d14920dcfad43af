"""Walk the error-code catalogue of docs/edfs-api.md §6: every code this server can meet
renders a message with its cause (status + code) and a next step."""

import re
from pathlib import Path

import pytest

from edfs_mcp.api import client
from edfs_mcp.errors import ErrorDetail, Operation, api_error_class
from edfs_mcp.messages import describe
from edfs_mcp.tools import all_tools

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "edfs-api.md"

# The operations (§ numbers) this server calls, and the client's Operation for each.
CALLED = {
    "4.1": client.LIST_PACKAGES,
    "4.2": client.GET_PACKAGE,
    "4.3": client.EXECUTE,
    "4.4": client.LIST_PACKAGE_SYSTEMS,
    "4.6": client.LIST_ENTITY_SETS,
    "4.8": client.QUERY_ENTITY_SET,
    "4.9": client.LIST_SYSTEMS,
    "4.12": client.LIST_TIMERS,
    "4.13": client.CREATE_TIMER,
    "4.14": client.DELETE_TIMER,
    "4.15": client.TOGGLE_TIMER,
}
ROW = re.compile(r"^\| (\d{3}) \| (?:\*\*assumed\*\* )?`(\w+)` \| (.*?) \| (.*?) \|$")
TOOL_NAMES = {spec.name for spec in all_tools()}
USER_ACTIONS = ("Ask ", "Wait ", "Try again", "renew", "call the tool again")


def catalogue() -> list[tuple[int, str, str, Operation]]:
    if not REFERENCE.exists():
        pytest.fail(f"the API reference is missing: {REFERENCE}")
    text = REFERENCE.read_text().split("## 6. Error-code catalogue", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in text.splitlines():
        match = ROW.match(line.strip())
        if not match:
            continue
        status, code, message, where = match.groups()
        sections = re.findall(r"4\.\d+", where)
        operations = [CALLED[s] for s in sections if s in CALLED]
        if not sections or where.startswith("all") or "elsewhere" in where:
            # Codes any operation can meet: checked on a read.
            operations = operations or [client.LIST_TIMERS]
        for operation in operations:
            rows.append((int(status), code, message, operation))
    return rows


CASES = catalogue()


def test_the_catalogue_was_read() -> None:
    codes = {code for _, code, _, _ in CASES}
    assert {
        "HeaderNotFound",
        "InsufficientPermissions",
        "PackageNotFound",
        "TimerNotFound",
        "InvalidTimerRequest",
        "RateLimitExceeded",
        "TooManyRequests",
    } <= codes


@pytest.mark.parametrize(
    ("status", "code", "message", "operation"), CASES, ids=lambda v: str(getattr(v, "key", v))[:20]
)
def test_each_code_renders_cause_and_next_step(
    status: int, code: str, message: str, operation: Operation
) -> None:
    details = (
        (ErrorDetail("InvalidValue", "Provided iTwin ID value is not valid.", "iTwinId"),)
        if status == 422
        else ()
    )
    error = api_error_class(status)(
        status=status,
        operation=operation,
        code=code,
        message=message,
        details=details,
        retry_after=5 if status == 429 else None,
        path_params={"iTwinId": "x", "uniqueName": "PKG", "timerId": "t"},
    )
    text = describe(error)
    assert f"HTTP {status} {code}" in text, text
    assert operation.name in text
    names_a_tool = any(re.search(rf"\b{name}\b", text) for name in TOOL_NAMES)
    assert names_a_tool or any(action in text for action in USER_ACTIONS), f"no next step: {text}"


def permissions() -> dict[str, tuple[str, str | None]]:
    """§2: each operation (§ number) → "level:permission", and the package role carrying it, if any."""
    text = REFERENCE.read_text().split("## 2. Permissions", 1)[1].split("\n## ", 1)[0]
    found: dict[str, tuple[str, str | None]] = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        names, level, where = cells
        permission = re.findall(r"`(\w+)`", names)[0]
        role = re.search(r'package role "([^"]+)"', names)
        for first, last in re.findall(r"4\.(\d+)(?:\u20134\.(\d+))?", where):
            for number in range(int(first), int(last or first) + 1):
                found[f"4.{number}"] = (f"{level}:{permission}", role.group(1) if role else None)
    return found


@pytest.mark.parametrize("section", sorted(CALLED))
def test_each_403_names_the_right_kind_of_grant(section: str) -> None:
    level_permission, role = permissions()[section]
    level, permission = level_permission.split(":")
    operation = CALLED[section]
    assert operation.permission == permission, f"§{section} needs {permission}"
    text = describe(api_error_class(403)(status=403, operation=operation, code="InsufficientPermissions"))
    if role is not None:
        assert f'package role "{role}" (permission {permission})' in text, text
    elif level == "Organization":
        assert f"organization permission {permission}" in text and "package role" not in text, text
    else:
        assert f"iTwin permission {permission}" in text and "package role" not in text, text
    assert "Organization Administrator" in text, text
