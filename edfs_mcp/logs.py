"""Logging to stderr (stdout is the MCP wire), one line per event, secrets masked.

The code never logs a secret on purpose; the filter is defence in depth against a
library that does (authlib logs tokens at DEBUG, for one): it masks JWTs, bearer
values, and every secret value the settings hold.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

__all__ = ["RedactingFilter", "configure_logging", "redact"]

MASK = "[redacted]"
PATTERNS = (
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),  # JWTs
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/-]+=*"),
    re.compile(
        r"(?i)((?:access|refresh|id)_token|device_code|client_secret|code_verifier|password)"
        r"(['\"]?\s*[:=]\s*['\"]?)[^\s'\",&}]+"
    ),
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        if len(secret) >= 6:
            text = text.replace(secret, MASK)
    text = PATTERNS[0].sub(MASK, text)
    text = PATTERNS[1].sub(lambda m: m.group(1) + MASK, text)
    return PATTERNS[2].sub(lambda m: m.group(1) + m.group(2) + MASK, text)


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self._secrets)
        if cleaned != message or record.exc_info:
            record.msg, record.args = cleaned, None
        return True


def configure_logging(level: str, secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # authlib logs tokens at DEBUG: keep it above that whatever the level asked for.
    logging.getLogger("authlib").setLevel(max(logging.WARNING, root.level))
