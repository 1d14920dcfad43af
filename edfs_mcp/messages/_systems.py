"""Systems (list_systems, set_up_system, delete_system): summaries, refusals and what to do next.

Part of ``edfs_mcp.messages``, the one home of model-facing text. No sentence here ever carries a
credential value: the tools never hold one.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "confirm_delete_system_question",
    "delete_system_declined",
    "delete_system_needs_confirm",
    "delete_system_unclear",
    "not_a_system_id",
    "not_a_system_ref",
    "setup_already_configured",
    "setup_cancelled",
    "setup_created",
    "setup_expired",
    "setup_failed",
    "setup_link_sentence",
    "setup_no_system_to_choose",
    "setup_not_available",
    "setup_outcome_unknown",
    "setup_pending",
    "setup_secret_value",
    "setup_too_many_forms",
    "setup_unknown_system",
    "setup_unknown_values",
    "setup_url_message",
    "system_deleted",
    "system_not_in_list",
    "systems_summary",
]


def systems_summary(where: str, count: int) -> str:
    """``where``: the iTwin as messages.itwin_label names it."""
    return (
        f"{count} system(s) configured in {where}. Credential values are never shown; "
        "set_up_system adds one, delete_system removes one."
    )


def not_a_system_id(value: str) -> str:
    return (
        f"{value[:80]!r} is not a systemId: use letters, digits, '_', '.' or '-' (at most 128), as the "
        "package names it (get_integration_package with itwin_id lists its systems)."
    )


def not_a_system_ref(value: str) -> str:
    return f"{value[:80]!r} is neither a system's record id (a GUID) nor a systemId; list_systems shows both."


def setup_unknown_system(unique_name: str, system_id: str, known: Sequence[tuple[str, str]]) -> str:
    names = ", ".join(f"{sid} ({stype})" for sid, stype in known) or "none"
    return f"Package {unique_name} uses no system {system_id!r}; nothing was set up. Its systems: {names}."


def setup_no_system_to_choose(unique_name: str, known: Sequence[tuple[str, str]]) -> str:
    if not known:
        return f"Package {unique_name} uses no external system; there is nothing to set up."
    names = ", ".join(f"{sid} ({stype})" for sid, stype in known)
    return (
        f"Package {unique_name} uses several systems: {names}. Call set_up_system again with system_id "
        "set to the one to set up."
    )


def setup_unknown_values(names: Sequence[str], properties: Sequence[str]) -> str:
    return (
        f"values names {', '.join(repr(n[:60]) for n in names)}, which system type has no property of; its "
        f"properties: {', '.join(properties)}. Nothing was set up."
    )


def setup_secret_value(names: Sequence[str]) -> str:
    return (
        f"values may not carry {', '.join(repr(n) for n in names)}: it is secret, and only the user types "
        "it, on the page set_up_system opens. Leave it out; nothing was set up."
    )


def setup_already_configured(system_id: str, where: str) -> str:
    return (
        f"System {system_id!r} is already configured in {where}; nothing was changed. To replace "
        "its credentials, delete it (delete_system) and set it up again."
    )


def setup_url_message(system_id: str, system_type: str, where: str) -> str:
    """What the client shows the person beside the link (URL-mode elicitation)."""
    return (
        f"Open this edfs-mcp page to type the credentials of system {system_id!r} ({system_type}) for "
        f"{where}. They go from the page to EDFS and are never shown to the assistant."
    )


def setup_link_sentence(link: str, minutes: int) -> str:
    return (
        f"Show the user this link and ask them to open it in their browser, fill in the form and press "
        f"Create: {link} . It works once, for {minutes} minutes, and the credentials typed there never "
        "reach you. When they say they are done, call set_up_system again with the same arguments (or "
        "list_systems) to confirm."
    )


def setup_pending(system_id: str, link_sentence: str) -> str:
    return f"System {system_id!r} is not set up yet: the user has to type its credentials. {link_sentence}"


def setup_created(system_id: str, system_type: str, where: str, record_id: str) -> str:
    return (
        f"Set up system {system_id!r} ({system_type}) in {where}: record id {record_id}. The user "
        "typed its credentials; they are not shown. Packages that need it can run there now."
    )


def setup_failed(system_id: str, reason: str) -> str:
    return (
        f"System {system_id!r} was not created: {reason} Call set_up_system again to give the user a "
        "new form."
    )


def setup_outcome_unknown(system_id: str) -> str:
    return (
        f"The form for system {system_id!r} was submitted, but EDFS's answer was lost and listing the "
        "systems did not show it. It was not sent twice. Call list_systems to see whether it exists."
    )


def setup_cancelled(system_id: str, action: str) -> str:
    how = "declined to open" if action == "decline" else "cancelled"
    return f"System {system_id!r} was not set up: the user {how} the page. Nothing was created."


def setup_expired(system_id: str, minutes: int) -> str:
    return (
        f"System {system_id!r} was not set up: the form was not submitted within {minutes} minutes and "
        "has expired. Nothing was created. Call set_up_system again for a new form."
    )


def setup_too_many_forms(limit: int) -> str:
    return (
        f"Not opened: {limit} set-up forms are already waiting for the user. Let them finish or expire "
        "(10 minutes), then call set_up_system again."
    )


def setup_not_available() -> str:
    return (
        "set_up_system is not available on this server: the page where people type credentials is not "
        "served here. Ask the administrator, or set the system up in Bentley's portal."
    )


def system_not_in_list(itwin_id: str, system: str) -> str:
    return (
        f"There is no system {system!r} in iTwin {itwin_id}. Nothing was changed. "
        "Call list_systems with this itwin_id for its systems."
    )


def confirm_delete_system_question(system_id: str, name: str, system_type: str, where: str) -> str:
    return (
        f"Delete system {system_id!r} ({name}, {system_type}) and its credentials from {where}? Packages "
        "that need it stop running. This cannot be undone."
    )


def delete_system_needs_confirm(system_id: str) -> str:
    return (
        f"Not deleted: deleting system {system_id!r} removes its credentials for good, and this client "
        "cannot ask the user to confirm. Ask the user; if they agree, call delete_system again with "
        "confirm=true."
    )


def delete_system_declined(system: str, action: str) -> str:
    how = "declined" if action == "decline" else "cancelled the confirmation"
    return f"Not deleted: the user {how} for system {system}. Nothing was changed."


def delete_system_unclear(system: str) -> str:
    return (
        f"Not deleted: the confirmation for system {system} came back without a yes or no. Nothing was "
        "changed. Ask the user whether to delete it; if they agree, call delete_system again with "
        "confirm=true."
    )


def system_deleted(system_id: str, where: str) -> str:
    return f"Deleted system {system_id!r} and its credentials from {where}."
