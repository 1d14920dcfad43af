"""Tool argument types reject bad input with a message naming the argument and the fix."""

import pytest
from pydantic import TypeAdapter, ValidationError

from edfs_mcp.tools._args import ITwinId, TimerId, UniqueName, Variables, VariableValue
from edfs_mcp.tools.odata import EntitySetName

ITWIN = TypeAdapter(ITwinId)
TIMER = TypeAdapter(TimerId)
NAME = TypeAdapter(UniqueName)
VALUE = TypeAdapter(VariableValue)


def test_guid_is_normalised() -> None:
    assert (
        ITWIN.validate_python(" 0F8C4B7E-1D1C-4C55-9A4F-4E6B0B8F3A11 ")
        == "0f8c4b7e-1d1c-4c55-9a4f-4e6b0b8f3a11"
    )


@pytest.mark.parametrize(
    "value",
    ["", "northgate", "0f8c4b7e-1d1c-4c55-9a4f-4e6b0b8f3a1", "../0f8c4b7e-1d1c-4c55-9a4f-4e6b0b8f3a11"],
)
def test_bad_itwin_id_names_the_argument_and_find_itwins(value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ITWIN.validate_python(value)
    text = str(caught.value)
    assert "itwin_id" in text and "find_itwins" in text


def test_bad_timer_id_points_to_list_timers() -> None:
    with pytest.raises(ValidationError, match="list_timers"):
        TIMER.validate_python("timer-1")


@pytest.mark.parametrize("value", ["SAP_WORK_ORDERS", "a.b-c_1"])
def test_unique_name_accepts_the_api_charset(value: str) -> None:
    assert NAME.validate_python(value) == value


@pytest.mark.parametrize("value", ["", "..", ".", "a/b", "a b", "a%2Fb", "é", "x" * 129, "a?b=c"])
def test_unique_name_rejects_anything_else(value: str) -> None:
    with pytest.raises(ValidationError):
        NAME.validate_python(value)


@pytest.mark.parametrize(("value", "expected"), [(7, "7"), (2.5, "2.5"), (True, "true"), ("x", "x")])
def test_variable_values_become_strings(value: object, expected: str) -> None:
    assert VALUE.validate_python(value) == expected


VARIABLES = TypeAdapter(Variables)


@pytest.mark.parametrize(
    "variables",
    [
        {"x" * 129: "v"},  # a name past 128 characters (a 10 MB name was accepted and sent)
        {"": "v"},
        {"Plant\n": "v"},
        {"Pla\x00nt": "v"},
        {"v": "x" * 10_001},
        {f"name{i}": "v" for i in range(101)},
    ],
)
def test_variables_are_bounded_in_names_values_and_count(variables: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        VARIABLES.validate_python(variables)


def test_plain_variables_pass() -> None:
    assert VARIABLES.validate_python({"AssetType": "PUMP", "Site Id": 7}) == {
        "AssetType": "PUMP",
        "Site Id": "7",
    }


@pytest.mark.parametrize("value", ["SAP_WORK_ORDERS\n", "SAP\nX"])
def test_a_trailing_or_inner_newline_is_no_unique_name(value: str) -> None:
    # Stripped at the ends (a model's stray newline), never matched across a line break.
    if value.endswith("\n"):
        assert NAME.validate_python(value) == "SAP_WORK_ORDERS"
    else:
        with pytest.raises(ValidationError):
            NAME.validate_python(value)


@pytest.mark.parametrize("value", ["Set1\n", "Set1\nX", " Set1"])
def test_an_entity_set_must_match_as_a_whole(value: str) -> None:
    with pytest.raises(ValidationError, match="is not an OData entity set name"):
        TypeAdapter(EntitySetName).validate_python(value)
