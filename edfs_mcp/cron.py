"""The EDFS cron rule (docs/edfs-api.md §8), once: what is accepted, why not, and when it runs.

A schedule is exactly five fields separated by white space, ``minute hour day-of-month month
day-of-week``, evaluated in UTC. Each field is a comma list of items; an item is ``*``, ``n`` or
``a-b`` (a <= b), optionally followed by ``/step`` (1 up to the field's width; ``n/step`` means
``n-max/step``). Ranges: minute 0-59, hour 0-23, day-of-month 1-31, month 1-12, day-of-week 0-6
with 0 = Sunday. Names (``MON``, ``JAN``), ``7`` for Sunday, ``?``, ``L``, ``W``, ``#``, macros
(``@daily``) and 6- or 7-field Quartz forms are refused.

Days follow Vixie cron: when both day fields are restricted (neither starts with ``*``), a day
runs if either matches; otherwise both must match. A schedule that can never run (``0 0 30 2 *``)
is refused; ``0 0 29 2 *`` runs in leap years.

Pure and stdlib-only: the tools and the sandbox both use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import MAXYEAR, UTC, date, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

from edfs_mcp.errors import EdfsMcpError

__all__ = ["CronError", "Schedule", "next_runs", "parse", "problem"]

FORM = "'minute hour day-of-month month day-of-week' in UTC"
EXAMPLE = "'0 22 * * 1-5'"
# The Gregorian calendar repeats every 400 years (146 097 days, a whole number of weeks).
HORIZON_YEARS = 400

_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 6),
)
_ITEM = re.compile(r"(?:(\*)|([0-9]+)(?:-([0-9]+))?)(?:/([0-9]+))?")
_NAMES = {
    "month": {
        "JAN": 1,
        "FEB": 2,
        "MAR": 3,
        "APR": 4,
        "MAY": 5,
        "JUN": 6,
        "JUL": 7,
        "AUG": 8,
        "SEP": 9,
        "OCT": 10,
        "NOV": 11,
        "DEC": 12,
    },
    "day-of-week": {"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6},
}
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class CronError(EdfsMcpError):
    """A refused schedule. ``str()`` is one sentence naming it; ``reason`` is the part after the colon."""

    def __init__(self, expression: str, reason: str, *, wrong_shape: bool = False) -> None:
        self.expression = expression
        self.reason = reason
        self.wrong_shape = wrong_shape
        kind = "a 5-field cron" if wrong_shape else "an EDFS schedule"
        super().__init__(f"cron {_shown(expression)} is not {kind}: {reason}")


class _Refusal(NamedTuple):
    # Cached instead of a CronError: a raised exception keeps its traceback's frames alive.
    reason: str
    wrong_shape: bool = False


class Schedule(NamedTuple):
    """An accepted schedule: each field's values, ascending."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...]
    months: tuple[int, ...]
    weekdays: tuple[int, ...]  # 0 = Sunday
    either_day: bool  # both day fields restricted: a day runs when either matches

    def dates(self, start: date, years: int = HORIZON_YEARS) -> Iterator[date]:
        """The days it runs on, from ``start`` on, ascending, for ``years`` calendar years."""
        days, weekdays = frozenset(self.days), frozenset(self.weekdays)
        for year in range(start.year, min(start.year + years, MAXYEAR + 1)):
            for month in self.months:
                if (year, month) < (start.year, start.month):
                    continue
                length = _days_in(year, month)
                sunday_based = (date(year, month, 1).weekday() + 1) % 7  # weekday of the 1st, 0 = Sunday
                # Either day field may match: try every day. Both must: only the listed days.
                candidates = range(1, length + 1) if self.either_day else self.days
                for day in candidates:
                    if day > length:
                        break
                    if (year, month) == (start.year, start.month) and day < start.day:
                        continue
                    in_days, in_weekdays = day in days, (sunday_based + day - 1) % 7 in weekdays
                    if (in_days or in_weekdays) if self.either_day else (in_days and in_weekdays):
                        yield date(year, month, day)

    def runs(self, after: datetime) -> Iterator[datetime]:
        """Run times strictly after ``after`` (UTC; a naive time is taken as UTC), ascending."""
        moment = after.astimezone(UTC) if after.tzinfo is not None else after.replace(tzinfo=UTC)
        try:
            first = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        except OverflowError:  # after the last minute of year 9999
            return
        for day in self.dates(first.date()):
            for hour in self.hours:
                if day == first.date() and hour < first.hour:
                    continue
                for minute in self.minutes:
                    run = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                    if run >= first:
                        yield run


def parse(expression: str) -> Schedule:
    """The schedule ``expression`` stands for; :class:`CronError` when EDFS would refuse it."""
    found = _parse(expression)
    if isinstance(found, _Refusal):
        raise CronError(expression, found.reason, wrong_shape=found.wrong_shape)
    return found


def problem(expression: str) -> str | None:
    """One sentence saying why EDFS refuses ``expression`` and what it takes instead, or None."""
    try:
        parse(expression)
    except CronError as error:
        return str(error)
    return None


def next_runs(expression: str, count: int = 3, *, after: datetime | None = None) -> list[datetime]:
    """The next ``count`` runs in UTC after ``after`` (default now); empty when it is refused.

    Fewer when the schedule runs less often than that within 400 years (only odd ones such as
    29 February on a Sunday).
    """
    found = _parse(expression)
    if isinstance(found, _Refusal) or count <= 0:
        return []
    runs: list[datetime] = []
    for run in found.runs(after or datetime.now(UTC)):
        runs.append(run)
        if len(runs) == count:
            break
    return runs


@lru_cache(maxsize=512)
def _parse(expression: str) -> Schedule | _Refusal:
    fields = expression.split()
    if len(fields) != 5:
        return _Refusal(_shape_reason(fields), wrong_shape=True)
    try:
        values = [_field(text, *spec) for text, spec in zip(fields, _FIELDS, strict=True)]
    except _FieldError as error:
        return _Refusal(str(error))
    minutes, hours, days, months, weekdays = values
    either = not fields[2].startswith("*") and not fields[4].startswith("*")
    schedule = Schedule(minutes, hours, days, months, weekdays, either)
    # A full 400-year cycle from any start holds every date and weekday there is.
    if next(schedule.dates(date(2000, 1, 1)), None) is None:
        return _Refusal(f"it never runs, as day-of-month {fields[2]!r} never occurs in month {fields[3]!r}")
    return schedule


class _FieldError(Exception):
    pass


def _field(text: str, name: str, low: int, high: int) -> tuple[int, ...]:
    width = high - low + 1
    values: set[int] = set()
    for item in text.split(","):
        match = _ITEM.fullmatch(item)
        if match is None:
            raise _FieldError(_unreadable(text, name, low, high))
        star, first, last, step_text = match.groups()
        if star:
            start, end = low, high
        else:
            start = _number(first, text, name, low, high)
            end = _number(last, text, name, low, high) if last else high if step_text else start
            if start > end:
                split = "" if step_text else f", so write '{start}-{high},{low}-{end}' for {item}"
                raise _FieldError(
                    f"{name} field {_shown(text)} has a range that runs backwards; ranges go low-high{split}"
                )
        step = int(step_text) if step_text and len(step_text) <= 3 else 0 if step_text else 1
        if not 1 <= step <= width:
            raise _FieldError(
                f"{name} field {_shown(text)} has step {step_text[:6]}; a step must be 1-{width}"
            )
        values.update(range(start, end + 1, step))
    return tuple(sorted(values))


def _number(digits: str, text: str, name: str, low: int, high: int) -> int:
    value = int(digits) if len(digits) <= 3 else high + 1
    if not low <= value <= high:
        sunday = "; use 0 for Sunday" if name == "day-of-week" and value == 7 else ""
        raise _FieldError(f"{name} field {_shown(text)} is outside {low}-{high}{sunday}")
    return value


def _unreadable(text: str, name: str, low: int, high: int) -> str:
    field = f"{name} field {_shown(text)}"
    if re.fullmatch(r"[0-9*,/-]+", text):
        return f"{field} must be a comma list of '*', 'n' or 'a-b', each with an optional '/step'"
    sunday = " (0 = Sunday)" if name == "day-of-week" else ""
    reason = f"{field} must use only numbers {low}-{high}{sunday}, '*', '-', '/' and ','"
    names = _NAMES.get(name, {})
    words = re.findall(r"[A-Za-z]+", text)
    if words and all(word.upper() in names for word in words):
        numbered = re.sub(r"[A-Za-z]+", lambda word: str(names[word.group().upper()]), text)
        try:
            _field(numbered, name, low, high)
        except _FieldError:
            return reason
        return f"{reason}; write {numbered!r}"
    if re.search(r"[?#LW]", text.upper()) and re.fullmatch(r"[0-9*,/?#LW-]+", text.upper()):
        return f"{reason}; Quartz's '?', 'L', 'W' and '#' are not accepted"
    return reason


def _shape_reason(fields: list[str]) -> str:
    if not fields:
        return f"it is empty; write {FORM}, e.g. {EXAMPLE}"
    if len(fields) == 1 and fields[0].startswith("@"):
        same = _MACROS.get(fields[0].lower())
        return f"macros are not accepted; write {repr(same) if same else FORM}"
    count = f"{len(fields)} field{'s' if len(fields) != 1 else ''}"
    if len(fields) in (6, 7):
        return f"it has {count}, but EDFS takes {FORM}, without seconds or year, e.g. {EXAMPLE}"
    return f"it has {count}; write {FORM}, e.g. {EXAMPLE}"


def _days_in(year: int, month: int) -> int:
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _MONTH_DAYS[month - 1]


def _shown(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:57] + "...")
