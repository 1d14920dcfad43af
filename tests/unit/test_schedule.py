from datetime import UTC, datetime

from edfs_mcp.schedule import describe_cron, is_five_field_cron, next_runs


def test_documented_crons_in_words() -> None:
    assert describe_cron("0 22 * * 1-5") == "At 22:00, Monday through Friday"
    assert describe_cron("15 14 1 * *") == "At 14:15, on day 1 of the month"


def test_only_five_valid_fields_are_accepted() -> None:
    assert is_five_field_cron("0 0 * * 6,0")
    assert not is_five_field_cron("0 0 0 * * ?")
    assert not is_five_field_cron("61 0 * * *")
    assert not is_five_field_cron("0 0 * *")


def test_next_runs_are_in_utc_and_follow_day_of_week_zero_is_sunday() -> None:
    runs = next_runs("0 0 * * 6,0", 2, after=datetime(2026, 11, 22, 12, tzinfo=UTC))  # a Sunday
    assert runs == [datetime(2026, 11, 28, tzinfo=UTC), datetime(2026, 11, 29, tzinfo=UTC)]
    assert next_runs("not cron") == []
