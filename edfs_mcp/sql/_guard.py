"""What a query may be, decided on DuckDB's own parse of it, never on its text.

1. Exactly one statement (``duckdb.extract_statements``), and of the SELECT kind: ``SELECT``,
   ``WITH … SELECT``, ``FROM result …``, ``VALUES``, ``SUMMARIZE result``, ``DESCRIBE result``.
   Every other kind (COPY, ATTACH, EXPORT, INSTALL/LOAD, PRAGMA, SET, CALL, EXPLAIN, PIVOT, DDL,
   DML…) is refused by its statement type.
2. In its parse tree (``json_serialize_sql``), every table is ``result`` or a name the query
   defines with WITH, unqualified; a table function is one of ``ALLOWED_TABLE_FUNCTIONS``
   (they make rows, they read nothing). So ``read_csv('…')``, ``glob('…')``, ``query('…')``,
   ``duckdb_settings()`` or a catalog view never run, even before the engine's own limits
   (external access disabled, configuration locked) would stop them.

``refusal_in_tree`` is pure: it reads the parse tree as JSON and says what is refused, or None.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["ALLOWED_TABLE_FUNCTIONS", "RESULT_TABLE", "refusal_in_tree", "statement_refusal"]

RESULT_TABLE = "result"
ALLOWED_TABLE_FUNCTIONS = frozenset({"unnest", "range", "generate_series"})


def statement_refusal(kinds: list[str]) -> str | None:
    """``kinds``: the statement types DuckDB's parser found, in order (e.g. ["SELECT"])."""
    if not kinds:
        return "an empty query"
    if len(kinds) > 1:
        return f"{len(kinds)} statements in one call"
    if kinds[0] != "SELECT":
        kind = kinds[0].replace("_", " ")
        return f"{'an' if kind[0] in 'AEIOU' else 'a'} {kind} statement"
    return None


def refusal_in_tree(tree: Any) -> str | None:
    """What in a ``json_serialize_sql`` tree is refused, in words; None when all is allowed."""
    if not isinstance(tree, dict) or tree.get("error") or not isinstance(tree.get("statements"), list):
        return "a statement that cannot be checked"
    try:
        _walk(tree["statements"], frozenset())
    except _Refused as refused:
        return refused.what
    return None


class _Refused(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def _cte_names(cte_map: Any) -> list[str]:
    entries = cte_map.get("map", []) if isinstance(cte_map, dict) else []
    return [str(entry.get("key", "")).lower() for entry in entries if isinstance(entry, dict)]


def _walk(node: Any, scope: frozenset[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, scope)
        return
    if not isinstance(node, dict):
        return
    cte_map = node.get("cte_map")
    if isinstance(cte_map, dict):
        names = _cte_names(cte_map)
        for index, entry in enumerate(cte_map.get("map", [])):
            # A WITH body sees the names defined before it and its own (WITH RECURSIVE).
            _walk(entry, scope | frozenset(names[: index + 1]))
        scope = scope | frozenset(names)
    kind = node.get("type")
    if kind == "BASE_TABLE":
        _check_table(node, scope)
    elif kind == "TABLE_FUNCTION":
        function = node.get("function")
        name = function.get("function_name") if isinstance(function, dict) else None
        if not isinstance(name, str) or name.lower() not in ALLOWED_TABLE_FUNCTIONS:
            raise _Refused(f"the table function {name}()")
        if function.get("schema") or function.get("catalog"):  # type: ignore[union-attr]
            raise _Refused(f"the table function {name}() of another schema")
    for key, value in _children(node):
        if key != "cte_map":
            _walk(value, scope)


def _check_table(node: dict[str, Any], scope: frozenset[str]) -> None:
    name = str(node.get("table_name", ""))
    qualified = node.get("schema_name") or node.get("catalog_name")
    if qualified or (name.lower() != RESULT_TABLE and name.lower() not in scope):
        shown = ".".join(
            str(part) for part in (node.get("catalog_name"), node.get("schema_name"), name) if part
        )
        raise _Refused(f"the table {shown!r}")


def _children(node: dict[str, Any]) -> Iterable[tuple[str, Any]]:
    return ((key, value) for key, value in node.items() if isinstance(value, dict | list))
