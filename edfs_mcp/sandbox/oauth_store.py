"""In-memory OAuth grants: device codes, authorization codes and refresh-token families.

Only SHA-256 digests of device codes, authorization codes and refresh tokens are kept, so nothing
that can be replayed sits in memory or in a debugger's view of the state. User codes are stored as
issued: a person types them, and alone they grant nothing.

Every grant started by a person (a device code or an authorization code) opens a *family*; the
refresh tokens issued from it belong to that family. Presenting a refresh token that was already
rotated, or an authorization code that was already exchanged, revokes the whole family (RFC 9700
section 4.14.2 and RFC 6749 section 4.1.2).

All methods hold ``lock``: the sandbox's handlers run on its event loop while tests read the state
from their own thread, and two ``SandboxServer`` instances may share one state. ``clock`` is the
time source for every expiry and poll interval; tests replace it to move time without sleeping.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # no vowels, no look-alikes (RFC 8628 section 6.1)
SLOW_DOWN_STEP = 5  # seconds added to a device code's interval on each slow_down (RFC 8628 section 3.5)
EXPIRED_DEVICE_GRACE = 3600  # an expired device code still answers expired_token for this long

Decision = Literal["pending", "approved", "denied", "used"]


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_user_code() -> str:
    letters = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
    return f"{letters[:4]}-{letters[4:]}"


def normalize_user_code(text: str) -> str | None:
    """``wdjb mjht``, ``WDJBMJHT`` and ``WDJB-MJHT`` are one code; None if it cannot be one."""
    letters = "".join(ch for ch in text.upper() if ch.isalnum())
    if len(letters) != 8 or any(ch not in USER_CODE_ALPHABET for ch in letters):
        return None
    return f"{letters[:4]}-{letters[4:]}"


@dataclass
class DeviceRecord:
    """One device authorization (RFC 8628); also authlib's device credential (a snapshot of it)."""

    key: str  # digest of the device code
    user_code: str
    client_id: str
    scope: str | None
    expires_at: float
    interval: int
    family_id: str
    decision: Decision = "pending"
    username: str | None = None
    polls: int = 0
    last_poll: float | None = None
    too_fast: bool = False  # this poll came sooner than ``interval`` after the previous one
    expired: bool = False  # as of the poll that took this snapshot

    def get_client_id(self) -> str:
        return self.client_id

    def get_scope(self) -> str | None:
        return self.scope

    def get_user_code(self) -> str:
        return self.user_code

    def is_expired(self) -> bool:
        return self.expired


@dataclass
class CodeRecord:
    """One authorization code; the field names are the ones authlib's PKCE extension reads."""

    key: str
    client_id: str
    redirect_uri: str | None
    scope: str
    username: str
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float
    family_id: str
    used: bool = False

    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass
class RefreshRecord:
    key: str
    family_id: str
    client_id: str
    username: str
    scope: str
    expires_at: float
    rotated: bool = False

    def get_scope(self) -> str:
        return self.scope

    def check_client(self, client: Any) -> bool:
        return bool(client.get_client_id() == self.client_id)


class OAuthStore:
    """Device codes, authorization codes and refresh tokens of one sandbox state."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        # A test switch: what the device authorization endpoint sends as ``interval`` instead of the
        # state's setting, verbatim (0.001, -1, NaN, "soon", 1e9: a broken or hostile authority).
        # None: the setting. ``clear()`` restores None.
        self.device_interval_answer: object = None
        self._devices: dict[str, DeviceRecord] = {}
        self._user_codes: dict[str, str] = {}  # user code -> device key
        self._codes: dict[str, CodeRecord] = {}
        self._refresh: dict[str, RefreshRecord] = {}
        self._revoked_families: set[str] = set()

    def clear(self) -> None:
        """Forget every grant (signed-in clients must sign in again)."""
        with self.lock:
            self._devices.clear()
            self._user_codes.clear()
            self._codes.clear()
            self._refresh.clear()
            self._revoked_families.clear()
            self.device_interval_answer = None

    @staticmethod
    def new_family() -> str:
        return secrets.token_hex(16)

    # --- device authorization (RFC 8628) -----------------------------------------------------------

    def new_user_code(self) -> str:
        """A user code no live device code has."""
        with self.lock:
            code = new_user_code()
            while code in self._user_codes:
                code = new_user_code()
            return code

    def add_device(
        self,
        device_code: str,
        user_code: str,
        client_id: str,
        scope: str | None,
        lifetime: int,
        interval: int,
    ) -> None:
        """Record a device authorization (RFC 8628 section 3.2)."""
        with self.lock:
            self._purge()
            if user_code in self._user_codes:
                raise ValueError("user code already in use")
            key = digest(device_code)
            self._devices[key] = DeviceRecord(
                key, user_code, client_id, scope, self.clock() + lifetime, interval, self.new_family()
            )
            self._user_codes[user_code] = key

    def poll_device(self, device_code: str, auto_approve_as: str | None = None) -> DeviceRecord | None:
        """Record a token-endpoint poll and return a snapshot of the device code as it was before it.

        With ``auto_approve_as``, a pending code is approved for that user by this poll; the
        snapshot still says pending, so the poll answers ``authorization_pending`` and the next
        one gets the tokens.
        """
        with self.lock:
            record = self._devices.get(digest(device_code))
            if record is None:
                return None
            now = self.clock()
            record.too_fast = record.last_poll is not None and now - record.last_poll < record.interval
            record.last_poll = now
            record.polls += 1
            record.expired = now >= record.expires_at
            snapshot = replace(record)
            if auto_approve_as is not None and record.decision == "pending" and not record.expired:
                record.decision, record.username = "approved", auto_approve_as
            return snapshot

    def slow_down(self, key: str) -> int:
        """Add ``SLOW_DOWN_STEP`` to the code's interval for this and every later poll; the new one."""
        with self.lock:
            record = self._devices.get(key)
            if record is None:
                return 0
            record.interval += SLOW_DOWN_STEP
            return record.interval

    def claim_device(self, key: str) -> bool:
        """Mark an approved device code used; False if it was used already (single use)."""
        with self.lock:
            record = self._devices.get(key)
            if record is None or record.decision != "approved":
                return False
            record.decision = "used"
            return True

    def pending_device(self, user_code: str) -> DeviceRecord | None:
        """A snapshot of the still-pending, unexpired device code with this user code."""
        with self.lock:
            key = self._user_codes.get(user_code)
            record = self._devices.get(key) if key else None
            if record is None or record.decision != "pending" or self.clock() >= record.expires_at:
                return None
            return replace(record)

    def decide_device(self, user_code: str, username: str | None) -> bool:
        """Approve for ``username``, or deny with None; False if the code is not pending any more."""
        with self.lock:
            record = self.pending_device(user_code)
            if record is None:
                return False
            live = self._devices[record.key]
            live.decision, live.username = ("approved", username) if username else ("denied", None)
            return True

    def device(self, user_code: str) -> DeviceRecord | None:
        """A snapshot of the device code with this user code, whatever its state (for tests)."""
        with self.lock:
            key = self._user_codes.get(user_code)
            record = self._devices.get(key) if key else None
            return replace(record) if record else None

    # --- authorization codes -----------------------------------------------------------------------

    def add_code(self, code: str, record: CodeRecord) -> None:
        with self.lock:
            self._purge()
            self._codes[digest(code)] = replace(record, key=digest(code))

    def find_code(self, code: str, client_id: str) -> CodeRecord | None:
        """The unexpired, unused code issued to ``client_id``; a reused code revokes its family."""
        with self.lock:
            record = self._codes.get(digest(code))
            if record is None or record.client_id != client_id or self.clock() >= record.expires_at:
                return None
            if record.used:
                self.revoke_family(record.family_id)
                return None
            return replace(record)

    def claim_code(self, key: str) -> bool:
        with self.lock:
            record = self._codes.get(key)
            if record is None or record.used:
                return False
            record.used = True
            return True

    # --- refresh tokens ----------------------------------------------------------------------------

    def issue_refresh(self, family_id: str, client_id: str, username: str, scope: str, lifetime: int) -> str:
        token = secrets.token_urlsafe(48)
        with self.lock:
            self._purge()
            key = digest(token)
            self._refresh[key] = RefreshRecord(
                key, family_id, client_id, username, scope, self.clock() + lifetime
            )
        return token

    def find_refresh(self, token: str) -> RefreshRecord | None:
        """The live refresh token; a rotated one is a replay, and revokes its whole family."""
        with self.lock:
            record = self._refresh.get(digest(token))
            if record is None or record.family_id in self._revoked_families:
                return None
            if record.rotated:
                self.revoke_family(record.family_id)
                return None
            if self.clock() >= record.expires_at:
                return None
            return replace(record)

    def rotate_refresh(self, key: str) -> bool:
        """Retire a refresh token that is being exchanged; False (and the family revoked) if it was."""
        with self.lock:
            record = self._refresh.get(key)
            if record is None or record.family_id in self._revoked_families:
                return False
            if record.rotated:
                self.revoke_family(record.family_id)
                return False
            record.rotated = True
            return True

    def revoke_family(self, family_id: str) -> None:
        with self.lock:
            self._revoked_families.add(family_id)
            for key in [k for k, r in self._refresh.items() if r.family_id == family_id]:
                del self._refresh[key]

    def family_revoked(self, family_id: str) -> bool:
        with self.lock:
            return family_id in self._revoked_families

    def live_refresh_tokens(self) -> int:
        """How many refresh tokens could still be exchanged (for tests and the control API)."""
        with self.lock:
            now = self.clock()
            return sum(1 for r in self._refresh.values() if not r.rotated and now < r.expires_at)

    def _purge(self) -> None:
        """Drop what can never be used again (expired codes and tokens)."""
        now = self.clock()
        for key in [k for k, r in self._devices.items() if now >= r.expires_at + EXPIRED_DEVICE_GRACE]:
            self._user_codes.pop(self._devices.pop(key).user_code, None)
        for key in [k for k, c in self._codes.items() if now >= c.expires_at]:
            del self._codes[key]
        for key in [k for k, t in self._refresh.items() if now >= t.expires_at]:
            del self._refresh[key]
