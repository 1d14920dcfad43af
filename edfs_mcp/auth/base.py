"""The interface between sign-in and the API client."""

from __future__ import annotations

from typing import Protocol

__all__ = ["TokenSource"]


class TokenSource(Protocol):
    """Hands out bearer tokens; knows how to renew them."""

    async def get_token(self) -> str:
        """A token valid for at least the next minute (renewing it if needed)."""
        ...

    async def reject(self, token: str) -> bool:
        """The API answered 401 to ``token``: drop it. True when a retry may get a new one."""
        ...

    async def aclose(self) -> None:
        """Release any HTTP client held."""
        ...
