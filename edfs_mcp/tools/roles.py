"""Package roles: who may run a package on an iTwin (through iTwin roles), and giving or taking it."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import anyio
from mcp.server.mcpserver import ElicitationResult, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import AcceptedElicitation, Elicit
from mcp.types import CallToolResult
from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
)

from edfs_mcp import messages
from edfs_mcp.api import EdfsClient
from edfs_mcp.api.models import ITwinRole, PackageRole, RoleAssignment
from edfs_mcp.errors import EdfsMcpError, Forbidden, OutcomeUnknown, ServerError
from edfs_mcp.tools._annotations import DESTRUCTIVE_WRITE, READ_ONLY
from edfs_mcp.tools._args import GUID, ITwinId, UniqueName
from edfs_mcp.tools._base import ToolContext, ToolResult, ToolSpec, app, both, reply, waiter
from edfs_mcp.tools._client import elicitation
from edfs_mcp.tools._confirm import YesOrNo
from edfs_mcp.untrusted import UpstreamName, clean_text

__all__ = ["TOOLS", "exec_forbidden_text", "refusal_explained"]

T = TypeVar("T")

EXEC_ROLE = messages.EXEC_ROLE
MAX_ROLE_NAME = 256
# How long a refused run may spend finding out whether the caller could grant the role themselves.
GRANT_PROBE_SECONDS = 5.0


def _role_name(argument: str) -> AfterValidator:
    def validate(value: str) -> str:
        value = value.strip()
        if not value or len(value) > MAX_ROLE_NAME or not value.isprintable():
            raise ValueError(messages.not_a_role_name(argument, value))
        return value

    return AfterValidator(validate)


ITwinRoleName = Annotated[
    str,
    Field(description="iTwin role name, e.g. Viewer (any case)"),
    _role_name("itwin_role"),
]
PackageRoleName = Annotated[str, _role_name("package_role")]


class RoleHolding(BaseModel):
    itwin_role: UpstreamName
    itwin_role_id: str
    package_roles: list[UpstreamName]


class PackageRoles(ToolResult):
    itwin_id: str
    itwin_name: UpstreamName | None = None
    unique_name: str
    itwin_roles: list[RoleHolding]
    available_package_roles: list[UpstreamName]
    itwin_roles_note: str | None = None  # Access Control unreadable: only roles holding some are listed


def _holdings(roles: list[ITwinRole] | None, assignments: list[RoleAssignment]) -> list[RoleHolding]:
    """Every iTwin role with its package roles for the package; without Access Control, those holding any."""
    held = {a.itwin_role_id.lower(): a for a in assignments}
    names = {a.itwin_role_id.lower(): a.itwin_role_name for a in assignments}
    ids = [role.id.lower() for role in roles] if roles is not None else list(held)
    if roles is not None:
        names.update({role.id.lower(): role.display_name for role in roles})
        ids += [role_id for role_id in held if role_id not in ids]  # assigned, yet unknown to Access Control
    return [
        RoleHolding(
            itwin_role=names.get(role_id) or role_id,
            itwin_role_id=role_id,
            package_roles=[p.package_role_name or p.package_role_id for p in held[role_id].package_roles]
            if role_id in held
            else [],
        )
        for role_id in ids
    ]


async def list_package_roles(
    ctx: ToolContext, itwin_id: ITwinId, unique_name: UniqueName
) -> Annotated[CallToolResult, PackageRoles]:
    """Who may run a package on an iTwin: its iTwin roles and their package roles (Org Admins always may)."""
    client = app(ctx).client
    on_wait = waiter(ctx)
    assignments, name = await both(
        client.list_role_assignments(itwin_id, unique_name, on_wait=on_wait),
        client.itwin_name(itwin_id, on_wait=on_wait),
    )
    available = await client.list_package_roles(on_wait=on_wait)
    note = None
    try:
        roles: list[ITwinRole] | None = await client.list_itwin_roles(itwin_id, on_wait=on_wait)
    except EdfsMcpError as exc:
        roles, note = None, f"Only roles holding a package role are listed: {messages.describe(exc)}"
    holdings = _holdings(roles, assignments)
    result = PackageRoles(
        itwin_id=itwin_id,
        itwin_name=name,
        unique_name=unique_name,
        itwin_roles=holdings,
        available_package_roles=[role.name for role in available],
        itwin_roles_note=note,
    )
    holders = [(h.itwin_role, h.package_roles) for h in result.itwin_roles if h.package_roles]
    summary = messages.package_roles_summary(unique_name, messages.itwin_label(itwin_id, name), holders, note)
    return reply(result, summary)


# -- set_package_role -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """The iTwin role and package role meant, and the package roles that iTwin role holds now."""

    role_id: str
    role_name: str
    package_role_id: str
    package_role_name: str
    current: frozenset[str]  # package role IDs, lower case

    @property
    def holds(self) -> bool:
        return self.package_role_id in self.current


def _pick_itwin_role(roles: list[ITwinRole], wanted: str, itwin_id: str) -> ITwinRole:
    names = [clean_text(role.display_name or role.id, 100) for role in roles]
    if GUID.fullmatch(wanted):
        by_id = [role for role in roles if role.id.lower() == wanted.lower()]
        if by_id:
            return by_id[0]
    matches = [role for role in roles if role.display_name.casefold() == wanted.casefold()]
    if not matches:
        raise ToolError(messages.itwin_role_unknown(wanted, itwin_id, names))
    if len(matches) > 1:
        raise ToolError(messages.itwin_role_ambiguous(wanted, itwin_id, names))
    return matches[0]


def _pick_package_role(roles: list[PackageRole], wanted: str) -> PackageRole:
    matches = [role for role in roles if role.name.casefold() == wanted.casefold()]
    if len(matches) != 1:
        raise ToolError(messages.package_role_unknown(wanted, [clean_text(r.name, 100) for r in roles]))
    return matches[0]


def _held(assignments: list[RoleAssignment], role_id: str) -> frozenset[str]:
    return frozenset(
        p.package_role_id.lower()
        for a in assignments
        if a.itwin_role_id.lower() == role_id
        for p in a.package_roles
    )


async def _plan(
    client: EdfsClient, ctx: ToolContext, itwin_id: str, unique_name: str, itwin_role: str, package_role: str
) -> _Plan:
    on_wait = waiter(ctx)
    # The assignments first: they need the most (edfs_ilsmng + administration_manage_roles), so a caller
    # without them hears about the permission, not about a role name.
    assignments = await client.list_role_assignments(itwin_id, unique_name, on_wait=on_wait)
    role = _pick_itwin_role(await client.list_itwin_roles(itwin_id, on_wait=on_wait), itwin_role, itwin_id)
    package = _pick_package_role(await client.list_package_roles(on_wait=on_wait), package_role)
    role_id = role.id.lower()
    return _Plan(
        role_id=role_id,
        role_name=role.display_name or role.id,
        package_role_id=package.role_id.lower(),
        package_role_name=package.name,
        current=_held(assignments, role_id),
    )


async def _plan_named(
    client: EdfsClient, ctx: ToolContext, itwin_id: str, unique_name: str, itwin_role: str, package_role: str
) -> tuple[_Plan, str | None]:
    """The plan, and the iTwin's name for the result, read alongside it."""
    return await both(
        _plan(client, ctx, itwin_id, unique_name, itwin_role, package_role),
        client.itwin_name(itwin_id, on_wait=waiter(ctx)),
    )


class ConfirmRevoke(YesOrNo):
    revoke: bool = Field(False, description="Take this package role away from the iTwin role?")


@dataclass(frozen=True)
class _NoPrompt:
    """The resolver did not ask: a grant, nothing to take away, confirm given, or no way to ask."""

    plan: _Plan | None
    error: Exception | None = None
    itwin_name: str | None = None


async def _ask_before_revoke(
    ctx: ToolContext,
    itwin_id: str,
    unique_name: str,
    itwin_role: str,
    granted: bool,
    package_role: str,
    confirm: bool,
) -> Elicit[ConfirmRevoke] | ConfirmRevoke | _NoPrompt:
    if granted:
        return _NoPrompt(None)
    try:
        plan, name = await _plan_named(app(ctx).client, ctx, itwin_id, unique_name, itwin_role, package_role)
    except (EdfsMcpError, ToolError) as exc:
        return _NoPrompt(None, exc)
    if not plan.holds or confirm or not elicitation(ctx).form:
        return _NoPrompt(plan, itwin_name=name)
    question = messages.revoke_question(
        plan.role_name, plan.package_role_name, unique_name, messages.itwin_label(itwin_id, name)
    )
    return Elicit(question, ConfirmRevoke)


class PackageRoleChange(ToolResult):
    itwin_id: str
    itwin_name: UpstreamName | None = None
    unique_name: str
    itwin_role: UpstreamName
    package_role: UpstreamName
    granted: bool  # whether the iTwin role holds the package role now
    changed: bool


async def set_package_role(
    ctx: ToolContext,
    itwin_id: ITwinId,
    unique_name: UniqueName,
    itwin_role: ITwinRoleName,
    granted: Annotated[bool, Field(description="false takes it away (asks first)")],
    answer: Annotated[ElicitationResult[Any], Resolve(_ask_before_revoke)],
    package_role: PackageRoleName = EXEC_ROLE,
    confirm: Annotated[
        bool, Field(description="The user agreed to take it away (clients that cannot ask)")
    ] = False,
) -> Annotated[CallToolResult, PackageRoleChange]:
    """Give an iTwin role a package role for a package on an iTwin (default: the Exec role, to run it),
    or take it away. Reads first; writes only when needed."""
    client = app(ctx).client
    if not isinstance(answer, AcceptedElicitation):
        raise ToolError(messages.revoke_declined(itwin_role, answer.action))
    decision = answer.data
    if isinstance(decision, _NoPrompt):
        if decision.error is not None:
            raise decision.error
        if decision.plan is not None:
            plan, name = decision.plan, decision.itwin_name
        else:
            plan, name = await _plan_named(client, ctx, itwin_id, unique_name, itwin_role, package_role)
        if not granted and plan.holds and not confirm:
            raise ToolError(
                messages.revoke_needs_confirm(plan.role_name, plan.package_role_name, unique_name)
            )
    else:
        if decision.unclear:
            raise ToolError(messages.revoke_unclear(itwin_role))
        if not decision.revoke:
            raise ToolError(messages.revoke_declined(itwin_role, "decline"))
        # As it is now; the name was read (and remembered) when the user was asked.
        plan, name = await _plan_named(client, ctx, itwin_id, unique_name, itwin_role, package_role)
    where = (itwin_id, name)
    if plan.holds == granted:
        return _changed(plan, where, unique_name, granted, changed=False, lost=False)
    lost = await _write(client, ctx, plan, itwin_id, unique_name, granted)
    return _changed(plan, where, unique_name, granted, changed=True, lost=lost)


async def _write(
    client: EdfsClient, ctx: ToolContext, plan: _Plan, itwin_id: str, unique_name: str, granted: bool
) -> bool:
    """Make the change (4.18 to a role holding none, 4.19 to change, 4.20 when none is left); whether
    its answer was lost. Never re-sent: a lost answer is followed by reading the assignments back."""
    on_wait = waiter(ctx)
    wanted = plan.current | {plan.package_role_id} if granted else plan.current - {plan.package_role_id}
    try:
        if granted and not plan.current:
            after = await client.add_role_assignments(
                itwin_id, unique_name, {plan.role_id: [plan.package_role_id]}, on_wait=on_wait
            )
        elif wanted:
            after = await client.update_role_assignments(
                itwin_id, unique_name, {plan.role_id: sorted(wanted)}, on_wait=on_wait
            )
        else:
            after = await client.remove_role_assignments(
                itwin_id, unique_name, [plan.role_id], on_wait=on_wait
            )
    except (OutcomeUnknown, ServerError) as exc:
        try:
            now = _held(
                await client.list_role_assignments(itwin_id, unique_name, on_wait=on_wait), plan.role_id
            )
        except EdfsMcpError:
            raise ToolError(_unknown(exc, plan, unique_name, None)) from None
        if (plan.package_role_id in now) != granted:
            raise ToolError(_unknown(exc, plan, unique_name, not granted)) from None
        return True
    if (plan.package_role_id in _held(after, plan.role_id)) != granted:
        # The answer is assumed to be the whole list after the change (edfs-api.md 4.18); when it does
        # not show the change, the assignments as they are now decide.
        now = _held(await client.list_role_assignments(itwin_id, unique_name, on_wait=on_wait), plan.role_id)
        if (plan.package_role_id in now) != granted:
            raise ToolError(
                messages.role_raced(plan.role_name, plan.package_role_name, unique_name, not granted)
            )
    return False


def _unknown(exc: EdfsMcpError, plan: _Plan, unique_name: str, granted: bool | None) -> str:
    return messages.role_outcome_unknown(exc, plan.role_name, plan.package_role_name, unique_name, granted)


def _changed(
    plan: _Plan, itwin: tuple[str, str | None], unique_name: str, granted: bool, *, changed: bool, lost: bool
) -> CallToolResult:
    itwin_id, itwin_name = itwin
    result = PackageRoleChange(
        itwin_id=itwin_id,
        itwin_name=itwin_name,
        unique_name=unique_name,
        itwin_role=plan.role_name,
        package_role=plan.package_role_name,
        granted=granted,
        changed=changed,
    )
    where = messages.itwin_label(itwin_id, itwin_name)
    if changed:
        summary = messages.role_set(result.itwin_role, result.package_role, unique_name, where, granted, lost)
    else:
        summary = messages.role_already(result.itwin_role, result.package_role, unique_name, where, granted)
    return reply(result, summary)


# -- a refused run ----------------------------------------------------------------------------------


async def refusal_explained(ctx: ToolContext, itwin_id: str, unique_name: str, run: Awaitable[T]) -> T:
    """``run`` (a package run); refused with 403, a ToolError saying what is missing (exec_forbidden_text)."""
    try:
        return await run
    except Forbidden as refused:
        raise ToolError(await exec_forbidden_text(ctx, refused, itwin_id, unique_name)) from None


async def exec_forbidden_text(ctx: ToolContext, refused: Forbidden, itwin_id: str, unique_name: str) -> str:
    """What a 403 on a run says: what is missing, and whether the caller could give it themselves.

    The cheapest honest sign of that is whether they may read the package's role assignments here
    (4.17 needs what managing them needs, bar the role itself), asked once and within a bound."""
    can_grant = False
    with anyio.move_on_after(GRANT_PROBE_SECONDS):
        try:
            await app(ctx).client.list_role_assignments(itwin_id, unique_name, on_wait=waiter(ctx))
            can_grant = True
        except EdfsMcpError:
            pass
    return messages.exec_forbidden(messages.describe(refused), can_grant)


TOOLS = [
    ToolSpec(list_package_roles, "List package roles", READ_ONLY),
    ToolSpec(set_package_role, "Set package role", DESTRUCTIVE_WRITE),
]
