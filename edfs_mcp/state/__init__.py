"""Where state is kept, below every package that keeps some.

- ``stores``: the key-value interface (``KeyValueStore``) and its in-memory store, with
  ``StateStoreUnavailable``; the sign-in state of ``edfs_mcp.remote`` and the set-up forms of
  ``edfs_mcp.system_page`` live behind it.
- ``redis_store``: the same interface in Redis (``EDFS_MCP_REDIS_URL``), shared by replicas, and the
  bounded connection pool every Redis client of the package uses.
- ``redis_results``: the result cache in Redis; ``request_state``: the key that seals
  multi-round ``requestState`` for every replica.
"""
