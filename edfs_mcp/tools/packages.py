"""Package discovery: what the organization subscribes to, and what a package needs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import anyio
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from edfs_mcp import messages
from edfs_mcp.api.models import Package, example_variables
from edfs_mcp.errors import ApiError
from edfs_mcp.tabular import parse_json_payload
from edfs_mcp.tools._annotations import READ_ONLY
from edfs_mcp.tools._args import ITwinId, UniqueName
from edfs_mcp.tools._base import ToolContext, ToolResult, ToolSpec, app, both, reply, waiter
from edfs_mcp.tools._readiness import SystemNeed, readiness
from edfs_mcp.untrusted import UpstreamName, UpstreamText


class PackageSummary(BaseModel):
    unique_name: UpstreamName
    name: UpstreamName
    description: UpstreamText
    version: UpstreamName
    is_odata: bool = Field(description="Also queryable with query_odata")
    project_stage: UpstreamName | None = None


def _summary_fields(package: Package) -> dict[str, Any]:
    return {
        "unique_name": package.unique_name,
        "name": package.name,
        "description": package.description,
        "version": package.version,
        "is_odata": package.is_odata,
        "project_stage": package.project_stage,
    }


class ListedPackage(PackageSummary):
    can_run: bool | None = Field(
        None, description="With itwin_id: every required system is configured there; null if unknown"
    )
    missing_systems: list[str] | None = Field(None, description="With itwin_id: required systems it lacks")


class PackageList(ToolResult):
    itwin_id: str | None = None
    itwin_name: UpstreamName | None = None
    packages: list[ListedPackage]
    systems_note: str | None = Field(None, description="Why can_run is unknown, when it is")


# Package system lists fetched at once for one iTwin: enough to be quick, few enough to be polite.
SYSTEM_LOOKUPS_AT_ONCE = 8


async def _availability(ctx: ToolContext, itwin_id: str, listed: list[ListedPackage]) -> str | None:
    """Fill in can_run/missing_systems for ``itwin_id``; the reason if that could not be told."""
    client, on_wait = app(ctx).client, waiter(ctx)
    try:
        configured = await client.list_systems(itwin_id, on_wait=on_wait)
    except ApiError as exc:
        return messages.systems_unchecked(exc)
    limiter = anyio.CapacityLimiter(SYSTEM_LOOKUPS_AT_ONCE)
    notes: list[str] = []

    async def check(package: ListedPackage) -> None:
        async with limiter:
            ready = await readiness(
                client, itwin_id, package.unique_name, configured=configured, on_wait=on_wait
            )
        if ready.note is not None:
            notes.append(ready.note)
            return
        package.can_run = ready.can_run
        package.missing_systems = [f"{n.system_type} {n.system_id}" for n in ready.missing]

    async with anyio.create_task_group() as group:
        for package in listed:
            group.start_soon(check, package)
    return notes[0] if notes else None


async def list_integration_packages(
    ctx: ToolContext,
    itwin_id: Annotated[
        ITwinId | None, Field(description="Also tell which can run there and which systems each lacks")
    ] = None,
) -> Annotated[CallToolResult, PackageList]:
    """List the integration packages your organization subscribes to (unique names for the other tools).

    With itwin_id, also whether each can run in that iTwin, and which required systems it lacks there.
    """
    packages = await app(ctx).client.list_packages(on_wait=waiter(ctx))
    listed = [ListedPackage(**_summary_fields(p)) for p in packages]
    result = PackageList(itwin_id=itwin_id, packages=listed)
    where = None
    if itwin_id is not None:
        result.itwin_name = await app(ctx).client.itwin_name(itwin_id, on_wait=waiter(ctx))
        where = messages.itwin_label(itwin_id, result.itwin_name)
        if listed:
            result.systems_note = await _availability(ctx, itwin_id, listed)
    return reply(
        result, messages.packages_summary(where, [(p.unique_name, p.missing_systems) for p in listed])
    )


class InputVariable(BaseModel):
    name: UpstreamName
    example_value: UpstreamText


class PackageInfo(ToolResult, PackageSummary):
    last_change: datetime | None = None
    variables: list[InputVariable]
    response_columns: list[str] = Field(description="Columns of the documented response example")
    response_example_row: dict[str, Any] | None = None
    itwin_id: str | None = None
    itwin_name: UpstreamName | None = None
    systems: list[SystemNeed] | None = Field(None, description="With itwin_id: external systems it needs")
    systems_note: str | None = None


async def get_integration_package(
    ctx: ToolContext,
    unique_name: UniqueName,
    itwin_id: Annotated[
        ITwinId | None, Field(description="Also check the systems it needs in this iTwin")
    ] = None,
) -> Annotated[CallToolResult, PackageInfo]:
    """Details of one package: its input variables (with examples) and response columns.

    With itwin_id, also the external systems it needs and whether each is configured there.
    """
    client = app(ctx).client
    on_wait = waiter(ctx)
    details = await client.get_package(unique_name, on_wait=on_wait)
    variables, _ = example_variables(details.input_example)
    try:
        sample = parse_json_payload(details.response_example).rows[:1] if details.response_example else []
    except ValueError:
        sample = []
    info = PackageInfo(
        **_summary_fields(details),
        last_change=details.last_change,
        variables=[InputVariable(name=v.name, example_value=v.value) for v in variables],
        response_columns=list(sample[0]) if sample else [],
        response_example_row=sample[0] if sample else None,
        itwin_id=itwin_id,
    )
    if itwin_id is not None:
        # The package details stand on their own; when the systems cannot be read, the note says why.
        ready, info.itwin_name = await both(
            readiness(client, itwin_id, unique_name, on_wait=on_wait),
            client.itwin_name(itwin_id, on_wait=on_wait),
        )
        info.systems, info.systems_note = ready.needs, ready.note
    return reply(info, _package_text(info))


def _package_text(info: PackageInfo) -> str:
    missing = [(s.system_type, s.system_id) for s in info.systems or [] if s.required and not s.configured]
    return messages.package_summary(
        info.unique_name,
        info.name,
        [v.name for v in info.variables],
        checked=info.systems is not None,
        missing=missing,
        note=info.systems_note is not None,
    )


TOOLS = [
    ToolSpec(list_integration_packages, "List integration packages", READ_ONLY),
    ToolSpec(get_integration_package, "Get integration package", READ_ONLY),
]
