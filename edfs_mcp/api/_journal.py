"""Which writes this block of code has sent: a context-local journal for the layer above the client.

The HTTP loop records a write just before its request is handed to the transport, notes the status
of its answer when one arrives, and takes the entry back when the request surely never left this
machine or was surely not processed (a connect failure, 401 or 429, all of which may be re-sent).
What is left is every write that may have had an effect, so the caller can report any later failure
as that write's outcome::

    with sent_writes() as journal:
        await client.execute_package(...)
        ...
    journal.operations  # (EXECUTE,) once the execute request left, whatever happened after

Journals nest: a write is recorded in every journal open around it. Tasks started inside the block
share the journal (they copy the context, and with it the same journal object).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from edfs_mcp.errors import Operation

__all__ = ["SentWrite", "WriteJournal", "sent_writes"]


@dataclass(eq=False)
class SentWrite:
    """One write request that left (or may have left) this machine."""

    operation: Operation
    path_params: Mapping[str, str] = field(default_factory=dict)
    # The status of its answer; None while none arrived (lost, cut, too slow, or still running).
    status: int | None = None


@dataclass
class WriteJournal:
    """The writes sent while the journal was open, oldest first."""

    writes: list[SentWrite] = field(default_factory=list)

    @property
    def operations(self) -> tuple[Operation, ...]:
        return tuple(entry.operation for entry in self.writes)


_OPEN: ContextVar[tuple[WriteJournal, ...]] = ContextVar("edfs_mcp_write_journals", default=())


@contextmanager
def sent_writes() -> Iterator[WriteJournal]:
    """Open a journal for the block; it records every write request sent inside it."""
    journal = WriteJournal()
    token = _OPEN.set((*_OPEN.get(), journal))
    try:
        yield journal
    finally:
        _OPEN.reset(token)


def record(operation: Operation, path_params: Mapping[str, str]) -> SentWrite | None:
    """Note a write about to be handed to the transport (nothing when no journal is open)."""
    journals = _OPEN.get()
    if not journals:
        return None
    entry = SentWrite(operation, dict(path_params))
    for journal in journals:
        journal.writes.append(entry)
    return entry


def retract(entry: SentWrite | None) -> None:
    """Take back an entry whose request surely had no effect."""
    if entry is None:
        return
    for journal in _OPEN.get():
        if entry in journal.writes:
            journal.writes.remove(entry)
