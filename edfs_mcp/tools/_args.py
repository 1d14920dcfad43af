"""Argument types shared by the tools, validated before any request is made.

Each rejection names the argument and says where a valid value comes from.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from edfs_mcp import messages

__all__ = [
    "Cron",
    "ITwinId",
    "TimerId",
    "UniqueName",
    "VariableValue",
    "Variables",
    "check_guid",
    "check_unique_name",
]

GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# The API's unique-name character set (edfs-api.md §8).
UNIQUE_NAME = re.compile(r"[A-Za-z0-9_.-]+")
MAX_UNIQUE_NAME = 128
MAX_VARIABLE_NAME = 128
UUID_FORMAT: dict[str, Any] = {"format": "uuid"}


def check_guid(argument: str) -> AfterValidator:
    def validate(value: str) -> str:
        value = value.strip()
        if not GUID.fullmatch(value):
            raise ValueError(messages.not_a_guid(argument, value))
        return value.lower()

    return AfterValidator(validate)


def check_unique_name(value: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_UNIQUE_NAME or not UNIQUE_NAME.fullmatch(value) or value in (".", ".."):
        raise ValueError(messages.not_a_unique_name(value))
    return value


def check_cron(value: str) -> str:
    """The EDFS rule (edfs_mcp.cron), the same the sandbox applies: refused here, never sent."""
    from edfs_mcp.cron import problem

    value = " ".join(value.split())
    refusal = problem(value)
    if refusal is not None:
        raise ValueError(refusal)
    return value


def _stringify(value: object) -> object:
    # Package variables are strings on the wire; accept the obvious scalars a model may send.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


ITwinId = Annotated[
    str,
    Field(description="iTwin ID; see find_itwins", json_schema_extra=UUID_FORMAT),
    check_guid("itwin_id"),
]
TimerId = Annotated[
    str,
    Field(description="Timer ID; see list_timers", json_schema_extra=UUID_FORMAT),
    check_guid("timer_id"),
]
UniqueName = Annotated[
    str,
    Field(description="Package unique name, e.g. SAP_WORK_ORDERS", max_length=MAX_UNIQUE_NAME),
    AfterValidator(check_unique_name),
]
Cron = Annotated[
    str,
    Field(description="5-field cron in UTC: 'minute hour day-of-month month day-of-week'", max_length=200),
    AfterValidator(check_cron),
]


def check_variable_name(value: str) -> str:
    if not value.strip() or not value.isprintable():
        raise ValueError(messages.not_a_variable_name(value))
    return value


VariableName = Annotated[str, Field(max_length=MAX_VARIABLE_NAME), AfterValidator(check_variable_name)]
VariableValue = Annotated[str, BeforeValidator(_stringify), Field(max_length=10_000)]
# Package input variables (execute) and timer parameters: name -> value, bounded in count and size.
Variables = Annotated[
    dict[VariableName, VariableValue],
    Field(description="Package input variables, name -> value (see get_integration_package)", max_length=100),
]
