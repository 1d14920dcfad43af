"""compact_schema: a $defs entry used once is written in place; what validates is unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel, Field

from edfs_mcp.tools import compact_schema


class Leaf(BaseModel):
    name: str


class Shared(BaseModel):
    value: int


class Tree(BaseModel):
    label: str
    children: list[Tree] = []


class Single(BaseModel):
    flag: bool


class Result(BaseModel):
    single: Single
    leaf: Leaf = Field(description="The one leaf")
    optional_leaf: Leaf | None = None
    first: Shared
    second: Shared
    tree: Tree


def test_a_def_used_once_is_inlined_and_the_shared_and_recursive_ones_stay() -> None:
    class Once(BaseModel):
        leaf: Leaf = Field(description="The one leaf")
        first: Shared
        second: Shared
        tree: Tree

    schema = compact_schema(Once.model_json_schema(), output=True)
    assert set(schema["$defs"]) == {"Shared", "Tree"}
    assert schema["properties"]["leaf"] == {
        "description": "The one leaf",
        "properties": {"name": {"type": "string"}},
        "type": "object",
    }
    assert schema["properties"]["first"] == {"$ref": "#/$defs/Shared"}
    assert schema["properties"]["tree"] == {"$ref": "#/$defs/Tree"}


def test_an_optional_def_used_once_becomes_a_nullable_object() -> None:
    class Maybe(BaseModel):
        leaf: Leaf | None = None

    schema = compact_schema(Maybe.model_json_schema(), output=True)
    assert "$defs" not in schema
    assert schema["properties"]["leaf"]["type"] == ["object", "null"]


@pytest.mark.parametrize(
    ("instance", "valid"),
    [
        (
            {
                "single": {"flag": True},
                "leaf": {"name": "a"},
                "optional_leaf": None,
                "first": {"value": 1},
                "second": {"value": 2},
                "tree": {"label": "r", "children": [{"label": "c", "children": []}]},
            },
            True,
        ),
        ({"single": {"flag": "no"}}, False),
        ({"leaf": {"name": 5}}, False),
        ({"optional_leaf": {"name": []}}, False),
        ({"second": {"value": "x"}}, False),
        ({"tree": {"label": "r", "children": [{"label": 3}]}}, False),
    ],
)
def test_what_validates_is_unchanged(instance: dict[str, Any], valid: bool) -> None:
    full = Result.model_json_schema()
    compact = compact_schema(full, output=True)
    assert set(compact["$defs"]) == {"Leaf", "Shared", "Tree"}  # Single, used once, is inlined
    assert Draft202012Validator(full).is_valid(instance) is valid
    assert Draft202012Validator(compact).is_valid(instance) is valid
