"""Helpers shared by the sandbox tests."""

from __future__ import annotations

from typing import Any

import httpx2

from edfs_mcp.sandbox import seed

V1 = "application/vnd.bentley.itwin-platform.v1+json"
CREDENTIALS = {
    "admin": (seed.CLIENT_ADMIN_ID, seed.CLIENT_ADMIN_SECRET),
    "operator": (seed.CLIENT_OPERATOR_ID, seed.CLIENT_OPERATOR_SECRET),
    "viewer": (seed.CLIENT_VIEWER_ID, seed.CLIENT_VIEWER_SECRET),
    "harbor": (seed.CLIENT_HARBOR_ADMIN_ID, seed.CLIENT_HARBOR_ADMIN_SECRET),
}


class Api:
    """An HTTP client that signs every request as one identity and asks for the v1 media type."""

    def __init__(self, http: httpx2.Client, token: str | None) -> None:
        self.http = http
        self.token = token

    def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx2.Response:
        sent = {"Accept": V1}
        if self.token is not None:
            sent["Authorization"] = f"Bearer {self.token}"
        sent.update(headers or {})
        return self.http.request(method, path, headers=sent, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx2.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx2.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx2.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx2.Response:
        return self.request("DELETE", path, **kwargs)


def fetch_token(http: httpx2.Client, who: str, scope: str = "itwin-platform") -> str:
    client_id, secret = CREDENTIALS[who]
    response = http.post(
        "/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": scope,
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def error_of(response: httpx2.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    return error
