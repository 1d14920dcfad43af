"""Finishing a sign-in without leaving the chat.

When a tool needs a token and a device sign-in was started for the person, clients that
support URL-mode elicitation are asked to show the verification page — pushed as an
elicitation request on 2025-11-25, returned as an input-required result on 2026-07-28 —
and the call waits for the approval and runs: each retry asks for a token, which makes the
sign-in's next token poll when one is due (``edfs_mcp.auth.user``; nothing polls in the
background). Other clients get a ToolError that tells the model to show the URL and code; the
first call after the approval makes that poll and gets the token.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from mcp.server.mcpserver import Context
from mcp.types import ElicitRequest, ElicitRequestURLParams, ElicitResult, InputRequiredResult

from edfs_mcp import messages
from edfs_mcp.errors import SignInRequired
from edfs_mcp.tools._client import elicitation

__all__ = ["finish_sign_in_in_chat"]

POLL_SECONDS = 2.0
SIGN_IN_KEY = "bentley_sign_in"
MODERN_ERA = "2026-07-28"


async def finish_sign_in_in_chat(
    ctx: Context[Any, Any], error: SignInRequired, retry: Callable[[], Awaitable[Any]]
) -> Any:
    """Show the sign-in page through the client and retry once approved; else re-raise."""
    prompt = error.prompt
    if prompt is None or not elicitation(ctx).url:
        raise error
    url = prompt.verification_uri_complete or prompt.verification_uri
    message = messages.sign_in_url_message(prompt.user_code)
    if (ctx.protocol_version or "") >= MODERN_ERA:
        responses = ctx.input_responses or {}
        answer = responses.get(SIGN_IN_KEY)
        if answer is None:
            # The client shows the page, then retries this same call with the answer.
            request = ElicitRequest(params=ElicitRequestURLParams(message=message, url=url))
            return InputRequiredResult(input_requests={SIGN_IN_KEY: request})
        accepted = isinstance(answer, ElicitResult) and answer.action == "accept"
    else:
        accepted = (await ctx.elicit_url(message, url, uuid.uuid4().hex)).action == "accept"
    if not accepted:
        raise error
    return await _wait_and_retry(ctx, error, retry)


async def _wait_and_retry(
    ctx: Context[Any, Any], error: SignInRequired, retry: Callable[[], Awaitable[Any]]
) -> Any:
    prompt = error.prompt
    assert prompt is not None
    while time.time() < prompt.expires_at:
        await anyio.sleep(POLL_SECONDS)
        await ctx.report_progress(0, None, "waiting for the Bentley sign-in to be approved")
        try:
            return await retry()
        except SignInRequired as again:
            if again.prompt is None or again.prompt.user_code != prompt.user_code:
                raise
    raise error
