"""A small OData v4 query subset: ``$filter``, ``$select``, ``$orderby``, ``$top``, ``$skip``.

``$filter`` grammar (case-sensitive keywords, as in OData):

    or_expr   := and_expr ("or" and_expr)*
    and_expr  := not_expr ("and" not_expr)*
    not_expr  := "not" not_expr | primary
    primary   := "(" or_expr ")" | func "(" value "," value ")" | value [cmp value]
    func      := contains | startswith | endswith
    cmp       := eq | ne | gt | ge | lt | le
    value     := property | 'string' | number | true | false | null | date/datetime literal

Anything else, an unknown property or a comparison of mismatched types is a ``QueryError``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Row = Mapping[str, Any]
Pred = Callable[[Row], bool]
Getter = Callable[[Row], Any]
SUPPORTED = ("$filter", "$select", "$orderby", "$top", "$skip")
_EDM_KIND = {
    "Edm.String": "string",
    "Edm.Int32": "number",
    "Edm.Decimal": "number",
    "Edm.Boolean": "boolean",
    "Edm.DateTimeOffset": "datetime",
}
_TOKEN = re.compile(
    r"""\s*(?:
    (?P<str>'(?:[^']|'')*')
  | (?P<dt>[0-9]{4}-[0-9]{2}-[0-9]{2}
           (?:T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?)?)
  | (?P<num>-?[0-9]+(?:\.[0-9]+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[(),])
)""",
    re.VERBOSE,
)
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a is not None and b is not None and a > b,
    "ge": lambda a, b: a is not None and b is not None and a >= b,
    "lt": lambda a, b: a is not None and b is not None and a < b,
    "le": lambda a, b: a is not None and b is not None and a <= b,
}
_FUNCS: dict[str, Callable[[str, str], bool]] = {
    "contains": lambda a, b: b in a,
    "startswith": str.startswith,
    "endswith": str.endswith,
}
_TEXT = frozenset({"string", "datetime"})
_MAX_DEPTH = 32


class QueryError(Exception):
    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option, self.message = option, message


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(text):
        if not text[pos:].strip():
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            raise QueryError("$filter", f"Unexpected text at position {pos}: '{text[pos : pos + 10]}'.")
        tokens.append((match.lastgroup, match.group(match.lastgroup)))
        pos = match.end()
    return tokens


class _FilterParser:
    def __init__(self, text: str, types: Mapping[str, str]) -> None:
        self.tokens, self.pos, self.types = _tokenize(text), 0, types
        self.depth = 0  # nesting of "(" and "not"; capped so a hostile $filter cannot exhaust the stack

    def nest(self) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise QueryError("$filter", "The $filter expression is nested too deeply.")

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (expected is not None and token[1] != expected):
            message = f"Expected '{expected}'." if expected else "Unexpected end of $filter."
            raise QueryError("$filter", message)
        self.pos += 1
        return token

    def parse(self) -> Pred:
        pred = self.or_expr()
        if self.peek() is not None:
            raise QueryError("$filter", f"Unexpected '{self.take()[1]}'.")
        return pred

    def or_expr(self) -> Pred:
        preds = [self.and_expr()]
        while self.peek() == ("name", "or"):
            self.take()
            preds.append(self.and_expr())
        return preds[0] if len(preds) == 1 else lambda row: any(p(row) for p in preds)

    def and_expr(self) -> Pred:
        preds = [self.not_expr()]
        while self.peek() == ("name", "and"):
            self.take()
            preds.append(self.not_expr())
        return preds[0] if len(preds) == 1 else lambda row: all(p(row) for p in preds)

    def not_expr(self) -> Pred:
        if self.peek() == ("name", "not"):
            self.take()
            self.nest()
            inner = self.not_expr()
            self.depth -= 1
            return lambda row: not inner(row)
        return self.primary()

    def primary(self) -> Pred:
        token = self.peek()
        if token == ("punct", "("):
            self.take()
            self.nest()
            pred = self.or_expr()
            self.take(")")
            self.depth -= 1
            return pred
        if token is not None and token[0] == "name" and token[1] in _FUNCS:
            return self.function()
        left, left_kind = self.value()
        op = self.peek()
        if op is None or op[0] != "name" or op[1] not in _COMPARE:
            if left_kind != "boolean":
                raise QueryError("$filter", "Expected a comparison operator (eq, ne, gt, ge, lt, le).")
            return lambda row: left(row) is True
        self.take()
        right, right_kind = self.value()
        kinds = {left_kind, right_kind}
        if "null" not in kinds and len(kinds) > 1 and kinds != _TEXT:
            raise QueryError("$filter", f"Cannot compare {left_kind} with {right_kind}.")
        compare = _COMPARE[op[1]]
        return lambda row: compare(left(row), right(row))

    def function(self) -> Pred:
        name = self.take()[1]
        self.take("(")
        first, first_kind = self.value()
        self.take(",")
        second, second_kind = self.value()
        self.take(")")
        if first_kind not in _TEXT or second_kind not in _TEXT:
            raise QueryError("$filter", f"{name}() takes two strings.")
        func = _FUNCS[name]

        def pred(row: Row) -> bool:
            a, b = first(row), second(row)
            return isinstance(a, str) and isinstance(b, str) and func(a, b)

        return pred

    def value(self) -> tuple[Getter, str]:
        kind, text = self.take()
        if kind == "str":
            literal = text[1:-1].replace("''", "'")
            return (lambda row: literal), "string"
        if kind == "dt":
            return (lambda row: text), "datetime"
        if kind == "num":
            number = float(text) if "." in text else int(text)
            return (lambda row: number), "number"
        if kind == "name" and text in ("true", "false", "null"):
            constant = {"true": True, "false": False, "null": None}[text]
            return (lambda row: constant), "null" if constant is None else "boolean"
        if kind == "name" and self.peek() == ("punct", "("):
            raise QueryError(
                "$filter", f"Function '{text}' is not supported; the functions are {', '.join(_FUNCS)}."
            )
        if kind == "name":
            if text not in self.types:
                raise QueryError("$filter", f"Unknown property '{text}'.")
            return (lambda row: row.get(text)), _EDM_KIND.get(self.types[text], "string")
        raise QueryError("$filter", f"Unexpected '{text}'.")


def _sort_key(name: str) -> Callable[[Row], tuple[bool, Any]]:
    return lambda row: (row.get(name) is not None, row.get(name))


def _names(option: str, text: str, types: Mapping[str, str]) -> list[str]:
    names = [n.strip() for n in text.split(",")]
    for name in names:
        if name not in types:
            raise QueryError(option, f"Unknown property '{name}'." if name else f"Empty item in {option}.")
    return names


def _count(option: str, text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,9}", text.strip()):
        raise QueryError(option, f"{option} must be a non-negative integer.")
    return int(text)


def parse_select(text: str | None, properties: Sequence[tuple[str, str]]) -> list[str] | None:
    """Selected property names, or None for all."""
    if text is None or text.strip() == "*":
        return None
    return _names("$select", text, dict(properties))


def apply_query(
    rows: Sequence[Row], properties: Sequence[tuple[str, str]], options: Mapping[str, str]
) -> tuple[list[dict[str, Any]], list[str] | None]:
    """Filter, order, page and project ``rows``; returns (rows, selected names or None)."""
    types = dict(properties)
    for option in options:
        if option.startswith("$") and option not in SUPPORTED:
            raise QueryError(option, f"Query option '{option}' is not supported.")
    out = list(rows)
    if "$filter" in options:
        pred = _FilterParser(options["$filter"], types).parse()
        out = [r for r in out if pred(r)]
    if "$orderby" in options:
        keys = []
        for item in options["$orderby"].split(","):
            parts = item.split()
            if len(parts) not in (1, 2) or (len(parts) == 2 and parts[1] not in ("asc", "desc")):
                raise QueryError("$orderby", f"'{item.strip()}' is not 'Property [asc|desc]'.")
            keys.append((_names("$orderby", parts[0], types)[0], len(parts) == 2 and parts[1] == "desc"))
        for name, desc in reversed(keys):  # stable sorts, last key first; nulls sort low
            out.sort(key=_sort_key(name), reverse=desc)
    skip = _count("$skip", options["$skip"]) if "$skip" in options else 0
    top = _count("$top", options["$top"]) if "$top" in options else None
    out = out[skip:] if top is None else out[skip : skip + top]
    selected = parse_select(options.get("$select"), properties)
    return [{n: r.get(n) for n in selected} if selected else dict(r) for r in out], selected
