"""One table of cron cases, answered alike by edfs_mcp.cron, the create_timer argument check and the sandbox.

The rule is in docs/edfs-api.md §8: five fields ``minute hour day-of-month month day-of-week`` (UTC),
each a comma list of ``*``, ``n`` or ``a-b`` with an optional ``/step``; day-of-week 0-6, 0 = Sunday;
Vixie cron's day rule; a schedule that can never run is refused.
"""

from __future__ import annotations

ACCEPTED: tuple[str, ...] = (
    "0 0 * * 6,0",  # the API reference's example: Saturday and Sunday
    "0 22 * * 1-5",
    "15 14 1 * *",
    "*/5 0-6/2 1,15 1-12 *",
    "59 23 31 12 6",
    "0  0\t* * *",  # any white space between fields
    "5/15 * * * *",  # n/step is n-59/step
    "0 0 * * 0",  # Sunday
    "0 0 29 2 *",  # 29 February: leap years only
    "0 0 31 4,5 *",  # April has no 31st, May does
    "0 12 31 */2 *",
    "0 0 30 2 1",  # both day fields restricted: Mondays in February
)

# (expression, words its refusal contains)
REFUSED: tuple[tuple[str, str], ...] = (
    ("0 0 * * MON", "day-of-week field 'MON' must use only numbers 0-6 (0 = Sunday)"),
    ("0 0 * * MON-FRI", "write '1-5'"),
    ("MON 1 * * *", "minute field 'MON' must use only numbers 0-59"),
    ("0 0 1 JAN *", "month field 'JAN' must use only numbers 1-12"),
    ("0 0 * * 7", "day-of-week field '7' is outside 0-6; use 0 for Sunday"),
    ("0 0 L * *", "day-of-month field 'L'"),
    ("0 0 15W * *", "'W'"),
    ("0 0 * * 5#3", "day-of-week field '5#3'"),
    ("0 0 ? * *", "'?'"),
    ("@daily", "is not a 5-field cron: macros are not accepted; write '0 0 * * *'"),
    ("0 0 12 * * ?", "is not a 5-field cron: it has 6 fields"),  # Quartz, with seconds
    ("0 0 12 ? * MON *", "it has 7 fields"),  # Quartz, with seconds and year
    ("0 0 * *", "it has 4 fields"),
    ("*/0 * * * *", "minute field '*/0' has step 0; a step must be 1-60"),
    ("5-1 * * * *", "minute field '5-1' has a range that runs backwards"),
    ("60 * * * *", "minute field '60' is outside 0-59"),
    ("0 24 * * *", "hour field '24' is outside 0-23"),
    ("0 0 0 * *", "day-of-month field '0' is outside 1-31"),
    ("0 0 * 13 *", "month field '13' is outside 1-12"),
    ("1,,2 * * * *", "minute field '1,,2' must be a comma list"),
    ("0 0 30 2 *", "it never runs, as day-of-month '30' never occurs in month '2'"),
    ("0 0 31 4 *", "it never runs"),
    ("0 0 31 2,4,6,9,11 *", "it never runs"),
    ("0 0 30 2 */1", "it never runs"),  # day-of-week starts with '*', so both day fields must match
)
