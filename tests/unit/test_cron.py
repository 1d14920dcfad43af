"""The EDFS cron rule (edfs_mcp.cron) and the create_timer argument check that applies it.

The shared cases in tests/cron_cases.py are also sent to the sandbox (tests/sandbox/test_timers.py).
"""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from pydantic import TypeAdapter, ValidationError

from edfs_mcp import cron
from edfs_mcp.tools._args import Cron
from tests.cron_cases import ACCEPTED, REFUSED

CRON = TypeAdapter(Cron)
AFTER = datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday


def _runs(expression: str, count: int, after: datetime = AFTER) -> list[datetime]:
    return cron.next_runs(expression, count, after=after)


@pytest.mark.parametrize("expression", ACCEPTED)
def test_accepted_everywhere_and_runs(expression: str) -> None:
    assert cron.problem(expression) is None
    assert CRON.validate_python(expression) == " ".join(expression.split())
    assert len(_runs(expression, 2)) == 2


@pytest.mark.parametrize(("expression", "words"), REFUSED)
def test_refused_with_one_sentence_naming_the_field(expression: str, words: str) -> None:
    sentence = cron.problem(expression)
    assert sentence is not None
    assert sentence.startswith(f"cron {expression!r} is not ")
    assert words in sentence
    assert "\n" not in sentence
    with pytest.raises(cron.CronError) as caught:
        cron.parse(expression)
    assert str(caught.value) == sentence and sentence.endswith(caught.value.reason)
    assert _runs(expression, 3) == []


@pytest.mark.parametrize(("expression", "words"), REFUSED)
def test_create_timer_argument_refuses_the_same_with_the_same_words(expression: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        CRON.validate_python(expression)
    assert str(cron.problem(expression)) in str(caught.value)


def test_empty_and_blank_are_refused() -> None:
    assert "it is empty" in str(cron.problem(""))
    with pytest.raises(ValidationError, match="it is empty"):
        CRON.validate_python(" \t ")


def test_a_long_expression_is_shortened_in_the_sentence() -> None:
    sentence = str(cron.problem("0" * 5000 + " * * * *"))
    assert "is outside 0-59" in sentence
    assert len(sentence) < 250


def test_runs_are_strictly_after_in_utc_and_day_of_week_zero_is_sunday() -> None:
    sunday_noon = datetime(2026, 11, 22, 12, tzinfo=UTC)
    assert _runs("0 0 * * 6,0", 2, sunday_noon) == [
        datetime(2026, 11, 28, tzinfo=UTC),
        datetime(2026, 11, 29, tzinfo=UTC),
    ]
    assert _runs("0 12 * * 0", 1, sunday_noon) == [datetime(2026, 11, 29, 12, tzinfo=UTC)]
    assert _runs("* * * * *", 1, datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC)) == [
        datetime(2026, 1, 1, 12, 1, tzinfo=UTC)
    ]


def test_other_zones_are_converted_and_naive_times_are_utc() -> None:
    plus_two = datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))  # 22:30 UTC on 31 Dec
    assert _runs("0 23 * * *", 1, plus_two) == [datetime(2025, 12, 31, 23, tzinfo=UTC)]
    assert _runs("0 23 * * *", 1, datetime(2026, 1, 1)) == [datetime(2026, 1, 1, 23, tzinfo=UTC)]


def test_steps_lists_and_n_slash_step() -> None:
    assert [r.minute for r in _runs("5/15 * * * *", 5)] == [5, 20, 35, 50, 5]
    assert [r.hour for r in _runs("0 0-6/2,23 * * *", 5)] == [2, 4, 6, 23, 0]
    assert [r.month for r in _runs("0 0 1 */5 *", 3)] == [6, 11, 1]


def test_29_february_runs_in_leap_years_only_and_not_in_2100() -> None:
    assert [r.year for r in _runs("0 0 29 2 *", 3)] == [2028, 2032, 2036]
    assert _runs("0 0 29 2 *", 1, datetime(2096, 3, 1, tzinfo=UTC)) == [datetime(2104, 2, 29, tzinfo=UTC)]


def test_both_day_fields_restricted_means_either_day() -> None:
    # June 2026: Monday the 1st, then Mondays 8, 15, 22, 29, and 1 July (a Wednesday).
    days = [r.date() for r in _runs("0 0 1 * 1", 5, datetime(2026, 6, 1, 0, 0, tzinfo=UTC))]
    assert [(d.month, d.day) for d in days] == [(6, 8), (6, 15), (6, 22), (6, 29), (7, 1)]
    february_mondays = _runs("0 0 30 2 1", 4)
    assert [r.day for r in february_mondays] == [2, 9, 16, 23] and {r.month for r in february_mondays} == {2}


def test_a_day_field_starting_with_a_star_means_both_must_match() -> None:
    # Days 1, 11, 21 and 31 that are Mondays.
    days = [r.date() for r in _runs("0 0 */10 * 1", 3)]
    assert days == [date(2026, 5, 11), date(2026, 6, 1), date(2026, 8, 31)]
    assert all(d.weekday() == 0 for d in days)


def test_a_rare_schedule_still_has_its_next_runs() -> None:
    runs = _runs("0 0 29 2 */7", 3)  # 29 February on a Sunday
    assert [r.year for r in runs] == [2032, 2060, 2088]
    assert all((r.month, r.day, r.weekday()) == (2, 29, 6) for r in runs)


def test_the_400_year_search_finds_every_date_that_exists() -> None:
    every_weekday = tuple(range(7))
    never = cron.Schedule((0,), (0,), (30,), (2,), every_weekday, either_day=False)
    assert next(never.dates(date(2000, 1, 1)), None) is None
    leap = cron.Schedule((0,), (0,), (29,), (2,), every_weekday, either_day=False)
    assert next(leap.dates(date(2001, 1, 1)), None) == date(2004, 2, 29)


def test_no_runs_for_zero_count_or_after_the_last_minute() -> None:
    assert _runs("* * * * *", 0) == []
    assert _runs("* * * * *", 1, datetime(9999, 12, 31, 23, 59, tzinfo=UTC)) == []
    assert _runs("* * * * *", 1, datetime(9999, 12, 31, 23, 58, tzinfo=UTC)) == [
        datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    ]
