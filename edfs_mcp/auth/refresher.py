"""``python -m edfs_mcp.auth.refresher``: one refresh of a stored sign-in, in a process of its own.

Started by ``refresh.refresh_in_own_process``; see ``edfs_mcp.auth.refresh`` for why.
"""

from __future__ import annotations

from edfs_mcp.auth.refresh import child_main

if __name__ == "__main__":
    raise SystemExit(child_main())
