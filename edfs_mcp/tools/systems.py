"""Systems: the external systems (SAP, SQL, Maximo...) an iTwin's packages read through, with
credentials that never touch the model.

``set_up_system`` is told only *which* system (package, systemId, display name, prefilled values
that are not secret). The person types the credentials into a page edfs-mcp serves
(``edfs_mcp.system_page``: on 127.0.0.1 locally, under the public URL in the team deployment);
the page creates the system and the tool reports what was created, never a value.

How the tool learns the outcome, and why:

- A client with URL-mode elicitation shows the page itself (pushed with ``elicitation/create`` on
  2025-11-25, returned as an input-required result on 2026-07-28), so the link never enters the
  model's context. The call then *waits* for the submit, up to the form's 10 minutes, with progress
  notifications: the model gets one definite answer (created, refused and why, declined, expired)
  from one call, and has nothing to poll or remember.
- Any other client gets a result saying ``pending`` with the link for the model to show the person;
  a call cannot wait for what the model has not yet shown. Calling ``set_up_system`` again with the
  same arguments reports the outcome (or the same link while the form is open), so the model needs
  no new tool or id; ``list_systems`` shows the system too.

Long because ``set_up_system`` has both ways of learning the outcome above (URL elicitation that
waits, a pending link for other clients), beside listing and deleting with a confirmation; the page
itself is ``system_page``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import ElicitationResult, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import AcceptedElicitation, Elicit
from mcp.types import (
    CallToolResult,
    ElicitRequest,
    ElicitRequestURLParams,
    ElicitResult,
    InputRequiredResult,
)
from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
)

from edfs_mcp import messages
from edfs_mcp.api import EdfsClient
from edfs_mcp.api.models import System
from edfs_mcp.errors import EdfsMcpError, OutcomeUnknown, ServerError
from edfs_mcp.tools._annotations import ADDITIVE_WRITE, DESTRUCTIVE_WRITE, READ_ONLY
from edfs_mcp.tools._args import GUID, UNIQUE_NAME, ITwinId, UniqueName, VariableName, VariableValue
from edfs_mcp.tools._base import (
    ToolContext,
    ToolResult,
    ToolSpec,
    _person,
    app,
    both,
    principal,
    reply,
    waiter,
)
from edfs_mcp.tools._client import elicitation
from edfs_mcp.tools._confirm import YesOrNo
from edfs_mcp.tools._readiness import system_needs
from edfs_mcp.untrusted import UpstreamName

logger = logging.getLogger("edfs_mcp.tools")

SETUP_KEY = "edfs_system_setup"
MODERN_ERA = "2026-07-28"
FORM_MINUTES = 10
MAX_SYSTEM_ID = 128


def check_system_id(value: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_SYSTEM_ID or not UNIQUE_NAME.fullmatch(value) or value in (".", ".."):
        raise ValueError(messages.not_a_system_id(value))
    return value


def check_system_ref(value: str) -> str:
    value = value.strip()
    if GUID.fullmatch(value):
        return value.lower()
    try:
        return check_system_id(value)
    except ValueError:
        raise ValueError(messages.not_a_system_ref(value)) from None


def check_values(values: dict[str, str]) -> dict[str, str]:
    from edfs_mcp.system_page import is_secret

    secret = [name for name in values if is_secret(name)]
    if secret:
        raise ValueError(messages.setup_secret_value(secret))
    return values


SystemId = Annotated[
    str,
    Field(description="The package's systemId, e.g. sap_prod; default: the one it lacks"),
    AfterValidator(check_system_id),
]
SystemRef = Annotated[
    str,
    Field(
        description="systemId (e.g. sap_prod) or record id (GUID); see list_systems", max_length=MAX_SYSTEM_ID
    ),
    AfterValidator(check_system_ref),
]
PrefilledValues = Annotated[
    dict[VariableName, VariableValue],
    Field(
        description="Non-secret values to prefill, property -> value; never passwords or keys",
        max_length=50,
    ),
    AfterValidator(check_values),
]


class SystemInfo(BaseModel):
    id: UpstreamName
    system_id: UpstreamName
    system_name: UpstreamName
    system_type: UpstreamName
    last_change: datetime | None = None
    last_change_by: UpstreamName | None = None


def system_info(system: System) -> SystemInfo:
    return SystemInfo(
        id=system.id,
        system_id=system.system_id,
        system_name=system.system_name,
        system_type=system.system_type,
        last_change=system.last_change,
        last_change_by=system.last_change_by_name or system.last_change_by,
    )


class SystemList(ToolResult):
    itwin_id: str
    itwin_name: UpstreamName | None = None
    systems: list[SystemInfo]


async def list_systems(ctx: ToolContext, itwin_id: ITwinId) -> Annotated[CallToolResult, SystemList]:
    """List an iTwin's configured systems: name, systemId, type, last change and by whom.
    Credential values are never returned."""
    client, on_wait = app(ctx).client, waiter(ctx)
    found, name = await both(
        client.list_systems(itwin_id, on_wait=on_wait), client.itwin_name(itwin_id, on_wait=on_wait)
    )
    systems = [system_info(s) for s in found]
    return reply(
        SystemList(itwin_id=itwin_id, itwin_name=name, systems=systems),
        messages.systems_summary(messages.itwin_label(itwin_id, name), len(systems)),
    )


# --- set_up_system ------------------------------------------------------------------------------


class SystemSetup(ToolResult):
    status: Literal["created", "pending", "already_configured"]
    itwin_id: str
    itwin_name: UpstreamName | None = None
    unique_name: str
    system_id: UpstreamName
    system_type: UpstreamName
    system: SystemInfo | None = None
    link: str | None = Field(None, description="pending: show it to the user")


def _desk(ctx: ToolContext) -> Any:
    from edfs_mcp.system_page import local_desk

    state = app(ctx)
    if state.setup_desk is not None:
        return state.setup_desk
    if state.client_for is not None:  # a team deployment without its pages: never fall back to loopback
        raise ToolError(messages.setup_not_available())
    return local_desk()


async def _choose(
    client: EdfsClient, ctx: ToolContext, itwin_id: str, unique_name: str, system_id: str | None
) -> tuple[str, str, list[System]]:
    """(systemId, systemType) of the package system to set up: the one asked for, else the only one,
    else the only required one not yet configured; and the iTwin's systems, read alongside."""
    on_wait = waiter(ctx)
    needed, configured = await both(
        client.list_package_systems(itwin_id, unique_name, on_wait=on_wait),
        client.list_systems(itwin_id, on_wait=on_wait),
    )
    known = [(n.system_id, n.system_type) for n in needed]
    if system_id is not None:
        for sid, stype in known:
            if sid.casefold() == system_id.casefold():
                return sid, stype, configured
        raise ToolError(messages.setup_unknown_system(unique_name, system_id, known))
    if len(known) == 1:
        return *known[0], configured
    missing = [n for n in system_needs(needed, configured) if n.required and not n.configured]
    if len(missing) == 1:
        return missing[0].system_id, missing[0].system_type, configured
    raise ToolError(messages.setup_no_system_to_choose(unique_name, known))


def _pending(form: Any, itwin_name: str | None) -> SystemSetup:
    return SystemSetup(
        status="pending",
        itwin_id=form.itwin_id,
        itwin_name=itwin_name,
        unique_name=form.unique_name,
        system_id=form.system_id,
        system_type=form.system_type,
        link=form.link,
    )


def _report(outcome: Any, itwin_id: str, itwin_name: str | None, unique_name: str) -> CallToolResult:
    if outcome.status == "failed":
        raise ToolError(messages.setup_failed(outcome.system_id, outcome.reason or ""))
    if outcome.status != "created" or outcome.record_id is None:
        raise ToolError(messages.setup_outcome_unknown(outcome.system_id))
    info = SystemInfo(
        id=outcome.record_id,
        system_id=outcome.system_id,
        system_name=outcome.system_name or outcome.system_id,
        system_type=outcome.system_type,
    )
    result = SystemSetup(
        status="created",
        itwin_id=itwin_id,
        itwin_name=itwin_name,
        unique_name=unique_name,
        system_id=outcome.system_id,
        system_type=outcome.system_type,
        system=info,
    )
    where = messages.itwin_label(itwin_id, itwin_name)
    return reply(
        result, messages.setup_created(outcome.system_id, outcome.system_type, where, outcome.record_id)
    )


async def set_up_system(
    ctx: ToolContext,
    itwin_id: ITwinId,
    unique_name: UniqueName,
    system_id: SystemId | None = None,
    name: Annotated[str | None, Field(max_length=200, description="Display name")] = None,
    values: PrefilledValues = {},  # noqa: B006 - pydantic copies defaults
) -> Annotated[CallToolResult, SystemSetup]:
    """Set up a system a package needs in an iTwin: the user types its credentials on a page edfs-mcp
    serves, never through you. Call again with the same arguments to learn the outcome."""
    from edfs_mcp.system_page import SetupField, SetupForm, SetupOutcome, TooManyForms

    desk = _desk(ctx)
    client = app(ctx).client
    on_wait = waiter(ctx)
    owner = principal(ctx)
    (chosen_id, system_type, configured), itwin_name = await both(
        _choose(client, ctx, itwin_id, unique_name, system_id), client.itwin_name(itwin_id, on_wait=on_wait)
    )
    where = messages.itwin_label(itwin_id, itwin_name)

    found = await desk.find(owner, itwin_id, chosen_id)
    if isinstance(found, SetupOutcome):
        # The form of an earlier call was submitted: that is this call's answer (once).
        await desk.settle(owner, itwin_id, chosen_id)
        return _report(found, itwin_id, itwin_name, unique_name)
    existing = [s for s in configured if s.system_id.casefold() == chosen_id.casefold()]
    if existing:
        if isinstance(found, SetupForm):
            await desk.forget(found)
        info = system_info(existing[0])
        result = SystemSetup(
            status="already_configured",
            itwin_id=itwin_id,
            itwin_name=itwin_name,
            unique_name=unique_name,
            system_id=info.system_id,
            system_type=info.system_type,
            system=info,
        )
        return reply(result, messages.setup_already_configured(info.system_id, where))

    properties = await client.system_type_properties(itwin_id, unique_name, system_type, on_wait=on_wait)
    by_name = {p.name.casefold(): p.name for p in properties}
    unknown = [key for key in values if key.casefold() not in by_name]
    if unknown:
        raise ToolError(messages.setup_unknown_values(unknown, [p.name for p in properties]))
    prefilled = {by_name[key.casefold()]: value for key, value in values.items()}
    display = (name or "").strip() or f"{chosen_id} ({system_type})"
    asked = json.dumps([display, sorted(prefilled.items())])
    reused = isinstance(found, SetupForm) and found.asked == asked
    if isinstance(found, SetupForm) and reused:
        form = found  # the same call again while its form is open: the same link
    else:
        if isinstance(found, SetupForm):
            await desk.forget(found)  # asked differently: the old form must not create anything
        try:
            form = await desk.open_form(
                owner=owner,
                subject=_person(),
                client=client,
                itwin_id=itwin_id,
                unique_name=unique_name,
                system_id=chosen_id,
                system_type=system_type,
                name=display,
                fields=[SetupField.of(p, prefilled) for p in properties],
                asked=asked,
            )
        except TooManyForms as full:
            raise ToolError(messages.setup_too_many_forms(full.limit)) from None

    if not elicitation(ctx).url:
        sentence = messages.setup_link_sentence(form.link, FORM_MINUTES)
        return reply(_pending(form, itwin_name), messages.setup_pending(chosen_id, sentence))

    message = messages.setup_url_message(chosen_id, system_type, where)
    modern = (ctx.protocol_version or "") >= MODERN_ERA
    if modern:
        answer = (ctx.input_responses or {}).get(SETUP_KEY)
        if answer is None or not reused:  # an answer about a form that is gone is no answer
            # The client shows the page, then retries this same call with the answer.
            request = ElicitRequest(
                params=ElicitRequestURLParams(message=message, url=form.link, elicitation_id=form.key)
            )
            return InputRequiredResult(input_requests={SETUP_KEY: request})  # type: ignore[return-value]
        action = answer.action if isinstance(answer, ElicitResult) else "cancel"
    else:
        action = (await ctx.elicit_url(message, form.link, form.key)).action
    if action != "accept":
        await desk.forget(form)
        raise ToolError(messages.setup_cancelled(chosen_id, action))
    outcome = await desk.wait(form)
    if outcome is None:
        await desk.forget(form)
        raise ToolError(messages.setup_expired(chosen_id, FORM_MINUTES))
    await desk.forget(form)
    if not modern:
        try:
            await ctx.session.send_elicit_complete(form.key, ctx.request_id)
        except Exception:  # a courtesy; the answer below is what matters
            logger.debug("set_up_system: elicitation/complete could not be sent")
    return _report(outcome, itwin_id, itwin_name, unique_name)


# --- delete_system ------------------------------------------------------------------------------


class ConfirmDeleteSystem(YesOrNo):
    delete: bool = Field(False, description="Delete this system and its credentials? This cannot be undone.")


@dataclass(frozen=True)
class _NoPrompt:
    system: System | None
    error: EdfsMcpError | None = None
    itwin_name: str | None = None


def _matches(system: System, ref: str) -> bool:
    return system.id.lower() == ref.lower() or system.system_id.casefold() == ref.casefold()


async def _find_system(client: EdfsClient, ctx: ToolContext, itwin_id: str, ref: str) -> System | None:
    for system in await client.list_systems(itwin_id, on_wait=waiter(ctx)):
        if _matches(system, ref):
            return system
    return None


async def _ask_before_delete(
    ctx: ToolContext, itwin_id: str, system: str, confirm: bool
) -> Elicit[ConfirmDeleteSystem] | ConfirmDeleteSystem | _NoPrompt:
    client = app(ctx).client
    try:
        found, name = await both(
            _find_system(client, ctx, itwin_id, system), client.itwin_name(itwin_id, on_wait=waiter(ctx))
        )
    except EdfsMcpError as exc:
        return _NoPrompt(None, exc)
    if found is None or confirm or not elicitation(ctx).form:
        return _NoPrompt(found, itwin_name=name)
    question = messages.confirm_delete_system_question(
        found.system_id, found.system_name, found.system_type, messages.itwin_label(itwin_id, name)
    )
    return Elicit(question, ConfirmDeleteSystem)


class SystemDeleted(ToolResult):
    deleted: bool
    itwin_id: str
    itwin_name: UpstreamName | None = None
    system_id: UpstreamName
    id: UpstreamName


async def delete_system(
    ctx: ToolContext,
    itwin_id: ITwinId,
    system: SystemRef,
    answer: Annotated[ElicitationResult[Any], Resolve(_ask_before_delete)],
    confirm: Annotated[
        bool, Field(description="The user already agreed (for clients that cannot ask)")
    ] = False,
) -> Annotated[CallToolResult, SystemDeleted]:
    """Delete a system and its credentials for good. Asks the user to confirm when the client can
    ask; otherwise needs confirm=true, given only after the user agreed."""
    client = app(ctx).client
    if not isinstance(answer, AcceptedElicitation):
        raise ToolError(messages.delete_system_declined(system, answer.action))
    decision = answer.data
    if isinstance(decision, _NoPrompt):
        if decision.error is not None:
            raise decision.error
        if decision.system is None:
            raise ToolError(messages.system_not_in_list(itwin_id, system))
        if not confirm:
            raise ToolError(messages.delete_system_needs_confirm(decision.system.system_id))
        target, name = decision.system, decision.itwin_name
    else:
        if decision.unclear:
            raise ToolError(messages.delete_system_unclear(system))
        if not decision.delete:
            raise ToolError(messages.delete_system_declined(system, "decline"))
        again, name = await both(  # the name was read (and remembered) when the user was asked
            _find_system(client, ctx, itwin_id, system), client.itwin_name(itwin_id, on_wait=waiter(ctx))
        )
        if again is None:
            raise ToolError(messages.system_not_in_list(itwin_id, system))
        target = again
    try:
        await client.delete_system(itwin_id, target.id, on_wait=waiter(ctx))
    except (OutcomeUnknown, ServerError):
        # Never re-sent: gone from the list means it was deleted.
        try:
            still_there = await _find_system(client, ctx, itwin_id, target.id)
        except EdfsMcpError:
            raise
        if still_there is not None:
            raise
    deleted = SystemDeleted(
        deleted=True, itwin_id=itwin_id, itwin_name=name, system_id=target.system_id, id=target.id
    )
    return reply(deleted, messages.system_deleted(target.system_id, messages.itwin_label(itwin_id, name)))


TOOLS = [
    ToolSpec(list_systems, "List systems", READ_ONLY),
    ToolSpec(set_up_system, "Set up system", ADDITIVE_WRITE),
    ToolSpec(delete_system, "Delete system", DESTRUCTIVE_WRITE),
]
