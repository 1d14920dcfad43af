"""YesOrNo: only an answer to the question is a yes or a no; anything else is unclear."""

import pytest
from pydantic import Field

from edfs_mcp.tools._confirm import YesOrNo


class Question(YesOrNo):
    delete: bool = Field(False, description="Delete it?")


@pytest.mark.parametrize(("content", "delete"), [({"delete": True}, True), ({"delete": False}, False)])
def test_an_answer_to_the_question_is_clear(content: dict[str, bool], delete: bool) -> None:
    answer = Question.model_validate(content)
    assert answer.delete is delete and not answer.unclear


@pytest.mark.parametrize("content", [{}, {"revoke": True}, {"delete": "perhaps"}, "yes", None, [True]])
def test_anything_else_is_unclear_and_never_a_yes(content: object) -> None:
    answer = Question.model_validate(content)
    assert answer.unclear and answer.delete is False


def test_the_question_the_user_sees_is_the_one_field() -> None:
    schema = Question.model_json_schema()
    assert list(schema["properties"]) == ["delete"]
    assert schema["properties"]["delete"]["description"] == "Delete it?"
