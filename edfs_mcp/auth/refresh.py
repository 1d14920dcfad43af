"""Refreshing a person's sign-in without ever losing the rotated refresh token.

The authority rotates a refresh token the moment a refresh request reaches it: from then on the
old token is a replay (presenting it revokes the whole family) and the new one exists only in the
answer. So the answer must be on disk before anything can lose it, and nobody may present a
refresh token that was already sent:

- ``refresh_stored`` holds the store's cross-process lock from reading the refresh token to
  saving the answer (file and directory fsynced); a second process waits, then finds the new
  tokens and does not refresh at all.
- For a store on disk, the exchange runs in a process of its own (``python -m
  edfs_mcp.auth.refresher``, in a session of its own) that the caller waits for. A caller killed
  mid-refresh (kill -9, a client that quits, Ctrl-C on its process group) cannot take the answer
  with it: the refresher still saves it, and the next start waits on the lock and reads it.
  Nothing secret crosses the pipe: the refresher reads the refresh token from the store and
  answers only what happened (``RefreshOutcome``); the caller then reads the store.

This refresher is the token file's one crash-safety layer beyond an atomic rename: the store keeps
no generations, checksums or recovery from temporary files (its docstring says why).

``stale`` names access tokens the API refused (401; revoked while the refresh token is still
good): tokens with those SHA-256 digests are refreshed even when they have not expired yet.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx2

from edfs_mcp.auth.oauth import kept_refresh_token
from edfs_mcp.auth.renewing import REFRESH_LEEWAY_SECONDS, token_expiry
from edfs_mcp.auth.store import (
    FileTokenStore,
    KeyringTokenStore,
    StoredTokens,
    TokenStore,
    UnsafeTokenStore,
)

__all__ = [
    "REFRESH_LEEWAY_SECONDS",
    "RefreshJob",
    "RefreshOutcome",
    "child_main",
    "refresh_in_own_process",
    "refresh_stored",
    "stored_from_response",
    "token_digest",
    "usable",
]

logger = logging.getLogger("edfs_mcp.auth")

# The authority's answers meaning "this refresh token is dead": the sign-in is over.
REVOKED = frozenset({"invalid_grant", "invalid_token", "unauthorized_client"})
_ERROR_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_PRINTABLE = re.compile(r"[^\x20-\x7e]")

Kind = Literal["current", "refreshed", "signed_out", "revoked", "failed", "unreachable"]
KINDS: frozenset[str] = frozenset({"current", "refreshed", "signed_out", "revoked", "failed", "unreachable"})


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def usable(
    tokens: StoredTokens,
    stale: frozenset[str] | tuple[str, ...],
    *,
    leeway: float = 0.0,
    now: float | None = None,
) -> bool:
    """Not refused by the API, and valid for at least ``leeway`` more seconds (from ``now``)."""
    now = time.time() if now is None else now
    return now < tokens.expires_at - leeway and token_digest(tokens.access_token) not in stale


def stored_from_response(
    token: dict[str, Any], flow: str, previous: StoredTokens | None = None, *, now: float | None = None
) -> StoredTokens:
    """What to keep of a token endpoint's answer received at ``now`` (default: the time now)."""
    scope = token.get("scope")
    return StoredTokens(
        access_token=str(token["access_token"]),
        expires_at=token_expiry(token, time.time() if now is None else now),
        refresh_token=kept_refresh_token(token, previous.refresh_token if previous else None),
        scope=(scope if isinstance(scope, str) and scope else None) or (previous.scope if previous else ""),
        flow=flow,
        subject=previous.subject if previous else None,
        name=previous.name if previous else None,
    )


@dataclass(frozen=True)
class RefreshJob:
    """What a refresh needs; no secret (the refresh token is read from the store, under its lock)."""

    key: str
    token_endpoint: str
    client_id: str
    scope: str
    stale: tuple[str, ...] = ()  # digests of access tokens the API refused
    timeout: float = 30.0


@dataclass(frozen=True)
class RefreshOutcome:
    """What a refresh did. ``detail``: an OAuth error code, an exception's type, or a store problem."""

    kind: Kind
    detail: str | None = None

    def to_line(self) -> bytes:
        return json.dumps({"kind": self.kind, "detail": self.detail}).encode() + b"\n"

    @classmethod
    def from_output(cls, output: bytes) -> RefreshOutcome | None:
        """The refresher's answer (its last line), cleaned; None if there is none."""
        lines = output.strip().splitlines()
        try:
            data = json.loads(lines[-1]) if lines else None
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("kind") not in KINDS:
            return None
        detail = data.get("detail")
        clean = _PRINTABLE.sub("", detail)[:300] if isinstance(detail, str) else None
        kind: Kind = data["kind"]
        return cls(kind, clean or None)


def _error_code(response: httpx2.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, str) and _ERROR_CODE.fullmatch(error) else None


def refresh_stored(store: TokenStore, job: RefreshJob, http: httpx2.Client) -> RefreshOutcome:
    """Under the store's lock: refresh unless someone already did; save the answer before letting go."""
    try:
        with store.locked(job.key):
            latest = store.load(job.key)
            if latest is not None and usable(latest, job.stale, leeway=REFRESH_LEEWAY_SECONDS):
                return RefreshOutcome("current")  # another process refreshed meanwhile
            if latest is None or not latest.refresh_token:
                return RefreshOutcome("signed_out", store.problem)
            data = {
                "grant_type": "refresh_token",
                "refresh_token": latest.refresh_token,
                "client_id": job.client_id,
            }
            if job.scope:
                data["scope"] = job.scope
            try:
                response = http.post(job.token_endpoint, data=data, headers={"Accept": "application/json"})
            except httpx2.HTTPError as exc:
                return RefreshOutcome("unreachable", type(exc).__name__)
            try:
                body = response.json() if response.status_code == 200 else None
            except ValueError:
                body = None
            if isinstance(body, dict) and isinstance(body.get("access_token"), str) and body["access_token"]:
                store.save(job.key, stored_from_response(body, latest.flow, latest))
                return RefreshOutcome("refreshed")
            error = _error_code(response)
            if response.status_code in (400, 401) and error in REVOKED:
                store.delete(job.key)
                return RefreshOutcome("revoked", error)
            return RefreshOutcome("failed", error or f"HTTP {response.status_code}")
    except UnsafeTokenStore as exc:
        return RefreshOutcome("signed_out", str(exc))


# --- the refresher process -----------------------------------------------------------------------


def store_spec(store: TokenStore) -> dict[str, str] | None:
    """How a refresher process opens the same store; None when it cannot (memory)."""
    if isinstance(store, FileTokenStore):
        return {"store": "file", "directory": str(store.directory)}
    if isinstance(store, KeyringTokenStore):
        return {"store": "keyring", "directory": str(store.directory), "backend": store.backend_name}
    return None


def _open_spec(spec: dict[str, Any]) -> TokenStore | None:
    directory = Path(str(spec.get("directory")))
    if spec.get("store") == "file":
        return FileTokenStore(directory, create=False)  # a refresh never makes the directory
    if spec.get("store") == "keyring":
        return KeyringTokenStore(str(spec.get("backend")), directory)
    return None


# Refreshers still running when their caller gave up waiting (kept so they are reaped, not leaked).
_running: set[subprocess.Popen[bytes]] = set()
_running_guard = threading.Lock()


def refresh_in_own_process(spec: dict[str, str], job: RefreshJob) -> RefreshOutcome | None:
    """Run ``refresh_stored`` in a new process (and session) and wait for its answer.

    None (or OSError) when it could not run or ended without an answer (it could not start, import
    or was killed): the caller then refreshes in-process, which is safe — under the lock, with a
    re-read, whatever the refresher did or did not do.
    """
    with _running_guard:
        for done in [p for p in _running if p.poll() is not None]:
            _running.discard(done)
    options: dict[str, Any] = {}
    if os.name == "posix":
        options["start_new_session"] = True  # a signal to our process group does not reach it
    else:
        flags = ("CREATE_NEW_PROCESS_GROUP", "CREATE_NO_WINDOW")  # Windows: no console, no Ctrl-C
        options["creationflags"] = sum(getattr(subprocess, flag, 0) for flag in flags)
    if not sys.executable:
        raise OSError("no Python interpreter to run the refresher")
    process = subprocess.Popen(  # our own interpreter and module, no shell
        [sys.executable, "-m", "edfs_mcp.auth.refresher"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        **options,
    )
    request = json.dumps({**spec, "job": {**job.__dict__, "stale": list(job.stale)}}).encode()
    try:
        output, _ = process.communicate(request, timeout=job.timeout * 4 + 30)
    except subprocess.TimeoutExpired:
        with _running_guard:
            _running.add(process)  # it holds the lock; it is never killed mid-exchange
        return RefreshOutcome("failed", "the refresh took too long")
    outcome = RefreshOutcome.from_output(output)
    if outcome is None:
        logger.info("the refresher ended with code %s and no answer", process.returncode)
    return outcome


def _job_from(data: Any) -> RefreshJob:
    if not isinstance(data, dict):
        raise ValueError("no job")
    stale = data.get("stale") or []
    return RefreshJob(
        key=str(data["key"]),
        token_endpoint=str(data["token_endpoint"]),
        client_id=str(data["client_id"]),
        scope=str(data.get("scope") or ""),
        stale=tuple(str(s) for s in stale) if isinstance(stale, list) else (),
        timeout=float(data.get("timeout") or 30.0),
    )


def child_main() -> int:
    """The refresher process: a job on stdin, one outcome line on stdout, nothing else anywhere."""
    outcome: RefreshOutcome
    try:
        request = json.loads(sys.stdin.buffer.read())
        job = _job_from(request.get("job"))
        store = _open_spec(request)
        if store is None:
            outcome = RefreshOutcome("signed_out", "no token store")
        else:
            with httpx2.Client(timeout=job.timeout) as http:
                outcome = refresh_stored(store, job, http)
    except Exception as exc:  # whatever happened, the caller gets an outcome and no traceback
        outcome = RefreshOutcome("failed", type(exc).__name__)
    with contextlib.suppress(OSError):  # the caller may be gone: the tokens are saved regardless
        sys.stdout.buffer.write(outcome.to_line())
        sys.stdout.buffer.flush()
    return 0
