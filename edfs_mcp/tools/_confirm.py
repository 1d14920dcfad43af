"""The yes/no a destructive tool asks before it acts (delete a timer or a system, take a role away).

A client may accept the question with content that does not fit it ({}, a string, another field):
that is not a yes. Read as ``unclear`` (rather than the SDK's schema error), it lets the tool say
that nothing was changed and what to do next.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, PrivateAttr, ValidationError, ValidatorFunctionWrapHandler, model_validator

__all__ = ["YesOrNo"]


class YesOrNo(BaseModel):
    """Subclass with exactly one ``bool`` field, the question (its description is what the user reads)."""

    _unclear: bool = PrivateAttr(False)

    @model_validator(mode="wrap")
    @classmethod
    def _anything_but_a_yes_or_no_is_unclear(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if isinstance(data, cls):
            return data
        (field,) = cls.model_fields
        try:
            answer = handler(data) if isinstance(data, dict) and field in data else None
        except ValidationError:
            answer = None
        if answer is None:
            answer = handler({})
            answer._unclear = True
        return answer

    @property
    def unclear(self) -> bool:
        return self._unclear
