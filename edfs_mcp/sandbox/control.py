"""The ``/_sandbox`` control API: counters, faults, OAuth settings and reset over HTTP.

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
            "oauth": {key: getattr(state, attr) for key, attr in _OAUTH_SETTINGS.items()},
            "faults": state.faults.snapshot(),
        }


# Body keys of POST /_sandbox/oauth -> SandboxState attributes.
_OAUTH_SETTINGS = {
    "autoApprove": "auto_approve",
    "deviceFlowEnabled": "device_flow_enabled",
    "deviceCodeLifetimeSeconds": "device_code_lifetime_seconds",
    "devicePollIntervalSeconds": "device_poll_interval_seconds",
    "authorizationCodeLifetimeSeconds": "authorization_code_lifetime_seconds",
    "refreshTokenLifetimeSeconds": "refresh_token_lifetime_seconds",
    "tokenLifetimeSeconds": "token_lifetime_seconds",
}


def _apply_oauth(state: SandboxState, body: dict[str, Any]) -> None:
    """Set the OAuth settings named in ``body``; all are checked before any is set."""
    unknown = sorted(set(body) - set(_OAUTH_SETTINGS))
    if unknown:
        raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
    values: dict[str, bool | int] = {}
    for key, value in body.items():
        attr = _OAUTH_SETTINGS[key]
        if isinstance(getattr(state, attr), bool):
            if not isinstance(value, bool):
                raise ValueError(f"{key} must be true or false")
            values[attr] = value
        else:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{key} must be a whole number of seconds, 0 or more")
            values[attr] = value
    with state.lock:
        for attr, value in values.items():
            setattr(state, attr, value)


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

    async def set_oauth(request: Request) -> Response:
        body, error = parse_json(await request.body())
        try:
            if error or not isinstance(body, dict):
                raise ValueError(error or "body must be a JSON object")
            _apply_oauth(state, body)
        except ValueError as exc:
            return JSONResponse({"error": {"code": "InvalidSetting", "message": str(exc)}}, status_code=400)
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
        Route("/_sandbox/oauth", set_oauth, methods=["POST"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
    ]
