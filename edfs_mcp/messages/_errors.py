"""Failures → text a model can act on: what failed, why, and what to do next.

Part of ``edfs_mcp.messages``, the one home of model-facing text. Every message has three parts:
the failed action, the cause in plain words (HTTP status, EDFS code, each detail),
and a next step naming a tool call or a user action. Upstream text is quoted only
from the parsed ``code``/``message``/``details`` fields, never raw bodies, so
nothing that could carry a token reaches the model.

Long because every failure the package can meet gets its words here, in one table read as one (what
failed, why, what next): splitting it by kind of error would let the tone and the next steps drift
apart.
"""

from __future__ import annotations

import time

from edfs_mcp.errors import (
    AnswerRefused,
    ApiError,
    AuthError,
    ConfigError,
    Conflict,
    EdfsMcpError,
    ErrorDetail,
    Forbidden,
    InvalidInput,
    NotFound,
    NotSent,
    Operation,
    OutcomeUnknown,
    RateLimited,
    ResponseTooLarge,
    ServerError,
    SignInPrompt,
    SignInRequired,
    Unauthorized,
)
from edfs_mcp.state.stores import StateStoreUnavailable
from edfs_mcp.tabular import TooDeep
from edfs_mcp.untrusted import clean_text

__all__ = [
    "ARGUMENT_OF_TARGET",
    "DETAILS_SHOWN",
    "LOOKUP_OF_ARGUMENT",
    "NOT_FOUND_HINTS",
    "NOT_FOUND_NEXT",
    "ODATA_FILTER_SYNTAX",
    "ORG_ADMINS",
    "PERMISSION_WORDS",
    "QUOTE_CHARS",
    "VERIFY_WRITE",
    "WRITE_DONE",
    "after_write",
    "argument_of",
    "describe",
    "quoted",
    "reason_of",
    "sign_in_prompt",
    "sign_in_url_message",
    "unexpected_failure",
]

# Upstream words quoted in a message, at most; rejected values listed, at most.
QUOTE_CHARS = 300
DETAILS_SHOWN = 10

# API error targets → the tool argument a model would change.
ARGUMENT_OF_TARGET = {
    "itwinid": "itwin_id",
    "uniquename": "unique_name",
    "timerid": "timer_id",
    "cronstr": "cron",
    "packageuniquename": "unique_name",
    "entityset": "entity_set",
    "name": "name",
    "variables": "variables",
    "returnasxml": "return_as_xml",
    "$filter": "filter",
    "$select": "select",
    "$orderby": "orderby",
    "$top": "top",
    "$skip": "skip",
    "systemid": "system",
    "itwinroleid": "itwin_role",
    "packageroleids": "package_role",
}

# What EDFS OData accepts in $filter (docs/edfs-api.md §4.8).
ODATA_FILTER_SYNTAX = (
    "comparisons eq ne gt ge lt le; and, or, not, parentheses; the functions contains, startswith and "
    "endswith, as contains(Column,'text'); literals 'text' (quote doubled inside), numbers, true, false, "
    "null, 2024-04-01 and 2024-04-01T00:00:00Z. Matching is case-sensitive; no other functions (no tolower)"
)

# What to call to find a valid value for an argument.
LOOKUP_OF_ARGUMENT = {
    "itwin_id": "call find_itwins to look up the iTwin ID (a GUID) by name or number",
    "unique_name": "call list_integration_packages for the unique names your organization subscribes to",
    "timer_id": "call list_timers with the itwin_id for the timer IDs",
    "cron": "use a 5-field cron expression 'minute hour day-of-month month day-of-week' in UTC, "
    "e.g. '0 22 * * 1-5'",
    "entity_set": "call query_odata without entity_set to list the package's entity sets",
    "variables": "get_integration_package lists the package's variables",
    "filter": f"$filter accepts {ODATA_FILTER_SYNTAX}; call query_odata without entity_set for the columns",
    "select": "call query_odata without entity_set for the columns",
    "orderby": "call query_odata without entity_set for the columns",
    "system": "the package cannot run in this iTwin until that system is added to the iTwin's EDFS "
    "systems, by someone with the iTwin permission edfs_credmng (an Organization Administrator has it): "
    "if that is the user, set_up_system adds it, with the credentials typed into a page, never through "
    "you; list_integration_packages with itwin_id shows which packages can run here",
}

ORG_ADMINS = (
    "an Organization Administrator of the iTwin's organization (Account Administrator, "
    "Co-Administrator or CONNECT Services Administrator)"
)

# Each EDFS permission by the kind of grant that carries it (docs/edfs-api.md §2): what, and who grants it.
PERMISSION_WORDS = {
    "edfs_projmng": (
        "the organization permission edfs_projmng (see and manage the organization's package subscriptions)",
        f"Ask {ORG_ADMINS} to grant it",
    ),
    "edfs_objipexec": (
        'the package role "Execute Integration Package" (permission edfs_objipexec) for this package '
        f"through one of its iTwin roles on this iTwin, and is not {ORG_ADMINS}",
        "Package roles are given to iTwin roles in EDFS. Ask someone with the iTwin permissions "
        "edfs_ilsmng and administration_manage_roles on this iTwin, or an Org Admin, to give it to one of "
        "your iTwin roles (set_package_role does it; list_package_roles shows who has it)",
    ),
    "edfs_listmng": (
        "the iTwin permission edfs_listmng (manage timers) on this iTwin",
        f"It comes with an iTwin role (Access Control). Ask an administrator of this iTwin or {ORG_ADMINS} "
        "for a role that has it",
    ),
    "edfs_credmng": (
        "the iTwin permission edfs_credmng (manage systems and their credentials) on this iTwin",
        f"It comes with an iTwin role (Access Control). Ask an administrator of this iTwin or {ORG_ADMINS} "
        "for a role that has it",
    ),
    "edfs_ilsmng": (
        "what managing package roles on this iTwin needs: the iTwin permissions edfs_ilsmng and "
        'administration_manage_roles and, to change who holds "Execute Integration Package", that package '
        "role for this package itself",
        f"These come with iTwin roles (Access Control) and package roles. Ask an administrator of this iTwin "
        f"or {ORG_ADMINS} to make the change",
    ),
    "administration_manage_roles": (
        "the iTwin permission administration_manage_roles (see and manage the iTwin's roles) on this iTwin",
        f"It comes with an iTwin role (Access Control). Ask an administrator of this iTwin or {ORG_ADMINS} "
        "for a role that has it",
    ),
}

# How to find out whether a write whose answer was lost took effect.
VERIFY_WRITE = {
    "execute": "It may or may not have run. Do not run it again without asking the user: a second run "
    "may repeat its effects in the connected system.",
    "toggle_timer": "The timer may or may not have been flipped. Call list_timers to see its current "
    "state before doing anything else; use set_timer_enabled to reach a definite state.",
    "create_timer": "The timer may or may not have been created. Call list_timers to check before "
    "creating it again.",
    "delete_timer": "The timer may or may not have been deleted. Call list_timers to check.",
    **dict.fromkeys(
        ("add_role_assignments", "update_role_assignments", "remove_role_assignments"),
        "The package roles may or may not have changed. Call list_package_roles to check before calling "
        "set_package_role again.",
    ),
}

# What to do after a write that EDFS accepted, when what followed failed.
WRITE_DONE = {
    "execute": "The package ran. Do not run it again without asking the user: a second run may repeat "
    "its effects in the connected system.",
    "toggle_timer": "The timer was flipped. Call list_timers to see its state now; do not toggle it again "
    "blindly.",
    "create_timer": "The timer was created. Call list_timers to find it; do not create it again.",
    "delete_timer": "The timer was deleted. Call list_timers to confirm.",
    **dict.fromkeys(
        ("add_role_assignments", "update_role_assignments", "remove_role_assignments"),
        "The package roles were changed. Call list_package_roles to see them; do not repeat the change.",
    ),
}

NOT_FOUND_HINTS = {
    "PackageNotFound": "unique_name {uniqueName!r} is not a package your organization subscribes to.",
    "ResourceNotFound": "Either the iTwin {iTwinId} does not exist (or you are not a member of it), or its "
    "organization does not subscribe to package {uniqueName!r}.",
    "TimerNotFound": "There is no timer {timerId} in iTwin {iTwinId}.",
    "TimerListNotFound": "The iTwin {iTwinId} was not found (or you are not a member of it).",
    "SystemListNotFound": "The iTwin {iTwinId} or the package {uniqueName!r} was not found.",
    "SchemaNotFound": "Package {uniqueName!r} has no OData schema in iTwin {iTwinId}: it is not "
    "OData-enabled, or the iTwin or package was not found.",
    "iTwinNotFound": "The iTwin was not found (or you are not a member of it).",
}

NOT_FOUND_NEXT = {
    "PackageNotFound": "Call list_integration_packages to see the subscribed packages.",
    "ResourceNotFound": "Check itwin_id with find_itwins and unique_name with list_integration_packages.",
    "TimerNotFound": "Call list_timers with this itwin_id for its timer IDs.",
    "TimerListNotFound": "Call find_itwins to look up the right iTwin ID.",
    "SystemListNotFound": "Check itwin_id with find_itwins and unique_name with list_integration_packages.",
    "SchemaNotFound": "Call list_integration_packages: only packages marked is_odata can be queried; "
    "use execute_integration_package for the others.",
    "iTwinNotFound": "Call find_itwins to look up the right iTwin ID.",
}


def describe(error: EdfsMcpError) -> str:
    """The words a model reads for ``error``: what failed, why, and what to do next."""
    if isinstance(error, ApiError):
        return _describe_api(error)
    if isinstance(error, NotSent):
        return (
            f"Could not {error.operation.name}: {error.host} could not be reached ({error.reason}). "
            "Nothing was sent, so nothing changed. Check the network connection and EDFS_MCP_API_BASE, "
            "then call the tool again."
        )
    if isinstance(error, AnswerRefused):
        return _refused(error)
    if isinstance(error, OutcomeUnknown):
        if error.operation.write:
            verify = VERIFY_WRITE.get(error.operation.key, "Check the current state before repeating it.")
            if error.limit is not None:
                return (
                    f"The {error.operation.name} request was sent, but its answer was not read: "
                    f"{error.limit.what()}. {verify}"
                )
            return (
                f"The {error.operation.name} request was sent, but no answer came back ({error.reason}). "
                f"{verify}"
            )
        return (
            f"Could not {error.operation.name}: EDFS gave no answer after several attempts ({error.reason}). "
            "Nothing was changed. Try again in a minute."
        )
    if isinstance(error, SignInRequired):
        if error.prompt is not None:
            return sign_in_prompt(str(error), error.prompt)
        return f"{error} Nothing was sent to EDFS."
    if isinstance(error, AuthError):
        return f"Could not get an access token: {error} Nothing was sent to EDFS."
    if isinstance(error, ConfigError):
        return f"Configuration problem: {error}"
    if isinstance(error, TooDeep):  # a package's output (the run is over: the caller says so)
        return reason_of(error)
    if isinstance(error, StateStoreUnavailable):  # a person's sign-in state, mid-call
        return (
            f"The call could not go on: {error}. Nothing more was sent to EDFS. Try again in about "
            "30 seconds; if it keeps failing, tell the user the server's Redis is down."
        )
    return str(error)


def after_write(operation: Operation, status: int | None, reason: str) -> str:
    """A call that failed after its write request left: what became of the write, and what next.

    ``status``: the HTTP status of the write's answer; None when none arrived.
    """
    if status is not None and 200 <= status < 300:
        done = WRITE_DONE.get(operation.key, "Check the current state before repeating it.")
        return (
            f"EDFS accepted the {operation.name} request (HTTP {status}): it took effect. But what came "
            f"after failed: {reason} {done}"
        )
    verify = VERIFY_WRITE.get(operation.key, "Check the current state before repeating it.")
    return f"The {operation.name} request was sent, but the call then failed: {reason} {verify}"


def reason_of(error: BaseException) -> str:
    """A failure we did not foresee, in words that quote nothing of what caused it."""
    from pydantic import ValidationError

    if isinstance(error, ValidationError):
        return "EDFS's answer did not have the shape the API reference documents."
    if isinstance(error, RecursionError):
        return "EDFS's answer nests too deeply to read."
    if isinstance(error, UnicodeError):
        return "EDFS's answer is not valid text."
    if isinstance(error, ValueError | SyntaxError):
        # JSON, XML (ParseError is a SyntaxError; defusedxml's refusals are ValueErrors) and our own
        # TooDeep. Only our own errors' words are shown: they are fixed, never upstream text.
        text = str(error) if type(error).__module__.startswith("edfs_mcp") else ""
        return f"EDFS's answer could not be read ({text or type(error).__name__})."
    return f"an internal error ({type(error).__name__}) in edfs-mcp."


def unexpected_failure(reason: str) -> str:
    return f"The call failed: {reason} Nothing was changed. Try again; if it keeps failing, tell the user."


def quoted(upstream: str) -> str:
    """Upstream words inside ours: cleaned, short, in quotes, so they read as the service's data,
    never as part of our instructions."""
    return '"' + clean_text(" ".join(upstream.split()), QUOTE_CHARS).replace('"', "'") + '"'


def _code(code: str) -> str:
    # EDFS codes are identifiers; anything else is quoted like any upstream text.
    return code if code.isidentifier() and len(code) <= 80 else quoted(code)


def _cause(error: ApiError) -> str:
    cause = f"HTTP {error.status}"
    if error.code:
        cause += f" {_code(error.code)}"
    if error.message:
        cause += f"; EDFS said: {quoted(error.message)}"
    return cause


def _describe_api(error: ApiError) -> str:
    head = f"Could not {error.operation.name} ({_cause(error)})."
    if isinstance(error, RateLimited):
        return _rate_limited(error)
    if isinstance(error, Unauthorized):
        return (
            f"{head} The access token was missing, expired, from the wrong issuer or without the "
            "itwin-platform scope. Nothing was changed. Ask the user to renew the credentials: a fresh "
            "EDFS_MCP_ACCESS_TOKEN, or a service app (EDFS_MCP_CLIENT_ID/SECRET) with the itwin-platform "
            "scope; then call the tool again."
        )
    if isinstance(error, Forbidden):
        needed, who = PERMISSION_WORDS.get(
            error.operation.permission or "",
            ("the EDFS permission for this operation", f"Ask {ORG_ADMINS} to grant it"),
        )
        return f"{head} You are signed in, but this identity lacks {needed}. {who}. Nothing was changed."
    if isinstance(error, NotFound):
        return _not_found(error, head)
    if isinstance(error, InvalidInput):
        return _invalid(error, head)
    if isinstance(error, Conflict):
        return f"{head} It already exists; list what is there and reuse it, or pick another name."
    if isinstance(error, ServerError):
        if error.operation.write:
            verify = VERIFY_WRITE.get(error.operation.key, "Check the current state before repeating it.")
            return f"{head} EDFS failed while handling the request. {verify}"
        return f"{head} EDFS failed, also on retry. Nothing was changed. Try again in a few minutes."
    return f"{head} Nothing was changed."


def _refused(error: AnswerRefused) -> str:
    if isinstance(error, ResponseTooLarge):
        return (
            f"Could not {error.operation.name}: {error.what()}, so it was not read. Nothing was changed. "
            f"Ask for less ($filter, $select or $top; package variables that narrow the run), or ask the "
            f"user to raise {error.setting}."
        )
    return (
        f"Could not {error.operation.name}: {error.what()}. Nothing was changed. Try again in a minute; "
        "if it keeps happening, EDFS is slow right now: tell the user."
    )


def _rate_limited(error: RateLimited) -> str:
    waited = f" after waiting {error.waited:.0f} s" if error.waited else ""
    if error.attempts > 1:
        waited += f" and {error.attempts} attempts"
    retry = error.retry_after if error.retry_after is not None else 1.0
    done = "Nothing was executed or changed" if error.operation.write else "Nothing was changed"
    return (
        f"Could not {error.operation.name}: EDFS is rate-limiting this client ({_cause(error)}){waited}. "
        f"retry_after_seconds={retry:.0f}. {done}: the request was not processed. "
        f"Wait {retry:.0f} s, then call the tool again."
    )


def _format_params(template: str, params: dict[str, str]) -> str:
    class _Missing(dict[str, str]):
        def __missing__(self, key: str) -> str:
            return "(unknown)"

    return template.format_map(_Missing(params))


def _not_found(error: ApiError, head: str) -> str:
    code = error.code or ""
    if code in NOT_FOUND_HINTS:
        return f"{head} {_format_params(NOT_FOUND_HINTS[code], error.path_params)} {NOT_FOUND_NEXT[code]}"
    return (
        f"{head} The resource does not exist or is not visible to you. Check the IDs with find_itwins, "
        "list_integration_packages or list_timers."
    )


def argument_of(target: str | None) -> str | None:
    if not target:
        return None
    return ARGUMENT_OF_TARGET.get(target.lower()) or _code(target)


def _detail_line(detail: ErrorDetail, params: dict[str, str]) -> str:
    argument = argument_of(detail.target)
    value = params.get(detail.target or "")
    where = f"{argument} {value!r}" if argument and value is not None else argument or "request"
    text = f"EDFS said: {quoted(detail.message)}" if detail.message else _code(detail.code or "rejected")
    line = f"{where}: {text}"
    if argument in LOOKUP_OF_ARGUMENT:
        line += f" ({LOOKUP_OF_ARGUMENT[argument]})"
    return line


def _invalid(error: ApiError, head: str) -> str:
    if not error.details:
        return f"{head} EDFS rejected the request's values. Check the arguments against the tool's schema."
    shown = error.details[:DETAILS_SHOWN]
    lines = "; ".join(_detail_line(detail, error.path_params) for detail in shown)
    more = len(error.details) - len(shown) + error.more_details
    if more > 0:
        lines += f"; and {more} more"
    return f"{head} Rejected: {lines}. Nothing was changed."


def sign_in_prompt(reason: str, prompt: SignInPrompt) -> str:
    minutes = max(1, int((prompt.expires_at - time.time()) // 60))
    return (
        f"{reason} Show the user this sign-in step: open {prompt.verification_uri} and enter the code "
        f"{prompt.user_code} (valid about {minutes} min), then sign in with the Bentley account. "
        "When they say it is done, call the tool again. Nothing was sent to EDFS."
    )


def sign_in_url_message(user_code: str) -> str:
    return f"Sign in to Bentley to let edfs-mcp use EDFS. Confirm the code {user_code} on the page."
