"""The words of successful results and of tool-level refusals: summaries with their hints and next steps.

Part of ``edfs_mcp.messages``, the one home of model-facing text (``_errors`` has the failures).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from edfs_mcp.errors import EdfsMcpError
from edfs_mcp.messages._errors import LOOKUP_OF_ARGUMENT
from edfs_mcp.messages._readiness import missing_systems_sentence
from edfs_mcp.results import ResultGone

__all__ = [
    "confirm_delete_question",
    "delete_declined",
    "delete_needs_confirm",
    "delete_unclear",
    "entity_sets_summary",
    "execution_summary",
    "invalid_arguments",
    "itwins_summary",
    "misspelled_variables",
    "not_a_guid",
    "not_a_unique_name",
    "not_a_variable_name",
    "not_an_entity_set",
    "odata_summary",
    "offset_past_end",
    "package_summary",
    "packages_summary",
    "page_summary",
    "result_gone",
    "text_output_summary",
    "timer_already",
    "timer_created",
    "timer_deleted",
    "timer_not_in_list",
    "timer_raced",
    "timer_set",
    "timers_across_summary",
    "timers_summary",
    "toggle_outcome_unknown",
    "undocumented_variables_note",
    "unknown_columns",
    "xml_note",
]


def itwins_summary(
    query: str | None, offset: int, shown: int, next_offset: int | None, inactive_included: bool
) -> str:
    what = f"iTwin(s) matching {query!r}" if query else "iTwin(s) you are a member of"
    if not shown:
        text = f"No {what.replace('(s)', 's')}" + (f" from offset {offset}." if offset else ".")
        if query:
            text += " Try a shorter part of the name or the number, or omit query to list them all."
    else:
        text = f"{shown} {what}" + (f", from offset {offset}" if offset else "") + "."
    if not inactive_included:
        text += " Inactive iTwins are hidden (include_inactive=true shows them)."
    if next_offset is not None:
        text += f" More follow: call again with offset={next_offset}."
    return text


def xml_note(cut: bool) -> str:
    where = "xml (its start: cut to the size budget)" if cut else "xml"
    return f" The XML as the package returned it is in {where}; rows holds the same data, parsed."


def execution_summary(source: str, row_count: int, shown: int, result_id: str | None) -> str:
    if shown >= row_count:
        return f"Ran {source}: {row_count} row(s), all included."
    if result_id is None:
        return (
            f"Ran {source}: {row_count} rows; the first {shown} are included (size budget). The answer is "
            "larger than the whole result cache (EDFS_MCP_RESULT_CACHE_BYTES), so the rest cannot be paged: "
            "ask the user before running it again, with variables that narrow it."
        )
    return (
        f"Ran {source}: {row_count} rows; the first {shown} are included (size budget). "
        f"Read more with read_execution_result(result_id={result_id!r}, offset={shown}); "
        "do not run the package again for that."
    )


def undocumented_variables_note(names: list[str]) -> str:
    if not names:
        return ""
    return (
        f" Variables not documented by the package, sent as given (EDFS ignores unknown ones, so they may "
        f"have had no effect): {', '.join(names)}; get_integration_package lists the documented ones."
    )


def misspelled_variables(unique_name: str, misspelled: dict[str, str], documented: list[str]) -> str:
    guesses = "; ".join(f"{given!r}: did you mean {known!r}?" for given, known in misspelled.items())
    return (
        f"Invalid variables for {unique_name}; nothing was run. {guesses} (EDFS would ignore the misspelled "
        f"name and run unfiltered.) The package's variables: {', '.join(documented)}."
    )


def text_output_summary(source: str, length: int, cut: bool) -> str:
    if cut:
        return f"Ran {source}: the output is not tabular; {length} characters, cut to fit the size budget."
    return f"Ran {source}: the output is not tabular; it is in the text field."


def result_gone(gone: ResultGone, ttl_seconds: float) -> str:
    why = {
        "expired": f"it expired (results are kept {ttl_seconds / 60:.0f} minutes)",
        "evicted": "it was dropped to make room for newer results (the cache is bounded in size)",
    }.get(gone.reason, "there is no such result for this session (wrong ID, or made by another client)")
    return (
        f"No cached result {gone.result_id!r}: {why}. Running the package again may repeat its effects: "
        "ask the user before calling execute_integration_package again."
    )


def unknown_columns(unknown: list[str], columns: list[str]) -> str:
    return (
        f"Unknown column(s) {', '.join(map(repr, unknown))}. The result's columns are: {', '.join(columns)}."
    )


def offset_past_end(offset: int, row_count: int) -> str:
    last = max(row_count - 1, 0)
    return f"offset {offset} is past the end: the result has {row_count} rows (offsets 0 to {last})."


def page_summary(
    result_id: str, offset: int, shown: int, row_count: int, next_offset: int | None, cut_at_limit: int | None
) -> str:
    """``cut_at_limit``: the limit asked for, when the size budget ended the page before it."""
    if not shown:
        return f"No rows at offset {offset} of {row_count}."
    text = f"Rows {offset}-{offset + shown - 1} of {row_count} ({shown} rows"
    if cut_at_limit is not None:
        text += (
            f": the page was cut at the size budget before limit={cut_at_limit}; fewer columns fit more rows"
        )
    text += ")."
    if next_offset is not None:
        text += f" The rest: read_execution_result(result_id={result_id!r}, offset={next_offset})."
    return text


def toggle_outcome_unknown(error: EdfsMcpError, timer_name: str, enabled: bool | None) -> str:
    """A toggle whose answer was lost, after re-reading the timer."""
    if enabled is None:
        state = "its state could not be read back either; call list_timers to check it"
    else:
        state = f"the timer is now {'enabled' if enabled else 'disabled'}"
    return (
        f"The toggle of timer {timer_name!r} may or may not have been applied ({error}); {state}. "
        "Do not toggle again blindly: use set_timer_enabled to reach the state you want."
    )


class _Timer(Protocol):
    @property
    def enabled(self) -> bool: ...


def timers_summary(where: str, timers: Sequence[_Timer]) -> str:
    return f"{len(timers)} timer(s) in {where}, {sum(t.enabled for t in timers)} enabled."


def timers_across_summary(itwins: int, timers: Sequence[_Timer], unreadable: list[str], more: bool) -> str:
    """``unreadable``: names of the iTwins whose timers could not be read."""
    text = (
        f"{len(timers)} timer(s) across {itwins} iTwin(s), {sum(t.enabled for t in timers)} enabled "
        "(itwin_name says whose)."
    )
    if unreadable:
        text += f" Not readable here: {', '.join(unreadable)} (see unreadable)."
    if more:
        text += " You can see more iTwins than were looked at: pass itwin_id for one of the others."
    return text


def timer_not_in_list(itwin_id: str, timer_id: str) -> str:
    return (
        f"There is no timer {timer_id} in iTwin {itwin_id}. Nothing was changed. "
        "Call list_timers with this itwin_id for its timer IDs."
    )


def timer_already(name: str, enabled: bool) -> str:
    return f"Timer {name!r} was already {'enabled' if enabled else 'disabled'}; nothing changed."


def timer_set(name: str, enabled: bool) -> str:
    return f"Timer {name!r} is now {'enabled' if enabled else 'disabled'}."


def timer_raced(name: str, enabled: bool) -> str:
    return (
        f"Timer {name!r} ended up {'enabled' if enabled else 'disabled'}: someone else changed it at the "
        "same moment. Call list_timers, then set_timer_enabled again if it is still wrong."
    )


def invalid_arguments(tool: str, problems: list[tuple[str, str]]) -> str:
    """Arguments rejected before any request: one clause per argument."""
    clauses = []
    for where, message in problems:
        message = message.removeprefix("Value error, ")
        clauses.append(message if message.startswith(where) else f"{where}: {message}")
    return f"Invalid arguments for {tool}; nothing was sent. " + "; ".join(clauses) + "."


def entity_sets_summary(unique_name: str, names: list[str]) -> str:
    if not names:
        return f"{unique_name} has no OData entity sets."
    return f"{unique_name} entity sets: {', '.join(names)}. Query one with query_odata(entity_set=...)."


def odata_summary(entity_set: str, skip: int, shown: int, next_skip: int | None, cut: bool) -> str:
    text = f"{shown} row(s) of {entity_set} from skip={skip}"
    if cut:
        text += " (cut to fit the size budget)"
    if next_skip is not None:
        text += f"; more may follow: skip={next_skip}"
    return text + "."


def timer_created(
    name: str, schedule: str, enabled: bool, timer_id: str, unknown: list[str], where: str
) -> str:
    state = "enabled" if enabled else "disabled"
    text = f"Created timer {name!r} in {where} ({schedule}, UTC), {state}, id {timer_id}."
    return text + undocumented_variables_note(unknown)


def confirm_delete_question(name: str, schedule: str) -> str:
    return f"Delete timer {name!r} ({schedule})? This cannot be undone."


def delete_needs_confirm(name: str) -> str:
    return (
        f"Not deleted: deleting timer {name!r} cannot be undone, and this client cannot ask the user to "
        "confirm. Ask the user; if they agree, call delete_timer again with confirm=true. "
        "To stop it running without deleting it, use set_timer_enabled with enabled=false."
    )


def delete_declined(timer_id: str, action: str) -> str:
    how = "declined" if action == "decline" else "cancelled the confirmation"
    return f"Not deleted: the user {how} for timer {timer_id}. Nothing was changed."


def delete_unclear(timer_id: str) -> str:
    return (
        f"Not deleted: the confirmation for timer {timer_id} came back without a yes or no (the client's "
        "answer did not fit the question). Nothing was changed. Ask the user whether to delete it; if "
        "they agree, call delete_timer again with confirm=true."
    )


def timer_deleted(name: str) -> str:
    return f"Deleted timer {name!r}."


def packages_summary(where: str | None, packages: list[tuple[str, list[str] | None]]) -> str:
    """``where``: the iTwin's label, when one was given. ``packages``: (unique name, required systems
    missing in the iTwin, or None if unknown)."""
    if not packages:
        return "Your organization subscribes to no integration packages."
    text = f"{len(packages)} subscribed package(s): {', '.join(name for name, _ in packages)}."
    if where is None:
        return text
    runnable = [name for name, missing in packages if missing == []]
    blocked = [f"{name} (lacks {', '.join(missing)})" for name, missing in packages if missing]
    unknown = [name for name, missing in packages if missing is None]
    text += f" In {where}: can run: {', '.join(runnable) or 'none'}."
    if blocked:
        # The systems could be listed, so the caller holds edfs_credmng there and can add them.
        text += (
            f" Cannot run until the missing system is added (you can: set_up_system): {'; '.join(blocked)}."
        )
    if unknown:
        text += f" Could not be checked: {', '.join(unknown)} (see systems_note)."
    return text


def package_summary(
    unique_name: str,
    name: str,
    variables: list[str],
    *,
    checked: bool,
    missing: list[tuple[str, str]],
    note: bool,
) -> str:
    text = f"{unique_name} ({name}), variables: {', '.join(variables) or 'none'}."
    if missing:
        text += " " + missing_systems_sentence(missing)
    elif checked:
        text += " All required systems are configured in this iTwin."
    elif note:
        text += " Systems could not be checked (see systems_note)."
    return text


# -- arguments refused before any request -------------------------------------------------------


def _shown(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:57] + "...")


def not_a_guid(argument: str, value: str) -> str:
    return (
        f"{argument} {_shown(value)} is not a GUID like 3f2504e0-4f89-11d3-9a0c-0305e82c3301; "
        f"{LOOKUP_OF_ARGUMENT[argument]}"
    )


def not_a_unique_name(value: str) -> str:
    return (
        f"unique_name {_shown(value)} is not a package unique name (letters, digits, '_', '.', '-'); "
        f"{LOOKUP_OF_ARGUMENT['unique_name']}"
    )


def not_a_variable_name(value: str) -> str:
    lookup = LOOKUP_OF_ARGUMENT["variables"]
    return f"variable name {_shown(value)} is empty or holds control characters; {lookup}"


def not_an_entity_set(value: str) -> str:
    return f"entity_set {_shown(value)} is not an OData entity set name; {LOOKUP_OF_ARGUMENT['entity_set']}"
