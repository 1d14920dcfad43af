"""Variable names a tool is about to send, checked against the package's documented ones."""

from __future__ import annotations

from collections.abc import Collection

from mcp.server.mcpserver.exceptions import ToolError

from edfs_mcp import messages
from edfs_mcp.api import EdfsClient
from edfs_mcp.api.models import example_variables
from edfs_mcp.errors import ApiError
from edfs_mcp.tools._base import ToolContext, waiter
from edfs_mcp.variables import check_variable_names

__all__ = ["checked_variable_names", "screen_variable_names"]


async def checked_variable_names(
    client: EdfsClient, ctx: ToolContext, unique_name: str, names: Collection[str]
) -> list[str]:
    """The names the package does not document; raises ToolError, before anything runs, for a name
    that is a near miss of a documented one. When the package's details cannot be read, every name
    passes unchecked (the run itself will say what is wrong with the package)."""
    if not names:
        return []
    try:
        package = await client.get_package(unique_name, on_wait=waiter(ctx))
    except ApiError:
        return []
    return screen_variable_names(unique_name, names, package.input_example)


def screen_variable_names(unique_name: str, names: Collection[str], input_example: str | None) -> list[str]:
    """As checked_variable_names, with the package's ``inputExample`` already at hand."""
    documented = [variable.name for variable in example_variables(input_example)[0]]
    if not documented or not names:
        return []
    check = check_variable_names(names, documented)
    if check.misspelled:
        raise ToolError(messages.misspelled_variables(unique_name, check.misspelled, documented))
    return check.undocumented
