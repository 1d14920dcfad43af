"""With DEBUG logging on, no token, refresh token, device code, password or client secret
appears in anything the server writes to stderr or returns to the model.

The servers are real processes: their stderr, at DEBUG, is what is scanned. `edfs-mcp status` runs
cli.main in this process (the ``cli`` fixture), its stderr with the same logging configuration.
"""

import json
import re
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest

from edfs_mcp.auth.store import FileTokenStore, StoredTokens, token_key
from edfs_mcp.sandbox import SandboxServer, seed
from tests.e2e.cli_in_process import Cli
from tests.harness import Session, serve, server_env

pytestmark = [pytest.mark.anyio, pytest.mark.real_process]

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.")
NORTHGATE = seed.ITWIN_NORTHGATE_BRIDGE
SECRETS = [
    seed.CLIENT_ADMIN_SECRET,
    seed.CLIENT_OPERATOR_SECRET,
    seed.CLIENT_VIEWER_SECRET,
    seed.CLIENT_HARBOR_ADMIN_SECRET,
    seed.SANDBOX_PASSWORD,
]


def _dump(result: Any) -> str:
    return json.dumps(result.model_dump(mode="json", by_alias=True))


async def _every_tool(session: Session, sandbox: SandboxServer) -> list[str]:
    calls: list[tuple[str, dict[str, Any]]] = [
        ("find_itwins", {"query": "northgate"}),
        ("list_integration_packages", {}),
        ("get_integration_package", {"unique_name": seed.SAP_WORK_ORDERS, "itwin_id": NORTHGATE}),
        ("execute_integration_package", {"itwin_id": NORTHGATE, "unique_name": seed.SQL_CUSTOMERS_TABLE}),
        ("execute_integration_package", {"itwin_id": NORTHGATE, "unique_name": seed.SENSOR_READINGS_BULK}),
        ("read_execution_result", {"result_id": "r_unknown"}),
        ("query_odata", {"itwin_id": NORTHGATE, "unique_name": seed.ODT_APIM_TEST}),
        (
            "query_odata",
            {"itwin_id": NORTHGATE, "unique_name": seed.ODT_APIM_TEST, "entity_set": "X", "filter": "?"},
        ),
        ("list_timers", {"itwin_id": NORTHGATE}),
        (
            "set_timer_enabled",
            {"itwin_id": NORTHGATE, "timer_id": seed.TIMER_NORTHGATE_SAP_NIGHTLY, "enabled": True},
        ),
        (
            "set_timer_enabled",
            {"itwin_id": NORTHGATE, "timer_id": seed.TIMER_NORTHGATE_SAP_NIGHTLY, "enabled": False},
        ),
        ("create_timer", {"itwin_id": NORTHGATE, "unique_name": seed.SAP_WORK_ORDERS, "cron": "5 4 * * *"}),
        (
            "delete_timer",
            {"itwin_id": NORTHGATE, "timer_id": seed.TIMER_NORTHGATE_MAXIMO_NIGHTLY, "confirm": True},
        ),
        ("set_timer_enabled", {"itwin_id": "bad", "timer_id": "bad", "enabled": True}),
        ("get_integration_package", {"unique_name": "NOPE"}),
    ]
    outputs = [_dump(await session.call(name, arguments)) for name, arguments in calls]
    sandbox.state.faults.rate_limit(count=1, retry_after=600)
    outputs.append(_dump(await session.call("list_timers", {"itwin_id": NORTHGATE})))
    sandbox.state.faults.server_errors(count=5, status=503)
    outputs.append(_dump(await session.call("list_timers", {"itwin_id": NORTHGATE})))
    sandbox.state.faults.clear()
    nightly = seed.TIMER_NORTHGATE_SAP_NIGHTLY
    sandbox.state.faults.server_errors(
        count=1, status=502, path_prefix=f"/edfs/itwins/{NORTHGATE}/timers/{nightly}/toggle"
    )
    outputs.append(
        _dump(
            await session.call(
                "set_timer_enabled", {"itwin_id": NORTHGATE, "timer_id": nightly, "enabled": True}
            )
        )
    )
    sandbox.state.faults.clear()
    return outputs


def _assert_clean(texts: list[str], secrets: list[str]) -> None:
    for text in texts:
        assert not JWT.search(text), JWT.search(text)
        for secret in secrets:
            assert secret not in text, f"a secret leaked: {secret[:4]}..."
        assert not re.search(r"device_code\W+[A-Za-z0-9_-]{20,}", text)


async def test_service_client_session_leaks_nothing(sandbox: SandboxServer) -> None:
    texts: list[str] = []
    for identity in ("admin", "viewer"):
        async with serve(sandbox, identity) as session:
            texts.extend(await _every_tool(session, sandbox))
            texts.append(session.stderr())
    assert "DEBUG" in texts[-1]  # the logs really were at DEBUG
    _assert_clean(texts, SECRETS)


async def test_user_sign_in_and_refresh_leak_nothing(
    cli: Cli, sandbox: SandboxServer, tmp_path: Path
) -> None:
    sandbox.state.device_poll_interval_seconds = 1
    sandbox.state.auto_approve = True
    env = server_env(
        sandbox,
        None,
        {
            "EDFS_MCP_CLIENT_ID": seed.PUBLIC_CLIENT_ID,
            "EDFS_MCP_CONFIG_DIR": str(tmp_path),
            "EDFS_MCP_TOKEN_STORE": "file",
        },
    )
    texts: list[str] = []
    refresh_tokens: list[str] = []
    store, key = FileTokenStore(tmp_path), token_key(sandbox.base_url, seed.PUBLIC_CLIENT_ID)
    async with serve(sandbox, None, env=env) as session:
        texts.append(_dump(await session.call("list_integration_packages")))  # starts the sign-in
        for _ in range(40):
            result = await session.call("list_integration_packages")
            texts.append(_dump(result))
            if not result.is_error:
                break
            await anyio.sleep(0.5)
        saved = store.load(key)
        assert saved is not None and saved.refresh_token
        refresh_tokens.append(saved.refresh_token)
        texts.append(session.stderr())
    store.save(key, StoredTokens(**{**saved.__dict__, "expires_at": 0.0}))
    async with serve(sandbox, None, env=env) as session:
        texts.extend(await _every_tool(session, sandbox))
        texts.append(session.stderr())
    refreshed = store.load(key)
    assert refreshed is not None and refreshed.refresh_token and refreshed.refresh_token != refresh_tokens[0]
    refresh_tokens.append(refreshed.refresh_token)
    status = await anyio.to_thread.run_sync(partial(cli.run, "status", env=env))
    texts.extend([status.stdout, status.stderr])
    _assert_clean(texts, SECRETS + refresh_tokens + [saved.access_token, refreshed.access_token])
