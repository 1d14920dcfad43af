"""Can a package run on an iTwin? The one check behind package details, package lists and timers.

EDFS refuses a run when a system the package requires is not configured on the iTwin. Reading
which systems exist needs the iTwin permission ``edfs_credmng``; an identity without it can often
still run packages, so "could not check" is reported in a short sentence, never as a failure.
Being able to list the systems also tells that the caller may add one (``set_up_system``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import anyio
from pydantic import BaseModel

from edfs_mcp import messages
from edfs_mcp.api import EdfsClient, WaitCallback
from edfs_mcp.api.models import PackageSystem, System
from edfs_mcp.errors import ApiError
from edfs_mcp.untrusted import UpstreamName

__all__ = ["Readiness", "SystemNeed", "readiness", "system_needs"]


class SystemNeed(BaseModel):
    system_id: UpstreamName
    system_type: UpstreamName
    required: bool
    configured: bool  # a system with this system_id exists in the iTwin


def system_needs(needed: Sequence[PackageSystem], configured: Sequence[System]) -> list[SystemNeed]:
    present = {system.system_id.casefold() for system in configured}
    return [
        SystemNeed(
            system_id=need.system_id,
            system_type=need.system_type,
            required=need.is_required,
            configured=need.system_id.casefold() in present,
        )
        for need in needed
    ]


@dataclass(frozen=True)
class Readiness:
    """``needs`` is None when they could not be read; ``note`` then says why, in one sentence."""

    needs: list[SystemNeed] | None
    note: str | None = None

    @property
    def missing(self) -> list[SystemNeed]:
        return [need for need in self.needs or [] if need.required and not need.configured]

    @property
    def can_run(self) -> bool | None:
        return None if self.needs is None else not self.missing


async def readiness(
    client: EdfsClient,
    itwin_id: str,
    unique_name: str,
    *,
    configured: Sequence[System] | None = None,
    on_wait: WaitCallback | None = None,
) -> Readiness:
    """The package's system needs on the iTwin, and which are configured. ``configured``: the
    iTwin's systems when the caller already has them (one list for many packages)."""
    needed: list[PackageSystem] = []
    systems: list[System] = list(configured or [])
    failures: list[ApiError] = []

    async def fetch_needed() -> None:
        try:
            needed.extend(await client.list_package_systems(itwin_id, unique_name, on_wait=on_wait))
        except ApiError as exc:
            failures.append(exc)

    async def fetch_configured() -> None:
        try:
            systems.extend(await client.list_systems(itwin_id, on_wait=on_wait))
        except ApiError as exc:
            failures.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(fetch_needed)
        if configured is None:
            group.start_soon(fetch_configured)
    if failures:
        return Readiness(None, messages.systems_unchecked(failures[0]))
    return Readiness(system_needs(needed, systems))
