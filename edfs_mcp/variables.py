"""Package variable names checked against the package's documented ones (its ``inputExample``).

EDFS ignores a variable it does not know, so a misspelled name silently runs the package
unfiltered (``AssetTyp`` returned all 24 assets). A name that is a case change or a small
edit away from a documented one is almost surely that one misspelled: it is refused before
anything runs. Other undocumented names may be real (examples are not always complete),
so they are sent and flagged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["NameCheck", "check_variable_names", "closest_documented"]


@dataclass(frozen=True)
class NameCheck:
    misspelled: dict[str, str]  # given name → the documented name it almost is
    undocumented: list[str]  # given names near no documented one


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance with adjacent swaps, or ``limit + 1`` once it is surely past ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def closest_documented(name: str, documented: Sequence[str]) -> str | None:
    """The documented name ``name`` is a case change or a small edit away from, if exactly one is."""
    folded = name.casefold()
    limit = 1 if len(name) <= 4 else 2
    near = [
        known
        for known in documented
        if known.casefold() == folded or _edit_distance(folded, known.casefold(), limit) <= limit
    ]
    return near[0] if len(near) == 1 else None


def check_variable_names(given: Iterable[str], documented: Sequence[str]) -> NameCheck:
    known = set(documented)
    misspelled: dict[str, str] = {}
    undocumented: list[str] = []
    for name in given:
        if name in known:
            continue
        match = closest_documented(name, documented)
        if match is None:
            undocumented.append(name)
        else:
            misspelled[name] = match
    return NameCheck(misspelled, undocumented)
