"""State several replicas share (``EDFS_MCP_REDIS_URL``) beyond the sign-in state of ``edfs_mcp.remote``."""
