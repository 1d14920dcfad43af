"""The device authorization request against the sandbox's authority: a code for the public
client; a clear error naming the cause for a client that cannot use it."""

import httpx2
import pytest

from edfs_mcp.auth.device_flow import DeviceFlowRefused, start_device_authorization
from edfs_mcp.errors import AuthError
from edfs_mcp.sandbox import SandboxServer, seed

pytestmark = pytest.mark.anyio

ENDPOINT = "/as/device_authz.oauth2"


async def test_a_confidential_client_without_its_secret_gets_a_clear_error(sandbox: SandboxServer) -> None:
    async with httpx2.AsyncClient(base_url=sandbox.base_url) as http:
        with pytest.raises(AuthError, match=r"HTTP 401 \(invalid_client\)") as caught:
            await start_device_authorization(http, ENDPOINT, seed.CLIENT_ADMIN_ID, "itwin-platform")
    # Not a refusal of the grant: falling back to the browser would fail the same way.
    assert not isinstance(caught.value, DeviceFlowRefused)


async def test_the_public_client_gets_a_code(sandbox: SandboxServer) -> None:
    async with httpx2.AsyncClient(base_url=sandbox.base_url) as http:
        authorization = await start_device_authorization(
            http, ENDPOINT, seed.PUBLIC_CLIENT_ID, "itwin-platform offline_access"
        )
    assert authorization.user_code and authorization.verification_uri.endswith("/device")
    assert authorization.device_code not in repr(authorization)
