"""Sealing state with AES-256-GCM under ``EDFS_MCP_STATE_KEY``, and hashing tokens for lookup.

A sealed value is ``v1.`` + base64url(nonce ‖ ciphertext ‖ tag). The associated data names what the
value is for (``person:<subject>``, ``cookie:consent``...), so a value cannot be moved from one
record, person or cookie to another: it would fail to open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["Sealer", "new_secret"]

_VERSION = "v1."
_NONCE_BYTES = 12


def new_secret(prefix: str) -> str:
    """A fresh unguessable value (256 bits) with a recognisable prefix (log masking keys on it)."""
    return prefix + secrets.token_urlsafe(32)


class Sealer:
    """Seals and opens values; hashes tokens so stores hold no usable token."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the state key must be 32 bytes")
        self._aead = AESGCM(key)
        # A separate key for lookup hashes, derived so the sealing key itself is never used twice.
        self._hash_key = hmac.new(key, b"edfs-mcp lookup hashes", hashlib.sha256).digest()

    def seal(self, plaintext: bytes, purpose: str) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, purpose.encode())
        return _VERSION + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, sealed: str, purpose: str) -> bytes | None:
        """The plaintext, or None for anything not sealed by this key for this purpose."""
        if not sealed.startswith(_VERSION):
            return None
        body = sealed[len(_VERSION) :]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            if len(raw) <= _NONCE_BYTES:
                return None
            return self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], purpose.encode())
        except (InvalidTag, ValueError):
            return None

    def lookup(self, token: str) -> str:
        """The key a token is stored under: a keyed hash, so a copy of the store yields no token."""
        return hmac.new(self._hash_key, token.encode(), hashlib.sha256).hexdigest()
