"""The HTML pages a person sees, rendered by Jinja2 with autoescape on.

Every value a page shows is escaped by the engine, never by hand at each interpolation (one missed
call is an XSS). The templates beside this module are package data; each extends ``page.html`` (one
document, no script, an inline style). The headers that forbid everything else (CSP, frame denial,
``Referrer-Policy``) are set by the server that answers with the page: ``remote.pages``,
``sandbox.oauth_web``, ``system_page``. Undefined is strict: a value a template names and its caller
left out is an error, not an empty string. Jinja2 is imported with the first page, not at start.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

__all__ = ["render"]


@functools.cache
def _environment() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("edfs_mcp", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )


def render(template: str, **values: Any) -> str:
    """The page ``template`` (a file beside this module) shows with ``values``, every one escaped."""
    return _environment().get_template(template).render(**values)
