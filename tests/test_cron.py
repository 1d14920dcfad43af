"""The EDFS cron rule (edfs_mcp.cron) and the create_timer argument check that applies it.

The shared cases in tests/cron_cases.py are also sent to the sandbox (tests/sandbox/test_timers.py).
"""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from edfs_mcp import cron
from edfs_mcp.schedule import describe_cron
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


# --- Against a plain reference: every day from `after`, each field expanded by hand -------------------

FIELD_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))


def _reference_values(text: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for item in text.split(","):
        span, _, step = item.partition("/")
        first, _, last = span.partition("-")
        start = low if first == "*" else int(first)
        end = high if first == "*" or (step and not last) else int(last or first)
        values.update(range(start, end + 1, int(step or 1)))
    return values


def _reference_first_run(expression: str, after: datetime, days: int) -> datetime | None:
    fields = expression.split()
    minutes, hours, doms, months, dows = (
        _reference_values(text, low, high) for text, (low, high) in zip(fields, FIELD_RANGES, strict=True)
    )
    either = not fields[2].startswith("*") and not fields[4].startswith("*")
    for offset in range(days):
        day = after.date() + timedelta(days=offset)
        dom_ok, dow_ok = day.day in doms, (day.isoweekday() % 7) in dows
        if day.month not in months or not ((dom_ok or dow_ok) if either else (dom_ok and dow_ok)):
            continue
        for hour in sorted(hours):
            for minute in sorted(minutes):
                run = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                if run > after:
                    return run
    return None


def _items(low: int, high: int) -> st.SearchStrategy[str]:
    number = st.integers(low, high)
    step = st.integers(1, high - low + 1).map(lambda s: f"/{s}")
    ranged = st.tuples(number, number).map(lambda ab: f"{min(ab)}-{max(ab)}")
    single = number.map(str)
    stepped = st.tuples(st.sampled_from(["*", ""]) | ranged | single, step).map(
        lambda pair: f"{pair[0] or '*'}{pair[1]}"
    )
    return st.one_of(st.just("*"), single, ranged, stepped)


CRONS = st.tuples(
    *(st.lists(_items(low, high), min_size=1, max_size=3).map(",".join) for low, high in FIELD_RANGES)
).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(expression=CRONS, offset=st.integers(0, 4 * 366 * 24 * 60))
def test_the_first_run_matches_a_day_by_day_reference(expression: str, offset: int) -> None:
    after = AFTER + timedelta(minutes=offset)
    expected = _reference_first_run(expression, after, days=3 * 366)
    runs = _runs(expression, 1, after)
    if expected is not None:
        assert runs == [expected]
    else:  # rare, or never: then EDFS refuses it, or its first run is years away
        assert runs == [] or runs[0] > after + timedelta(days=3 * 366 - 1)
        assert (runs == []) == (cron.problem(expression) is not None)


@settings(max_examples=300, deadline=None)
@given(expression=st.text(max_size=40))
def test_any_text_gets_an_answer_and_never_an_exception(expression: str) -> None:
    sentence = cron.problem(expression)
    assert sentence is None or sentence.startswith("cron ")
    assert isinstance(describe_cron(expression), str)
    assert len(_runs(expression, 2)) == (0 if sentence else 2)
