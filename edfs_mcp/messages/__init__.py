"""The one home of model-facing words: every text a tool result or error shows a model.

- ``_errors``: failures → what failed, why (HTTP status, EDFS code, each detail, EDFS's own words
  quoted as data) and what to do next, a tool call or a user action.
- ``_query``: SQL over a cached result (``query_execution_result``): hints, answers, refusals, limits.
- ``_readiness``: whether a package can run on an iTwin: missing systems, who can add them.
- ``_remote``: what a person signed in over MCP authorization (``EDFS_MCP_HTTP_AUTH=oauth``) is told.
- ``_roles``: package roles: who may run a package on an iTwin, and what a refused run lacks.
- ``_state``: what a call is told when the shared state (Redis: results, sign-ins) does not answer.
- ``_systems``: systems (list, set up through the credentials page, delete).
- ``_summaries``: the first line of every result (counts, hints, next steps) and the refusals a
  tool makes itself.

Nothing else in the package writes words for a model; tools call these functions.
"""

from edfs_mcp.messages._errors import *  # noqa: F403
from edfs_mcp.messages._errors import __all__ as _errors_all
from edfs_mcp.messages._query import *  # noqa: F403
from edfs_mcp.messages._query import __all__ as _query_all
from edfs_mcp.messages._readiness import *  # noqa: F403
from edfs_mcp.messages._readiness import __all__ as _readiness_all
from edfs_mcp.messages._remote import *  # noqa: F403
from edfs_mcp.messages._remote import __all__ as _remote_all
from edfs_mcp.messages._roles import *  # noqa: F403
from edfs_mcp.messages._roles import __all__ as _roles_all
from edfs_mcp.messages._state import *  # noqa: F403
from edfs_mcp.messages._state import __all__ as _state_all
from edfs_mcp.messages._summaries import *  # noqa: F403
from edfs_mcp.messages._summaries import __all__ as _summaries_all
from edfs_mcp.messages._systems import *  # noqa: F403
from edfs_mcp.messages._systems import __all__ as _systems_all

__all__ = sorted(
    [
        *_errors_all,
        *_query_all,
        *_readiness_all,
        *_remote_all,
        *_roles_all,
        *_state_all,
        *_summaries_all,
        *_systems_all,
    ]
)
