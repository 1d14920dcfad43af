"""The EDFS / iTwins API client. Knows HTTP and EDFS, nothing of MCP."""

from edfs_mcp.api._http import Timeouts, WaitCallback
from edfs_mcp.api._journal import SentWrite, WriteJournal, sent_writes
from edfs_mcp.api.client import EdfsClient, ExecutionPayload, ODataPage

__all__ = [
    "EdfsClient",
    "ExecutionPayload",
    "ODataPage",
    "SentWrite",
    "Timeouts",
    "WaitCallback",
    "WriteJournal",
    "sent_writes",
]
