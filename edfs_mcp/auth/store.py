"""Where a user's tokens live between runs: the OS keyring, a 0600 file, or memory.

Every store holds entries keyed by ``authority|client_id`` and says where it keeps
them (``location``), so nobody is surprised by a file where they expected a keyring.
A corrupt or unreadable entry reads as "no tokens" (sign in again), never a crash.
``locked()`` serialises refreshes across processes: whoever holds it re-reads before
refreshing, so a rotated refresh token is never lost to a second process.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "FileTokenStore",
    "KeyringTokenStore",
    "MemoryTokenStore",
    "StoredTokens",
    "TokenStore",
    "open_token_store",
    "token_key",
]

logger = logging.getLogger("edfs_mcp.auth")

FORMAT_VERSION = 1
KEYRING_SERVICE = "edfs-mcp"


def token_key(authority: str, client_id: str) -> str:
    return f"{authority.rstrip('/')}|{client_id}"


@dataclass(frozen=True)
class StoredTokens:
    access_token: str
    expires_at: float
    refresh_token: str | None = None
    scope: str = ""
    flow: str = "device"
    subject: str | None = None
    name: str | None = None
    saved_at: float = 0.0

    @classmethod
    def from_dict(cls, data: Any) -> StoredTokens | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                access_token=str(data["access_token"]),
                expires_at=float(data["expires_at"]),
                refresh_token=data.get("refresh_token") or None,
                scope=str(data.get("scope") or ""),
                flow=str(data.get("flow") or "device"),
                subject=data.get("subject"),
                name=data.get("name"),
                saved_at=float(data.get("saved_at") or 0.0),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def __repr__(self) -> str:  # never print a token by accident
        return f"StoredTokens(flow={self.flow!r}, name={self.name!r}, expires_at={self.expires_at:.0f})"


class TokenStore(Protocol):
    location: str
    problem: str | None  # why the last load found nothing usable, for status output

    def load(self, key: str) -> StoredTokens | None: ...
    def save(self, key: str, tokens: StoredTokens) -> None: ...
    def delete(self, key: str) -> None: ...
    def locked(self, key: str) -> contextlib.AbstractContextManager[None]: ...


class MemoryTokenStore:
    """Nothing persisted: sign-in lasts as long as the process."""

    location = "memory (not saved; you will sign in again next run)"

    def __init__(self) -> None:
        self._entries: dict[str, StoredTokens] = {}
        self.problem: str | None = None

    def load(self, key: str) -> StoredTokens | None:
        return self._entries.get(key)

    def save(self, key: str, tokens: StoredTokens) -> None:
        self._entries[key] = tokens

    def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    @contextlib.contextmanager
    def locked(self, key: str) -> Iterator[None]:
        yield


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _private_dir(directory: Path) -> Path:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    return directory


class FileTokenStore:
    """A JSON file, mode 0600 in a 0700 directory, replaced atomically (temp + fsync + rename)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "tokens.json"
        self.location = f"file {self.path} (mode 0600)"
        self.problem: str | None = None
        # flock is per open file: a save inside our own locked() must not lock again (it would
        # wait for itself). Holders are counted per store, across threads.
        self._holders = 0
        self._holders_guard = threading.Lock()

    def _read_all(self) -> dict[str, Any]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            self.problem = f"token file unreadable ({exc.strerror}); sign in again"
            return {}
        try:
            document = json.loads(raw)
        except ValueError:
            self.problem = "token file is corrupt; sign in again"
            return {}
        if not isinstance(document, dict) or document.get("version") != FORMAT_VERSION:
            self.problem = "token file has an unknown format; sign in again"
            return {}
        entries = document.get("entries")
        return entries if isinstance(entries, dict) else {}

    def _write_all(self, entries: dict[str, Any]) -> None:
        _private_dir(self.directory)
        payload = json.dumps({"version": FORMAT_VERSION, "entries": entries}, indent=1).encode()
        fd, temp = tempfile.mkstemp(prefix=".tokens-", dir=self.directory)  # created 0600
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def load(self, key: str) -> StoredTokens | None:
        self.problem = None
        tokens = StoredTokens.from_dict(self._read_all().get(key))
        return tokens

    def save(self, key: str, tokens: StoredTokens) -> None:
        with self._locked_unless_held():
            entries = self._read_all()
            entries[key] = asdict(tokens) | {"saved_at": time.time()}
            self._write_all(entries)

    def delete(self, key: str) -> None:
        with self._locked_unless_held():
            entries = self._read_all()
            if entries.pop(key, None) is not None or self.path.exists():
                self._write_all(entries)

    @contextlib.contextmanager
    def locked(self, key: str) -> Iterator[None]:
        _private_dir(self.directory)
        with _file_lock(self.directory / "tokens.lock"):
            with self._holders_guard:
                self._holders += 1
            try:
                yield
            finally:
                with self._holders_guard:
                    self._holders -= 1

    def _locked_unless_held(self) -> contextlib.AbstractContextManager[None]:
        with self._holders_guard:
            held = self._holders > 0
        return contextlib.nullcontext() if held else self.locked("")


class KeyringTokenStore:
    """The OS keyring; a lock file beside the config still serialises refreshes."""

    def __init__(self, backend_name: str, directory: Path) -> None:
        self.location = f"OS keyring ({backend_name})"
        self.directory = directory
        self.problem: str | None = None

    def load(self, key: str) -> StoredTokens | None:
        import keyring

        self.problem = None
        try:
            raw = keyring.get_password(KEYRING_SERVICE, key)
        except Exception as exc:  # keyring backends raise their own types
            self.problem = f"keyring unreadable ({type(exc).__name__}); sign in again"
            return None
        if raw is None:
            return None
        try:
            return StoredTokens.from_dict(json.loads(raw))
        except ValueError:
            self.problem = "keyring entry is corrupt; sign in again"
            return None

    def save(self, key: str, tokens: StoredTokens) -> None:
        import keyring

        keyring.set_password(KEYRING_SERVICE, key, json.dumps(asdict(tokens) | {"saved_at": time.time()}))

    def delete(self, key: str) -> None:
        import keyring
        from keyring.errors import PasswordDeleteError

        with contextlib.suppress(PasswordDeleteError):
            keyring.delete_password(KEYRING_SERVICE, key)

    def locked(self, key: str) -> contextlib.AbstractContextManager[None]:
        _private_dir(self.directory)
        return _file_lock(self.directory / "tokens.lock")


# keyring's own scale: backends under 1 (keyrings.alt's files, for one) are "not recommended".
RECOMMENDED_PRIORITY = 1.0


def _priority(backend: Any) -> float:
    children = getattr(backend, "backends", None)  # keyring's ChainerBackend: as good as its best
    if children is not None:
        return max((_priority(child) for child in children), default=0.0)
    return float(getattr(backend, "priority", 0) or 0)


def _working_keyring(*, recommended_only: bool) -> str | None:
    """The keyring backend's name when it really stores and returns a secret, else None.

    ``recommended_only``: refuse backends keyring itself does not recommend (priority under 1,
    such as a plain-text file), which are no safer than our own 0600 file.
    """
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
        priority = _priority(backend)
        if isinstance(backend, fail.Keyring) or priority <= 0:
            return None
        if recommended_only and priority < RECOMMENDED_PRIORITY:
            return None
        probe = f"probe-{os.getpid()}-{time.time_ns()}"
        keyring.set_password(KEYRING_SERVICE, probe, "ok")
        try:
            works = keyring.get_password(KEYRING_SERVICE, probe) == "ok"
        finally:
            with contextlib.suppress(Exception):
                keyring.delete_password(KEYRING_SERVICE, probe)
        return type(backend).__name__ if works else None
    except Exception:  # any backend failure (or no keyring installed) means "no keyring here"
        return None


def open_token_store(kind: str, directory: Path) -> TokenStore:
    """``kind``: auto, keyring, file or memory.

    auto: the OS keyring when one that keyring recommends really works, else the file.
    keyring: any working keyring backend (also a not-recommended one: it was asked for), else the
    file, with a warning. The keyring package is the ``keyring`` extra: ``pip install "edfs-mcp[keyring]"``.
    """
    if kind == "memory":
        return MemoryTokenStore()
    if kind in ("auto", "keyring"):
        backend = _working_keyring(recommended_only=kind == "auto")
        if backend is not None:
            return KeyringTokenStore(backend, directory)
        if kind == "keyring":
            logger.warning(
                "no working keyring (is the keyring extra installed? pip install 'edfs-mcp[keyring]'); "
                "tokens go to a 0600 file instead"
            )
    return FileTokenStore(directory)
