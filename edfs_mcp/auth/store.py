"""Where a user's tokens live between runs: the OS keyring, a private file, or memory.

Every store holds entries keyed by ``authority|client_id`` and says where it keeps
them (``location``), so nobody is surprised by a file where they expected a keyring.
A corrupt or unreadable entry reads as "no tokens" (sign in again), never a crash.
``locked()`` serialises refreshes across processes (``filelock``): whoever holds it re-reads
before refreshing, so a rotated refresh token is never used twice.

The file store trusts only what is private to this user:

- the directory must be owned by the user and writable by nobody else (``/tmp``-like or shared
  directories are refused, never chmod'ed; a directory is only chmod'ed when this code made it);
- the token, temporary and lock files are never followed through a symbolic link (``O_NOFOLLOW``);
- a token file readable by others is repaired to 0600 (with a warning: its tokens may have been
  read); one writable by others or owned by someone else is refused (its tokens cannot be trusted).

Crash safety, settled once (with ``edfs_mcp.auth.refresh``): each save writes the whole document
to a fresh 0600 temporary file in the same directory (``O_EXCL``), fsyncs it, renames it over the
token file and fsyncs the directory, all under the lock. A rename is atomic, so a process killed at
any point leaves the old file or the new one, whole; a save that returned is on disk. A temporary
file left by a killed writer is never read (its save never returned): whoever next finds the lock
free deletes it, so none is left holding a token.

Why not more here: the window in which a kill can lose a sign-in is not the write (a rename is
atomic) but the refresh exchange, after the authority rotated the refresh token and before the
answer is saved. Only a process that outlives the caller closes it, so that is the one layer kept:
``refresh.refresh_in_own_process``. The generation numbers, checksums and recovery from
temporary files this store had once guarded only the few microseconds between a complete temporary
file and its rename, inside a refresher that is not the process being killed; they went (files
written by them, version 2, are still read). Measured: 0 sign-outs in 120 ``kill -9`` of the
refresh loop and no acknowledged save lost in 120 kills of the save loop
(``python -m bench.kill_loop``, ``... --save``).

Long because the file store's guarantees (a private directory, no symbolic links, an atomic replace,
a lock across processes) are each a few dozen lines the other two stores do not need, behind the one
interface all three share.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import secrets
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from filelock import FileLock, Timeout

from edfs_mcp.errors import ConfigError

__all__ = [
    "FileTokenStore",
    "KeyringTokenStore",
    "MemoryTokenStore",
    "StoredTokens",
    "TokenStore",
    "UnsafeTokenStore",
    "open_token_store",
    "token_key",
]

logger = logging.getLogger("edfs_mcp.auth")

FORMAT_VERSION = 1  # {"version": 1, "entries": {...}}, what every version of edfs-mcp reads
READ_VERSIONS = frozenset({1, 2})  # 2: with a generation and a checksum (written until 0.x; read as 1)
KEYRING_SERVICE = "edfs-mcp"
TOKEN_FILE = "tokens.json"  # noqa: S105 - a file name
LOCK_FILE = "tokens.lock"
TEMP_PREFIX = ".tokens-"  # every file named so is ours to sweep (older versions used it too)
TEMP_SUFFIX = ".tmp"
MAX_FILE_BYTES = 1 << 20  # a token file is a few KiB; anything bigger is not ours

POSIX = os.name == "posix"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO planted in place of the file must not hang us
_BINARY = getattr(os, "O_BINARY", 0)


def token_key(authority: str, client_id: str) -> str:
    return f"{authority.rstrip('/')}|{client_id}"


class UnsafeTokenStore(ConfigError):
    """The token directory, file or lock file is not private to this user: refused.

    A configuration error (exit 2 from the CLI): the fix is a private ``EDFS_MCP_CONFIG_DIR``.
    """


class _Untrusted(UnsafeTokenStore):
    """A token file others own or could have written: not read (a new sign-in replaces it)."""


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
    problem: str | None  # why the last load found nothing usable, for status output

    @property
    def location(self) -> str:
        """Where the tokens are kept, for people (never a token)."""
        ...

    def load(self, key: str) -> StoredTokens | None: ...
    def save(self, key: str, tokens: StoredTokens) -> None: ...
    def delete(self, key: str) -> None: ...
    def locked(self, key: str) -> contextlib.AbstractContextManager[None]: ...
    def check(self) -> None:
        """Raise ``UnsafeTokenStore`` when tokens could not be kept safely (before a sign-in)."""
        ...


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

    def check(self) -> None:
        return None


# --- private files and directories ---------------------------------------------------------------


def _mode(info: os.stat_result) -> str:
    return f"{stat.S_IMODE(info.st_mode):04o}"


def _private_directory(directory: Path, *, create: bool) -> bool:
    """Whether ``directory`` exists and only this user can change it; made (0700) if missing and asked.

    Raises ``UnsafeTokenStore`` for a directory another user owns or could write to (a shared
    config directory, ``/tmp``): it is refused, never chmod'ed. Only a directory made here is.
    """
    try:
        info = os.stat(directory)
    except FileNotFoundError:
        if not create:
            return False
        directory.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            pass  # made by someone else meanwhile: checked below like any other
        else:
            if POSIX:
                os.chmod(directory, 0o700)  # ours; a umask may have taken bits we need
        info = os.stat(directory)
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeTokenStore(f"{directory} is not a directory, so no tokens are kept there.")
    if POSIX:
        advice = "set EDFS_MCP_CONFIG_DIR to a directory of your own that only you can write"
        if info.st_uid != os.geteuid():
            raise UnsafeTokenStore(
                f"The token directory {directory} belongs to another user (uid {info.st_uid}); "
                f"no tokens are kept there: {advice}."
            )
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise UnsafeTokenStore(
                f"The token directory {directory} can be written by other users (mode {_mode(info)}); "
                f"no tokens are kept there: {advice} (or run `chmod go-w {directory}` if it is yours alone)."
            )
    return True


def _refuse_link(path: Path, what: str) -> UnsafeTokenStore:
    return UnsafeTokenStore(
        f"The {what} {path} is a symbolic link, which is never followed. Remove it and sign in again."
    )


def _open_private(path: Path, what: str) -> int | None:
    """A read-only descriptor on ``path``, never through a symbolic link; None when it is missing."""
    if not _NOFOLLOW and os.path.islink(path):  # Windows: no O_NOFOLLOW
        raise _refuse_link(path, what)
    try:
        return os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | _NONBLOCK | _BINARY)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP or os.path.islink(path):
            raise _refuse_link(path, what) from None
        raise


def _read_descriptor(fd: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while total <= MAX_FILE_BYTES:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _write_descriptor(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_directory(directory: Path) -> None:
    if not POSIX:
        return  # Windows cannot open a directory for fsync; its renames are journaled
    fd = os.open(directory, os.O_RDONLY | _CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _encode(entries: dict[str, Any]) -> bytes:
    return json.dumps({"version": FORMAT_VERSION, "entries": entries}, indent=1, sort_keys=True).encode()


def _parse(raw: bytes) -> dict[str, Any] | str:
    """The entries of a token file, else why not."""
    if len(raw) > MAX_FILE_BYTES:
        return "token file is too large to be ours; sign in again"
    try:
        document = json.loads(raw)
    except ValueError:
        return "token file is corrupt; sign in again"
    if not isinstance(document, dict) or document.get("version") not in READ_VERSIONS:
        return "token file has an unknown format; sign in again"
    entries = document.get("entries")
    return entries if isinstance(entries, dict) else "token file is corrupt; sign in again"


class _DirectoryLock:
    """The cross-process lock (``tokens.lock`` beside the tokens), checked before each use.

    ``filelock`` with ``thread_local=False``: the process holds it as a whole, so a save from a
    worker thread inside our own ``locked()`` does not wait for itself; other processes (and other
    store objects) wait. The lock file is never followed through a symbolic link.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / LOCK_FILE
        self._lock = FileLock(str(self.path), mode=0o600, thread_local=False)

    def _check(self, *, create: bool) -> None:
        if not _private_directory(self.directory, create=create):
            raise UnsafeTokenStore(f"The token directory {self.directory} does not exist.")
        try:
            info = os.lstat(self.path)
        except FileNotFoundError:
            return
        if stat.S_ISLNK(info.st_mode):
            raise _refuse_link(self.path, "lock file")
        if not stat.S_ISREG(info.st_mode) or (POSIX and info.st_uid != os.geteuid()):
            raise UnsafeTokenStore(f"The lock file {self.path} is not a file of yours; remove it.")

    @contextlib.contextmanager
    def hold(self, *, create: bool = True) -> Iterator[None]:
        self._check(create=create)
        with self._lock:
            yield

    @contextlib.contextmanager
    def hold_if_free(self) -> Iterator[bool]:
        """Take the lock only if nobody else (in another process) has it; say whether it was taken."""
        try:
            self._check(create=False)
            self._lock.acquire(timeout=0)
        except (Timeout, UnsafeTokenStore, OSError):
            yield False
            return
        try:
            yield True
        finally:
            self._lock.release()


class FileTokenStore:
    """A JSON file, 0600 in a private directory; written crash-safely (see the module docstring)."""

    def __init__(self, directory: Path, *, create: bool = True) -> None:
        self.directory = directory
        self.path = directory / TOKEN_FILE
        self.problem: str | None = None
        self._create = create  # False: never make the directory (a refresher after the fact)
        self._lock = _DirectoryLock(directory)
        # One write or sweep at a time inside this process (the file lock is process-wide).
        self._mutex = threading.Lock()

    @property
    def location(self) -> str:
        """Where, and the file's real mode as it is now (not as it should be)."""
        try:
            info = os.lstat(self.path)
        except FileNotFoundError:
            return f"file {self.path} (not written yet; it will be mode 0600)"
        except OSError as exc:
            return f"file {self.path} (unreadable: {exc.strerror})"
        if stat.S_ISLNK(info.st_mode):
            return f"file {self.path} (a symbolic link: refused)"
        return f"file {self.path} (mode {_mode(info)})" if POSIX else f"file {self.path}"

    def check(self) -> None:
        """The directory and lock are private, and the token file is no symbolic link (a token file
        others could read or write is no obstacle: a sign-in replaces it)."""
        self._lock._check(create=True)
        if os.path.islink(self.path):
            raise _refuse_link(self.path, "token file")

    # -- reading ----------------------------------------------------------------------------------

    def _vet(self, fd: int) -> None:
        """Refuse a token file that is not ours alone; repair one that others could only read."""
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeTokenStore(f"The token file {self.path} is not a regular file; remove it.")
        if not POSIX:
            return
        if info.st_uid != os.geteuid():
            raise _Untrusted(
                f"The token file {self.path} belongs to another user (uid {info.st_uid}), so its tokens "
                "are not trusted; remove it and sign in again."
            )
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise _Untrusted(
                f"The token file {self.path} could be changed by other users (mode {_mode(info)}), so its "
                "tokens are not trusted; remove it and sign in again."
            )
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            os.fchmod(fd, 0o600)
            logger.warning(
                "The token file %s was readable by other users (mode %s); it is now 0600. Anyone who "
                "read it could use your sign-in: run `edfs-mcp logout`, then `edfs-mcp login`.",
                self.path,
                _mode(info),
            )

    def _read(self) -> dict[str, Any]:
        """The token file's entries ({} when there is none); a reason in ``problem`` when unusable."""
        fd = _open_private(self.path, "token file")
        if fd is None:
            return {}
        try:
            self._vet(fd)
            raw = _read_descriptor(fd)
        except _Untrusted as exc:
            self.problem = str(exc)
            return {}
        except OSError as exc:
            self.problem = f"token file unreadable ({exc.strerror}); sign in again"
            return {}
        finally:
            os.close(fd)
        parsed = _parse(raw)
        if isinstance(parsed, str):
            self.problem = parsed
            return {}
        return parsed

    def _temps(self) -> list[Path]:
        with os.scandir(self.directory) as listing:
            return [self.directory / e.name for e in listing if e.name.startswith(TEMP_PREFIX)]

    def _sweep(self, temps: list[Path]) -> None:
        """Under the lock: temporary files of writers killed before their rename (never read)."""
        for temp in temps:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
        if temps:
            _fsync_directory(self.directory)
            logger.info("token store: removed %d temporary file(s) of interrupted writes", len(temps))

    def load(self, key: str) -> StoredTokens | None:
        self.problem = None
        try:
            if not _private_directory(self.directory, create=False):
                return None
            temps = self._temps()
            if temps:  # swept only when nobody (in another process) may be writing one
                with self._lock.hold_if_free() as held, self._mutex:
                    if held:
                        self._sweep(self._temps())
            entries = self._read()
        except UnsafeTokenStore as exc:
            self.problem = str(exc)
            return None
        except OSError as exc:
            self.problem = f"token file unreadable ({exc.strerror}); sign in again"
            return None
        return StoredTokens.from_dict(entries.get(key))

    # -- writing ----------------------------------------------------------------------------------

    def _write(self, entries: dict[str, Any]) -> None:
        payload = _encode(entries)
        temp = self.directory / f"{TEMP_PREFIX}{secrets.token_hex(8)}{TEMP_SUFFIX}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | _BINARY
        fd = os.open(temp, flags, 0o600)
        try:
            try:
                _write_descriptor(fd, payload)
                os.fsync(fd)
            finally:
                os.close(fd)
            if os.path.islink(self.path):
                raise _refuse_link(self.path, "token file")
            os.replace(temp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        _fsync_directory(self.directory)

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[dict[str, Any]]:
        with self._lock.hold(create=self._create), self._mutex:
            self._sweep(self._temps())
            yield self._read()

    def save(self, key: str, tokens: StoredTokens) -> None:
        """Durable when it returns: the file and the directory are fsynced."""
        with self._exclusive() as current:
            self._write({**current, key: asdict(tokens) | {"saved_at": time.time()}})

    def delete(self, key: str) -> None:
        if not os.path.lexists(self.directory):
            return
        with self._exclusive() as current:
            if key in current or os.path.lexists(self.path):
                self._write({k: v for k, v in current.items() if k != key})

    def locked(self, key: str) -> contextlib.AbstractContextManager[None]:
        return self._lock.hold(create=self._create)


class KeyringTokenStore:
    """The OS keyring; a lock file beside the config still serialises refreshes."""

    def __init__(self, backend_name: str, directory: Path) -> None:
        self.location = f"OS keyring ({backend_name})"
        self.backend_name = backend_name
        self.directory = directory
        self.problem: str | None = None
        self._lock = _DirectoryLock(directory)

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
        return self._lock.hold()

    def check(self) -> None:
        self._lock._check(create=True)


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
