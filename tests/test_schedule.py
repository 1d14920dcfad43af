"""Schedules in words; a cron EDFS refuses says why, and nothing here raises."""

import pytest

from edfs_mcp import cron
from edfs_mcp.schedule import describe_cron
from tests.cron_cases import ACCEPTED, REFUSED


def test_documented_crons_in_words() -> None:
    assert describe_cron("0 22 * * 1-5") == "At 22:00, Monday through Friday"
    assert describe_cron("15 14 1 * *") == "At 14:15, on day 1 of the month"
    assert describe_cron("0 0 * * 6,0") == "At 00:00, only on Saturday and Sunday"


@pytest.mark.parametrize("expression", ACCEPTED)
def test_every_accepted_cron_is_put_in_words(expression: str) -> None:
    words = describe_cron(expression)
    assert words.startswith(("At ", "Every ")), words


@pytest.mark.parametrize("expression", [*(refused for refused, _ in REFUSED), "", "\x00 ~"])
def test_a_refused_cron_says_it_is_not_valid_and_why(expression: str) -> None:
    text = describe_cron(expression)
    assert text.startswith("not a valid EDFS schedule: ")
    assert str(cron.problem(expression)).endswith(text.removeprefix("not a valid EDFS schedule: "))


def test_a_cron_that_cannot_be_put_in_words_is_shown_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    import cron_descriptor

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(cron_descriptor, "ExpressionDescriptor", broken)
    assert describe_cron("0 22 * * 1-5") == "0 22 * * 1-5"
