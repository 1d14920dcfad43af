"""Whether a package can run on an iTwin, in words: missing systems, who can add them, timers that
would fail, and a short line when the systems cannot be checked.

Part of ``edfs_mcp.messages``, the one home of model-facing text.
"""

from __future__ import annotations

from collections.abc import Sequence

from edfs_mcp.errors import ApiError, Forbidden
from edfs_mcp.messages._errors import describe

__all__ = [
    "itwin_label",
    "itwin_unreadable",
    "missing_systems_sentence",
    "not_ready_refusal",
    "not_ready_warning",
    "systems_unchecked",
]


def itwin_label(itwin_id: str, name: str | None) -> str:
    """How a result names an iTwin: its name first when known, then the ID the tools take."""
    return f"{name!r} (iTwin {itwin_id})" if name else f"iTwin {itwin_id}"


def itwin_unreadable(error: ApiError) -> str:
    """One iTwin's line in a listing across iTwins: a 403 is short (it repeats per iTwin)."""
    if isinstance(error, Forbidden):
        permission = error.operation.permission
        lacks = f"the iTwin permission {permission}" if permission else "a permission"
        return f"HTTP 403: this identity lacks {lacks} on this iTwin. Nothing was changed."
    return describe(error)


def systems_unchecked(error: ApiError) -> str:
    """Why the systems could not be read. A 403 is the common, harmless case (listing systems needs
    edfs_credmng; running a package does not), so it gets one sentence, not the full 403 advice."""
    if isinstance(error, Forbidden):
        return (
            "The iTwin's systems could not be checked: reading them needs the iTwin permission "
            "edfs_credmng, which this identity lacks there. That does not stop a run; a run says if a "
            "system is missing."
        )
    return "The iTwin's systems could not be checked: " + describe(error)


def missing_systems_sentence(missing: Sequence[tuple[str, str]]) -> str:
    """``missing``: (system type, systemId) pairs. We could list the iTwin's systems, so the caller
    holds edfs_credmng there and can add them."""
    systems = ", ".join(f"{system_type} system {system_id!r}" for system_type, system_id in missing)
    return (
        f"Not configured for this iTwin: {systems}; EDFS refuses to run it here (HTTP 422, nothing runs) "
        "until it is added. You can add it: set_up_system opens a page where the user types its "
        "credentials (they never pass through you)."
    )


def not_ready_refusal(action: str, unique_name: str, where: str, missing: Sequence[tuple[str, str]]) -> str:
    """A timer that could never run, refused before anything was sent."""
    return (
        f"Not {action}: {unique_name} cannot run on {where}, so an enabled timer would fail on every "
        f"run. Nothing was changed. {missing_systems_sentence(missing)} Then try again; or pass "
        "even_if_not_ready=true to have the timer anyway (it fails until the system exists), or use "
        "enabled=false."
    )


def not_ready_warning(unique_name: str, where: str, missing: Sequence[tuple[str, str]]) -> str:
    """After a toggle that switched a timer on whose package cannot run there."""
    head = f" Warning: {unique_name} cannot run on {where}, so each run will fail. "
    return head + missing_systems_sentence(missing)
