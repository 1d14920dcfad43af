"""Finishing a sign-in without leaving the chat.

When a tool needs a token and a device sign-in was started for the person, clients that
support URL-mode elicitation (2025-11-25 era) are asked to show the verification page; the
call then waits for the approval and runs. Other clients get a ToolError that tells the
model to show the URL and code; polling goes on in the background, so the next call works.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from mcp.server.mcpserver import Context

from edfs_mcp import messages
from edfs_mcp.errors import SignInRequired

__all__ = ["finish_sign_in_in_chat"]

POLL_SECONDS = 2.0
MODERN_ERA = "2026-07-28"


def _can_show_url(ctx: Context[Any, Any]) -> bool:
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    # On 2026-07-28 elicitation travels in input-required results, which a sign-in that
    # finishes out of band cannot use mid-call; there the ToolError path applies.
    legacy = (ctx.protocol_version or "") < MODERN_ERA
    return legacy and elicitation is not None and elicitation.url is not None


async def finish_sign_in_in_chat(
    ctx: Context[Any, Any], error: SignInRequired, retry: Callable[[], Awaitable[Any]]
) -> Any:
    """Show the sign-in page through the client and retry once approved; else re-raise."""
    prompt = error.prompt
    if prompt is None or not _can_show_url(ctx):
        raise error
    url = prompt.verification_uri_complete or prompt.verification_uri
    outcome = await ctx.elicit_url(messages.sign_in_url_message(prompt.user_code), url, uuid.uuid4().hex)
    if outcome.action != "accept":
        raise error
    while time.time() < prompt.expires_at:
        await anyio.sleep(POLL_SECONDS)
        await ctx.report_progress(0, None, "waiting for the Bentley sign-in to be approved")
        try:
            return await retry()
        except SignInRequired as again:
            if again.prompt is None or again.prompt.user_code != prompt.user_code:
                raise
    raise error
