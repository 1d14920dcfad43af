from edfs_mcp.render import cell, render_payload


def test_records_become_a_table_with_the_header_once() -> None:
    text = render_payload(
        {
            "summary": "2 rows.",
            "row_count": 2,
            "columns": ["b", "a"],
            "rows": [{"a": 1, "b": "x"}, {"a": 2, "b": None}],
        },
    )
    assert text.splitlines() == [
        "2 rows.",
        "row_count: 2",
        "columns: b, a",
        "rows (2):",
        "b | a",
        "x | 1",
        " | 2",
    ]


def test_nulls_are_left_out_and_empty_lists_said() -> None:
    text = render_payload({"summary": "s", "result_id": None, "timers": [], "flag": False})
    assert text.splitlines() == ["s", "timers: (none)", "flag: false"]


def test_nested_objects_are_flattened_with_dots() -> None:
    text = render_payload({"summary": "s", "timer": {"id": "t1", "enabled": True}, "changed": True})
    assert text.splitlines() == ["s", "timer.id: t1", "timer.enabled: true", "changed: true"]


def test_a_cell_never_breaks_its_row() -> None:
    assert cell("a|b\nc\\d") == "a\\|b\\nc\\\\d"
    assert cell({"k": "v|w"}) == '{"k":"v\\|w"}'
    assert cell(["x", 1, True]) == "x, 1, true"
    assert cell([{"k": 1}]) == '[{"k":1}]'


def test_records_with_different_keys_share_one_header() -> None:
    text = render_payload({"summary": "s", "items": [{"a": 1}, {"b": 2}]})
    assert text.splitlines()[1:] == ["items (2):", "a | b", "1 | ", " | 2"]


def test_a_column_without_any_value_is_left_out() -> None:
    text = render_payload({"summary": "s", "items": [{"a": 1, "b": None}, {"a": 2}]})
    assert text.splitlines()[1:] == ["items (2):", "a", "1", "2"]
