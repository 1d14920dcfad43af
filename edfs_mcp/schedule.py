"""Cron schedules in words and their next run times (EDFS evaluates timers in UTC).

cron-descriptor and croniter load on first use: serving does not need them until
a timer is shown.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["describe_cron", "is_five_field_cron", "next_runs"]


def is_five_field_cron(expression: str) -> bool:
    """The form EDFS accepts: 'minute hour day-of-month month day-of-week', each field valid."""
    from croniter import croniter

    return len(expression.split()) == 5 and bool(croniter.is_valid(expression))


def describe_cron(expression: str) -> str:
    """'0 22 * * 1-5' → 'At 22:00, Monday through Friday'; the expression itself if it cannot."""
    from cron_descriptor import ExpressionDescriptor, Options

    options = Options()
    options.use_24hour_time_format = True
    try:
        return str(ExpressionDescriptor(expression, options).get_description())
    except Exception:  # cron-descriptor raises several unrelated types on odd input
        return expression


def next_runs(expression: str, count: int = 3, *, after: datetime | None = None) -> list[datetime]:
    """The next ``count`` run times in UTC; empty when the expression is not valid."""
    from croniter import croniter

    if not is_five_field_cron(expression):
        return []
    iterator = croniter(expression, after or datetime.now(UTC))
    return [iterator.get_next(datetime).astimezone(UTC) for _ in range(count)]
