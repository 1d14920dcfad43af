"""The token file: private, atomic, versioned; a bad cache means 'sign in again', not a crash."""

import json
import multiprocessing
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends.fail import Keyring as FailKeyring
from keyrings.alt.file import PlaintextKeyring

from edfs_mcp.auth.store import (
    KEYRING_SERVICE,
    FileTokenStore,
    KeyringTokenStore,
    StoredTokens,
    open_token_store,
    token_key,
)

KEY = token_key("https://ims.example/", "native-app")


def _tokens(access: str = "access-1", refresh: str | None = "refresh-1") -> StoredTokens:
    return StoredTokens(
        access_token=access, expires_at=time.time() + 3600, refresh_token=refresh, name="Avery"
    )


def test_file_and_directory_are_private(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "edfs-mcp")
    store.save(KEY, _tokens())
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(store.directory).st_mode) == 0o700
    loaded = store.load(KEY)
    assert loaded is not None and loaded.access_token == "access-1" and loaded.refresh_token == "refresh-1"


def test_entries_are_keyed_by_authority_and_client(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path)
    store.save(KEY, _tokens("a"))
    store.save(token_key("https://ims.example", "other-app"), _tokens("b"))
    assert store.load(KEY).access_token == "a"  # type: ignore[union-attr]
    store.delete(KEY)
    assert store.load(KEY) is None
    assert store.load(token_key("https://ims.example", "other-app")) is not None


def test_writes_replace_the_file_whole(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path)
    store.save(KEY, _tokens("first"))
    inode = os.stat(store.path).st_ino
    store.save(KEY, _tokens("second"))
    assert os.stat(store.path).st_ino != inode  # a new file renamed over the old one
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tokens-")] == []
    document = json.loads(store.path.read_text())
    assert document["version"] == 1 and document["entries"][KEY]["access_token"] == "second"


@pytest.mark.parametrize(
    "content", [b"{not json", b'{"version": 99, "entries": {}}', b"[]", b'{"version":1,"entries":{"k":1}}']
)
def test_a_corrupt_file_reads_as_signed_out_with_a_reason(tmp_path: Path, content: bytes) -> None:
    store = FileTokenStore(tmp_path)
    tmp_path.joinpath("tokens.json").write_bytes(content)
    assert store.load(KEY) is None
    if content != b'{"version":1,"entries":{"k":1}}':
        assert store.problem is not None and "sign in again" in store.problem
    store.save(KEY, _tokens())  # and it can be overwritten by a new sign-in
    assert store.load(KEY) is not None


def test_the_repr_never_shows_a_token() -> None:
    text = repr(_tokens("secret-access-token", "secret-refresh-token"))
    assert "secret" not in text


@pytest.fixture
def plaintext_keyring(tmp_path: Path) -> Iterator[PlaintextKeyring]:
    """keyrings.alt's file backend, its file in tmp_path, set through keyring's API for this test."""
    previous = keyring.get_keyring()
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring" / "keyring_pass.cfg")
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


def test_the_keyring_store_keeps_tokens_in_the_keyring(
    tmp_path: Path, plaintext_keyring: PlaintextKeyring
) -> None:
    store = open_token_store("keyring", tmp_path / "config")
    assert isinstance(store, KeyringTokenStore) and store.location == "OS keyring (PlaintextKeyring)"
    store.save(KEY, _tokens("access-k", "refresh-k"))
    # In the keyring's file, under our service and key; nothing in our own directory but the lock.
    raw = keyring.get_password(KEYRING_SERVICE, KEY)
    assert raw is not None and json.loads(raw)["refresh_token"] == "refresh-k"
    on_disk = PlaintextKeyring()  # the file itself, read by a backend of its own
    on_disk.file_path = plaintext_keyring.file_path
    assert json.loads(on_disk.get_password(KEYRING_SERVICE, KEY) or "{}")["access_token"] == "access-k"
    assert not (tmp_path / "config" / "tokens.json").exists()
    # A new store (another process, later) reads it back; the probe left nothing behind.
    loaded = open_token_store("keyring", tmp_path / "config").load(KEY)
    assert loaded is not None and loaded.access_token == "access-k" and loaded.name == "Avery"
    assert "probe" not in Path(plaintext_keyring.file_path).read_text()
    with store.locked(KEY):
        assert (tmp_path / "config" / "tokens.lock").exists()
    store.delete(KEY)
    assert store.load(KEY) is None and keyring.get_password(KEYRING_SERVICE, KEY) is None
    store.delete(KEY)  # deleting what is not there is fine


def test_a_corrupt_keyring_entry_reads_as_signed_out_with_a_reason(
    tmp_path: Path, plaintext_keyring: PlaintextKeyring
) -> None:
    store = open_token_store("keyring", tmp_path)
    keyring.set_password(KEYRING_SERVICE, KEY, "{not json")
    assert store.load(KEY) is None and store.problem is not None and "sign in again" in store.problem
    store.save(KEY, _tokens())
    assert store.load(KEY) is not None and store.problem is None


def test_auto_prefers_our_file_to_a_keyring_keyring_does_not_recommend(
    tmp_path: Path, plaintext_keyring: PlaintextKeyring
) -> None:
    """A plain-text keyring file is no safer than our 0600 file, and its writes are not atomic."""
    assert plaintext_keyring.priority < 1
    store = open_token_store("auto", tmp_path)
    assert isinstance(store, FileTokenStore)
    assert str(tmp_path) in store.location and "0600" in store.location


def test_without_a_keyring_backend_the_file_store_is_used_and_says_so(tmp_path: Path) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(FailKeyring())
    try:
        for kind in ("auto", "keyring"):
            store = open_token_store(kind, tmp_path)
            assert isinstance(store, FileTokenStore), kind
            assert str(tmp_path) in store.location and "0600" in store.location
    finally:
        keyring.set_keyring(previous)


def _hold_lock(directory: str, seconds: float, started: "multiprocessing.synchronize.Event") -> None:
    store = FileTokenStore(Path(directory))
    with store.locked(KEY):
        started.set()
        time.sleep(seconds)


def test_the_lock_excludes_another_process(tmp_path: Path) -> None:
    started = multiprocessing.get_context("fork").Event()
    other = multiprocessing.get_context("fork").Process(target=_hold_lock, args=(str(tmp_path), 0.5, started))
    other.start()
    assert started.wait(10)
    begun = time.monotonic()
    with FileTokenStore(tmp_path).locked(KEY):
        waited = time.monotonic() - begun
    other.join(10)
    assert waited >= 0.2  # it had to wait for the other process to let go
