"""The ``/_sandbox`` control API: counters, faults, token lifetime and reset over HTTP.

For driving a standalone sandbox (``edfs-mcp sandbox``) from another process; in-process tests use
``SandboxState`` directly. It has no authentication: the sandbox listens on loopback only.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._http import parse_json
from .state import SandboxState


def status(state: SandboxState) -> dict[str, Any]:
    with state.lock:
        return {
            "writes": dict(state.writes),
            "tokenRequests": dict(state.token_requests),
            "requestCount": len(state.requests),
            "tokenLifetimeSeconds": state.token_lifetime_seconds,
            "faults": state.faults.snapshot(),
        }


def _apply(state: SandboxState, body: dict[str, Any]) -> None:
    """Arm the faults named in ``body`` (keys as in ``Faults.snapshot``, values as keyword arguments)."""
    faults = state.faults
    if "rateLimit" in body:
        spec = body["rateLimit"]
        faults.rate_limit(
            int(spec["count"]),
            int(spec.get("retryAfter", 1)),
            spec.get("code"),
            spec.get("pathPrefix", "/edfs/"),
        )
    if "serverErrors" in body:
        spec = body["serverErrors"]
        faults.server_errors(
            int(spec["count"]), int(spec.get("status", 503)), spec.get("pathPrefix", "/edfs/")
        )
    if "latency" in body:
        spec = body["latency"]
        faults.latency(float(spec["seconds"]), spec.get("pathPrefix", "/edfs/"))
    if "dropAfterProcessing" in body:
        spec = body["dropAfterProcessing"]
        faults.drop_after_processing(int(spec["count"]), spec.get("pathPrefix", "/edfs/"))
    if "perClientLimit" in body:
        spec = body["perClientLimit"]
        requests = spec.get("requests")
        faults.per_client_limit(
            None if requests is None else int(requests), float(spec.get("windowSeconds", 60))
        )
    if "tokenLifetimeSeconds" in body:
        with state.lock:
            state.token_lifetime_seconds = int(body["tokenLifetimeSeconds"])


def routes(state: SandboxState) -> list[Route]:
    async def get_status(request: Request) -> Response:
        return JSONResponse(status(state))

    async def set_faults(request: Request) -> Response:
        body, error = parse_json(await request.body())
        try:
            if error or not isinstance(body, dict):
                raise ValueError(error or "body must be a JSON object")
            _apply(state, body)
        except (ValueError, TypeError, KeyError) as exc:
            return JSONResponse({"error": {"code": "InvalidFault", "message": str(exc)}}, status_code=400)
        return JSONResponse(status(state))

    async def clear_faults(request: Request) -> Response:
        state.faults.clear()
        return JSONResponse(status(state))

    async def reset(request: Request) -> Response:
        state.reset()
        return JSONResponse(status(state))

    return [
        Route("/_sandbox/status", get_status, methods=["GET"]),
        Route("/_sandbox/faults", set_faults, methods=["POST"]),
        Route("/_sandbox/faults", clear_faults, methods=["DELETE"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
    ]
