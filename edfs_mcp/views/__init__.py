"""The MCP Apps views (``io.modelcontextprotocol/ui``): a result table and a timer board.

Hosts that render MCP Apps (Claude, ChatGPT, VS Code, Goose…) open a view when a tool whose
``_meta.ui.resourceUri`` names it returns; the view then pages, sorts and filters through the same
tools the model has (``read_execution_result``, ``query_execution_result``, ``set_timer_enabled``…).
Clients without Apps see nothing new but that ``_meta`` entry: text and structuredContent are the same.

The HTML files beside this module are built from ``views/`` at the top of the repository
(``npm --prefix views run build``): one self-contained file per view, the script and style inline,
allowed by their hashes in the document's own Content-Security-Policy; nothing is fetched at run time.
``EDFS_MCP_APPS=false`` turns the views off.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from mcp.server.apps import APP_MIME_TYPE, Apps, ResourceCsp
from mcp.server.mcpserver.resources import FunctionResource

__all__ = [
    "OPENS_VIEW",
    "RESULT_VIEW",
    "TIMER_VIEW",
    "VIEW_FILES",
    "apps_extension",
    "tool_meta",
    "view_html",
]

RESULT_VIEW = "ui://edfs-mcp/result.html"
TIMER_VIEW = "ui://edfs-mcp/timers.html"
VIEW_FILES = {RESULT_VIEW: "result.html", TIMER_VIEW: "timers.html"}

# The tools whose results open a view; every other tool is listed exactly as without Apps.
OPENS_VIEW = {
    "execute_integration_package": RESULT_VIEW,
    "read_execution_result": RESULT_VIEW,
    "query_execution_result": RESULT_VIEW,
    "query_odata": RESULT_VIEW,
    "list_timers": TIMER_VIEW,
}

_DESCRIPTIONS = {
    RESULT_VIEW: (
        "Result table",
        "A cached result as a table: paged, sorted and filtered over all its rows.",
    ),
    TIMER_VIEW: ("Timers", "Timers with their schedules, next runs in your time zone and on/off switches."),
}

# No origin at all: the views fetch nothing, load nothing and frame nothing (hosts apply their own
# strict default, and the document's CSP allows only its own inline script and style, by hash).
NO_ORIGINS = ResourceCsp(connect_domains=[], resource_domains=[], frame_domains=[], base_uri_domains=[])


def view_html(uri: str) -> str:
    """The built HTML of a view, read from the package (on ``resources/read``, not at start)."""
    return resources.files(__package__).joinpath(VIEW_FILES[uri]).read_text(encoding="utf-8")


def tool_meta(tool_name: str) -> dict[str, Any] | None:
    """The ``_meta`` a tool is listed with: the view its result opens, if any."""
    uri = OPENS_VIEW.get(tool_name)
    return {"ui": {"resourceUri": uri}} if uri else None


def apps_extension() -> Apps:
    """The Apps extension with both views: advertises ``io.modelcontextprotocol/ui`` and serves them."""
    apps = Apps()
    ui = {"csp": NO_ORIGINS.model_dump(by_alias=True), "prefersBorder": True}
    for uri in VIEW_FILES:
        title, description = _DESCRIPTIONS[uri]
        apps.add_resource(
            FunctionResource(
                uri=uri,
                name=uri.rsplit("/", 1)[1].removesuffix(".html"),
                title=title,
                description=description,
                mime_type=APP_MIME_TYPE,
                meta={"ui": ui},
                fn=lambda uri=uri: view_html(uri),
            )
        )
    return apps
