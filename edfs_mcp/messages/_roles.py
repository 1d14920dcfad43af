"""Package roles: who may run a package on an iTwin (list_package_roles, set_package_role), and what
a refused run (403) is missing.

Role names come from Access Control and EDFS (upstream): always shown through ``quoted``.
"""

from __future__ import annotations

from collections.abc import Sequence

from edfs_mcp.errors import EdfsMcpError
from edfs_mcp.messages._errors import quoted

__all__ = [
    "EXEC_ROLE",
    "exec_forbidden",
    "itwin_role_ambiguous",
    "itwin_role_unknown",
    "not_a_role_name",
    "package_role_unknown",
    "package_roles_summary",
    "revoke_declined",
    "revoke_needs_confirm",
    "revoke_question",
    "revoke_unclear",
    "role_already",
    "role_outcome_unknown",
    "role_raced",
    "role_set",
]

EXEC_ROLE = "Execute Integration Package"
NAMES_SHOWN = 30


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(quoted(name) for name in names[:NAMES_SHOWN])
    more = f" (and {len(names) - NAMES_SHOWN} more)" if len(names) > NAMES_SHOWN else ""
    return (shown + more) if names else "none"


def not_a_role_name(argument: str, value: str) -> str:
    shown = repr(value if len(value) <= 60 else value[:57] + "...")
    return (
        f"{argument} {shown} is not a role name (1 to 256 printable characters); "
        "list_package_roles names the iTwin's roles and the package roles"
    )


def itwin_role_unknown(itwin_role: str, itwin_id: str, names: Sequence[str]) -> str:
    return (
        f"No iTwin role named {quoted(itwin_role)} on iTwin {itwin_id}; its roles are {_names(names)}. "
        "Nothing was changed. Call set_package_role again with one of these names."
    )


def itwin_role_ambiguous(itwin_role: str, itwin_id: str, names: Sequence[str]) -> str:
    return (
        f"Several iTwin roles on iTwin {itwin_id} are named {quoted(itwin_role)} (names are compared "
        f"ignoring case); its roles are {_names(names)}. Nothing was changed. Ask the user which one is "
        "meant, then pass its exact ID as itwin_role (list_package_roles shows the IDs)."
    )


def package_role_unknown(package_role: str, names: Sequence[str]) -> str:
    return f"No package role named {quoted(package_role)}; EDFS offers {_names(names)}. Nothing was changed."


def package_roles_summary(
    unique_name: str, itwin_label: str, holders: Sequence[tuple[str, Sequence[str]]], note: str | None
) -> str:
    """``holders``: (iTwin role, its package roles) for the roles that have any."""
    if holders:
        who = "; ".join(f"{quoted(role)}: {', '.join(quoted(p) for p in pkg)}" for role, pkg in holders)
        text = f"On {itwin_label}, these iTwin roles hold package roles for {unique_name}: {who}."
    else:
        text = (
            f"On {itwin_label}, no iTwin role holds a package role for {unique_name}: only Org Admins "
            "may run it."
        )
    text += " People holding such an iTwin role there may run it. set_package_role changes this."
    return text + (f" {note}" if note else "")


def role_already(itwin_role: str, package_role: str, unique_name: str, where: str, granted: bool) -> str:
    """``where``: the iTwin as messages.itwin_label names it."""
    has = "already has" if granted else "does not have"
    return (
        f"iTwin role {quoted(itwin_role)} on {where} {has} the package role {quoted(package_role)} for "
        f"{unique_name}; nothing changed."
    )


def role_set(
    itwin_role: str, package_role: str, unique_name: str, where: str, granted: bool, lost: bool
) -> str:
    done = "now has" if granted else "no longer has"
    text = (
        f"iTwin role {quoted(itwin_role)} on {where} {done} the package role {quoted(package_role)} for "
        f"{unique_name}."
    )
    if lost:
        text += " (The answer to the change was lost; reading the assignments back shows it took effect.)"
    return text


def role_raced(itwin_role: str, package_role: str, unique_name: str, granted: bool) -> str:
    state = "has" if granted else "does not have"
    return (
        f"EDFS accepted the change, but its answer says iTwin role {quoted(itwin_role)} {state} the package "
        f"role {quoted(package_role)} for {unique_name}: someone may have changed it at the same time. "
        "Call list_package_roles to see where it stands before trying again."
    )


def role_outcome_unknown(
    error: EdfsMcpError, itwin_role: str, package_role: str, unique_name: str, granted: bool | None
) -> str:
    """A role change whose answer was lost (or failed on EDFS's side), after reading the assignments back."""
    if granted is None:
        state = "the assignments could not be read back either; call list_package_roles to check"
    else:
        state = (
            f"reading them back shows iTwin role {quoted(itwin_role)} "
            f"{'has' if granted else 'does not have'} {quoted(package_role)} for {unique_name}, "
            "so the change did not take effect"
        )
    return (
        f"The change of package roles may or may not have been applied ({error}); {state}. It was not "
        "sent again. Call list_package_roles before calling set_package_role again."
    )


def revoke_question(itwin_role: str, package_role: str, unique_name: str, itwin_label: str) -> str:
    return (
        f"Take the package role {quoted(package_role)} for {unique_name} away from the iTwin role "
        f"{quoted(itwin_role)} on {itwin_label}? People who hold only that role will no longer be able "
        "to run it."
    )


def revoke_needs_confirm(itwin_role: str, package_role: str, unique_name: str) -> str:
    return (
        f"Not changed: taking {quoted(package_role)} for {unique_name} away from iTwin role "
        f"{quoted(itwin_role)} stops the people holding it from running the package, and this client "
        "cannot ask the user to confirm. Ask the user; if they agree, call set_package_role again with "
        "confirm=true."
    )


def revoke_declined(itwin_role: str, action: str) -> str:
    how = "declined" if action == "decline" else "cancelled the confirmation"
    return f"Not changed: the user {how} for iTwin role {quoted(itwin_role)}. Nothing was changed."


def revoke_unclear(itwin_role: str) -> str:
    return (
        f"Not changed: the confirmation for iTwin role {quoted(itwin_role)} came back without a yes or no "
        "(the client's answer did not fit the question). Nothing was changed. Ask the user; if they "
        "agree, call set_package_role again with confirm=true."
    )


def exec_forbidden(described: str, can_grant: bool) -> str:
    """A run refused with 403 (``described``: its text, which says what is missing and who grants it);
    when the caller may manage the package's roles here, how they can give it."""
    if not can_grant:
        return described
    return (
        f"{described} You can read this package's role assignments here (edfs_ilsmng and "
        "administration_manage_roles), so you may be able to give it: with the user's agreement, "
        "set_package_role(itwin_id, unique_name, itwin_role=<an iTwin role they hold>, granted=true) "
        "(list_package_roles names the roles). EDFS refuses unless the one who grants it holds it for this "
        "package too, or is an Org Admin."
    )
