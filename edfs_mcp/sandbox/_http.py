"""Shared HTTP pieces: error bodies, Accept rules, path-segment validation and JSON body checks."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

GUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")

# 422 detail messages by target (edfs-api.md §6); the last two follow the same pattern (assumed).
DETAIL_MESSAGES = {
    "iTwinId": "Provided iTwin ID value is not valid.",
    "uniqueName": "Provided Unique Name value contains invalid characters.",
    "timerId": "Provided Timer ID value is not valid.",
    "id": "Provided ID value is not valid.",
    "ITwinRoleId": "Provided iTwin Role ID value is not valid.",
    "PackageRoleIds": "Provided Package Role ID value is not valid.",
    "systemType": "Provided System Type value contains invalid characters.",
    "entitySet": "Provided Entity Set value contains invalid characters.",
}
ACCEPTED_MEDIA = frozenset({"*/*", "application/json", "application/vnd.bentley.itwin-platform.v1+json"})

HEADER_NOT_FOUND = ("HeaderNotFound", "Header Authorization was not found in the request. Access denied.")
UNAUTHORIZED = (
    "Unauthorized",
    "Access denied due to invalid access_token. Make sure to provide a valid token for this API endpoint.",
)
FORBIDDEN = ("InsufficientPermissions", "The user has insufficient permissions for the requested operation.")
TOO_MANY = ("TooManyRequests", "More requests were received than the subscription rate-limit allows.")
RATE_EXCEEDED = (
    "RateLimitExceeded",
    "The client sent more requests than allowed by this API for the current tier of the client.",
)
RATE_MESSAGES = dict((TOO_MANY, RATE_EXCEEDED))


class ErrorReply(Exception):
    """An EDFS error answer (status, code, message, details); raised by handlers, rendered by the
    dispatcher. Named apart from the client's ``edfs_mcp.errors.ApiError``, which parses such answers."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, message
        self.details, self.headers = details, dict(headers or {})

    def response(self) -> Response:
        return error_response(self.status, self.code, self.message, self.details, self.headers)


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return JSONResponse({"error": error}, status_code=status, headers=dict(headers or {}))


def detail(target: str | None, message: str | None = None, code: str = "InvalidValue") -> dict[str, Any]:
    text = message or DETAIL_MESSAGES.get(str(target), "Invalid value.")
    item: dict[str, Any] = {"code": code, "message": text}
    if target is not None:
        item["target"] = target
    return item


def missing_system_details(missing: Sequence[Any]) -> list[dict[str, Any]]:
    """One detail per required system the iTwin lacks (edfs-api.md §4.3, "Missing systems")."""
    return [
        detail(
            "systemId",
            f"Required system '{need.system_id}' ({need.system_type}) is not configured for this iTwin.",
        )
        for need in missing
    ]


def operation_not_found() -> Response:
    return error_response(
        404,
        "ResourceNotFound",
        "The requested resource was not found. Verify the API URL and the Accept header.",
        [{"code": "OperationNotFound", "message": "Unable to match incoming request to an operation."}],
    )


def rate_limited(retry_after: int, code: str) -> Response:
    return error_response(429, code, RATE_MESSAGES[code], headers={"Retry-After": str(int(retry_after))})


def accept_ok(header: str | None, accepted: frozenset[str] = ACCEPTED_MEDIA) -> bool:
    """Missing, or any item of the list in ``accepted`` (EDFS: ``*/*``, ``application/json``, v1)."""
    if header is None or not header.strip():
        return True
    return any(item.split(";")[0].strip().lower() in accepted for item in header.split(","))


def base_url(request: Request) -> str:
    """Scheme, host and root path of the request, no trailing slash: the issuer and link base."""
    return str(request.base_url).rstrip("/")


def valid_guid(value: str) -> bool:
    return GUID_RE.fullmatch(value) is not None


def valid_name(value: str) -> bool:
    return NAME_RE.fullmatch(value) is not None


def parse_json(raw: bytes) -> tuple[Any, str | None]:
    """(value, None), or (None, reason) for a body that is not JSON. An empty body is ``{}``."""
    if not raw.strip():
        return {}, None
    try:
        return json.loads(raw.decode("utf-8")), None
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None, "The request body is not valid JSON."


class BodyCheck:
    """Collects 422 details while reading a JSON object body field by field."""

    def __init__(self, body: Any, error: str | None = None) -> None:
        self.details: list[dict[str, Any]] = []
        self.body: dict[str, Any] = body if isinstance(body, dict) else {}
        if error:
            self.details.append(detail("body", error))
        elif not isinstance(body, dict):
            self.details.append(detail("body", "The request body must be a JSON object."))

    def fail(self, target: str, message: str, code: str = "InvalidValue") -> None:
        self.details.append(detail(target, message, code))

    def only(self, allowed: set[str], prefix: str = "", obj: Mapping[str, Any] | None = None) -> None:
        """``additionalProperties: false``."""
        for key in self.body if obj is None else obj:
            if key not in allowed:
                self.fail(f"{prefix}{key}", f"Property '{key}' is not allowed.")

    def string(self, key: str, required: bool = False) -> str | None:
        value = self.body.get(key)
        if value is None:
            if required:
                self.fail(key, f"Required property '{key}' is missing.", "MissingRequiredProperty")
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            self.fail(
                key,
                f"Property '{key}' must be a non-empty string."
                if required
                else f"Property '{key}' must be a string.",
            )
            return None
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.body.get(key, default)
        if not isinstance(value, bool):
            self.fail(key, f"Property '{key}' must be a boolean.")
            return default
        return value

    def pairs(self, key: str, strict: bool) -> list[dict[str, str]]:
        """An array of ``{name, value}`` strings; ``null`` or absent is an empty list."""
        value = self.body.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(key, f"Property '{key}' must be an array.")
            return []
        out: list[dict[str, str]] = []
        for i, item in enumerate(value):
            where = f"{key}[{i}]"
            if not isinstance(item, dict):
                self.fail(where, f"Item {where} must be an object with 'name' and 'value'.")
                continue
            if strict:
                self.only({"name", "value"}, f"{where}.", item)
            name, val = item.get("name"), item.get("value")
            if not isinstance(name, str) or not isinstance(val, str):
                self.fail(where, f"Item {where} must have string 'name' and 'value'.")
                continue
            out.append({"name": name, "value": val})
        return out

    def raise_if_failed(self, code: str, message: str) -> None:
        if self.details:
            raise ErrorReply(422, code, message, self.details)
