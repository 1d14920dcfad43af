"""The whole tools/list, as the client receives it, stays under 4 000 cl100k tokens.

Every tool schema is paid on every turn of a conversation. bpe-openai bundles the
cl100k_base encoding (tiktoken would download it at run time).
"""

import bpe_openai
import pytest
from mcp import Client

from edfs_mcp.config import Settings
from edfs_mcp.server import build_server

pytestmark = pytest.mark.anyio

# 4 000, plus 850 for the systems toolset (list_systems, set_up_system, delete_system: 845), plus 70
# for the MCP Apps views: `_meta.ui.resourceUri` on the 5 tools whose result opens one (measured 66),
# plus 560 for the roles toolset (list_package_roles, set_package_role: 551).
BUDGET_TOKENS = 5480


async def test_tools_list_fits_the_token_budget() -> None:
    encoding = bpe_openai.get_encoding("cl100k_base")
    async with Client(build_server(Settings(sandbox=True))) as client:
        listing = await client.list_tools()
    wire = listing.model_dump_json(by_alias=True, exclude_none=True)
    tokens = len(encoding.encode(wire))
    print(f"tools/list: {len(listing.tools)} tools, {tokens} tokens, {len(wire)} bytes")
    assert len(listing.tools) >= 11
    assert tokens <= BUDGET_TOKENS, f"tools/list is {tokens} tokens; trim descriptions or output schemas"
