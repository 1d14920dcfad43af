"""Fault injection, write counters, the request log and the control API."""

from __future__ import annotations

import httpx2
import pytest

from edfs_mcp.sandbox import SandboxServer, seed
from tests.sandbox.helpers import Api, error_of

NG = seed.ITWIN_NORTHGATE_BRIDGE
EXECUTE = f"/edfs/itwins/{NG}/packages/{seed.SQL_CUSTOMERS_TABLE}"
TOGGLE = f"/edfs/itwins/{NG}/timers/{seed.TIMER_NORTHGATE_SAP_NIGHTLY}/toggle"


def enabled(server: SandboxServer) -> bool:
    [timer] = [t for t in server.state.timers_of(NG) if t["id"] == seed.TIMER_NORTHGATE_SAP_NIGHTLY]
    return bool(timer["enabled"])


def test_rate_limit_burst_is_429_with_retry_after_and_nothing_processed(
    admin: Api, server: SandboxServer
) -> None:
    server.state.faults.rate_limit(2, retry_after=3)
    for _ in range(2):
        response = admin.post(EXECUTE)
        assert response.status_code == 429
        assert response.headers["retry-after"] == "3"
        assert error_of(response) == {
            "code": "RateLimitExceeded",
            "message": "The client sent more requests "
            "than allowed by this API for the current tier of the client.",
        }
    assert server.state.writes["execute"] == 0
    assert admin.post(EXECUTE).status_code == 200
    assert server.state.writes["execute"] == 1


def test_rate_limit_code_defaults_to_too_many_requests_outside_execute(
    admin: Api, server: SandboxServer
) -> None:
    server.state.faults.rate_limit(1)
    response = admin.patch(TOGGLE)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert error_of(response)["code"] == "TooManyRequests"
    assert enabled(server) is False
    assert server.state.writes["timer_toggle"] == 0


def test_rate_limit_code_can_be_forced(admin: Api, server: SandboxServer) -> None:
    server.state.faults.rate_limit(1, retry_after=0, code="TooManyRequests")
    response = admin.post(EXECUTE)
    assert error_of(response)["code"] == "TooManyRequests"
    assert response.headers["retry-after"] == "0"
    with pytest.raises(ValueError, match="code"):
        server.state.faults.rate_limit(1, code="SlowDown")


def test_forced_faults_hit_edfs_only_unless_told(
    admin: Api, server: SandboxServer, http: httpx2.Client
) -> None:
    server.state.faults.rate_limit(1)
    assert admin.get("/itwins/").status_code == 200
    assert http.get("/.well-known/openid-configuration").status_code == 200
    assert admin.get(f"/edfs/itwins/{NG}/timers").status_code == 429
    server.state.faults.rate_limit(1, path_prefix="/itwins")
    assert admin.get("/itwins/").status_code == 429


def test_server_errors_are_sent_before_processing(admin: Api, server: SandboxServer) -> None:
    server.state.faults.server_errors(2, status=502)
    first = admin.patch(TOGGLE)
    assert first.status_code == 502
    assert error_of(first)["code"] == "BadGateway"
    assert admin.patch(TOGGLE).status_code == 502
    assert enabled(server) is False
    assert admin.patch(TOGGLE).status_code == 200
    assert server.state.writes["timer_toggle"] == 1


def test_latency_delays_each_request_until_cleared(admin: Api, server: SandboxServer) -> None:
    server.state.faults.latency(30)
    # A request that waits out the latency is never answered within a client's short timeout...
    with pytest.raises(httpx2.ReadTimeout):
        admin.get("/edfs/packages", timeout=0.2)
    assert server.state.faults.decide("/edfs/packages").latency == 30  # ...and it stays until cleared
    server.state.faults.clear()
    assert server.state.faults.decide("/edfs/packages").latency == 0
    assert admin.get("/edfs/packages").status_code == 200


def test_drop_after_processing_changes_state_but_sends_no_response(admin: Api, server: SandboxServer) -> None:
    server.state.faults.drop_after_processing(1)
    with pytest.raises(httpx2.RemoteProtocolError):
        admin.patch(TOGGLE)
    assert enabled(server) is True
    assert server.state.writes["timer_toggle"] == 1
    follow_up = admin.patch(TOGGLE)  # the client reconnects; the fault is used up
    assert follow_up.status_code == 200
    assert follow_up.json()["enabled"] is False


def test_drop_after_processing_an_execute_counts_it(admin: Api, server: SandboxServer) -> None:
    server.state.faults.drop_after_processing(1)
    with pytest.raises(httpx2.RemoteProtocolError):
        admin.post(EXECUTE)
    assert server.state.writes["execute"] == 1


def test_per_client_limit_counts_each_oauth_client(admin: Api, operator: Api, server: SandboxServer) -> None:
    server.state.faults.per_client_limit(2, window_seconds=30)
    assert admin.post(EXECUTE).status_code == 200
    assert admin.get("/edfs/packages").status_code == 200
    limited = admin.post(EXECUTE)
    assert limited.status_code == 429
    assert error_of(limited)["code"] == "RateLimitExceeded"
    assert 1 <= int(limited.headers["retry-after"]) <= 30
    assert operator.get("/edfs/packages").status_code == 200
    assert server.state.writes["execute"] == 1


def test_per_client_limit_window_slides() -> None:
    from edfs_mcp.sandbox.faults import Faults

    faults = Faults()
    faults.per_client_limit(1, window_seconds=10)
    assert faults.client_hit("a", now=100.0) is None
    assert faults.client_hit("a", now=104.0) == 6
    assert faults.client_hit("a", now=110.5) is None


def test_every_request_is_logged_with_its_raw_path(admin: Api, server: SandboxServer) -> None:
    admin.get("/edfs/itwins/a%2Fb/timers")
    admin.get("/itwins/", params={"$top": "1"})
    assert list(server.state.requests)[-2:] == [("GET", "/edfs/itwins/a%2Fb/timers"), ("GET", "/itwins/")]


def test_control_api_arms_reports_and_clears_faults(
    http: httpx2.Client, admin: Api, server: SandboxServer
) -> None:
    armed = http.post(
        "/_sandbox/faults", json={"rateLimit": {"count": 1, "retryAfter": 2}, "tokenLifetimeSeconds": 90}
    )
    assert armed.status_code == 200
    assert armed.json()["faults"]["rateLimit"]["remaining"] == 1
    assert server.state.token_lifetime_seconds == 90
    assert admin.post(EXECUTE).headers["retry-after"] == "2"
    server.state.faults.server_errors(5)
    assert http.delete("/_sandbox/faults").json()["faults"]["serverErrors"]["remaining"] == 0
    admin.patch(TOGGLE)
    status = http.get("/_sandbox/status").json()
    assert status["writes"] == {"timer_toggle": 1}
    assert http.post("/_sandbox/reset").json()["writes"] == {}
    assert enabled(server) is False
    bad = http.post("/_sandbox/faults", json={"serverErrors": {"count": 1, "status": 200}})
    assert bad.status_code == 400
