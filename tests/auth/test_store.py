"""The token file: private, atomic, versioned; a bad cache means 'sign in again', not a crash.

Shared or world-writable directories, symbolic links and files others can read are met on real
files; a write interrupted by a crash is met with the temporary file such a crash leaves (the
kill -9 loops in tests/e2e/test_token_store_crash.py make them for real): it is never read, and the
next one to find the lock free deletes it.
"""

import json
import logging
import multiprocessing
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from filelock import FileLock, Timeout
from keyring.backends.fail import Keyring as FailKeyring
from keyrings.alt.file import PlaintextKeyring

from edfs_mcp.auth.store import (
    KEYRING_SERVICE,
    FileTokenStore,
    KeyringTokenStore,
    StoredTokens,
    UnsafeTokenStore,
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
    assert document == {"version": 1, "entries": document["entries"]}
    assert document["entries"][KEY]["access_token"] == "second"


def _document(generation: int, entries: dict[str, object]) -> dict[str, object]:
    """A file as versions with a generation and a checksum wrote it (version 2, still read)."""
    return {"version": 2, "generation": generation, "checksum": "x" * 64, "entries": entries}


def _entry(access: str, refresh: str = "refresh-x") -> dict[str, object]:
    return {"access_token": access, "expires_at": time.time() + 3600, "refresh_token": refresh}


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b'{"version": 99, "entries": {}}',
        b"[]",
        b'{"version":1,"entries":{"k":1}}',
        json.dumps({**_document(3, {KEY: _entry("a")}), "entries": [1]}).encode(),  # entries no object
        json.dumps(_document(3, {KEY: _entry("a")})).encode()[:-40],  # cut short
    ],
    # Named, not shown: the documents hold a time, and xdist workers must collect the same ids.
    ids=["not-json", "unknown-version", "not-an-object", "bad-entry", "bad-entries", "cut"],
)
def test_a_corrupt_file_reads_as_signed_out_with_a_reason(tmp_path: Path, content: bytes) -> None:
    store = FileTokenStore(tmp_path)
    tmp_path.joinpath("tokens.json").write_bytes(content)
    tmp_path.joinpath("tokens.json").chmod(0o600)
    assert store.load(KEY) is None
    if content != b'{"version":1,"entries":{"k":1}}':
        assert store.problem is not None and "sign in again" in store.problem
    store.save(KEY, _tokens())  # and it can be overwritten by a new sign-in
    assert store.load(KEY) is not None


def test_a_file_with_a_generation_and_checksum_is_read_then_rewritten_plainly(tmp_path: Path) -> None:
    tmp_path.joinpath("tokens.json").write_text(json.dumps(_document(7, {KEY: _entry("old")})))
    tmp_path.joinpath("tokens.json").chmod(0o600)
    store = FileTokenStore(tmp_path)
    loaded = store.load(KEY)
    assert loaded is not None and loaded.access_token == "old"
    store.save(KEY, _tokens("new"))
    document = json.loads(store.path.read_text())
    assert document["version"] == 1 and "generation" not in document  # what every version reads


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
    keyring.set_keyring(FailKeyring())  # type: ignore[no-untyped-call]  # keyring ships no annotations here
    try:
        for kind in ("auto", "keyring"):
            store = open_token_store(kind, tmp_path)
            assert isinstance(store, FileTokenStore), kind
            assert str(tmp_path) in store.location and "0600" in store.location
    finally:
        keyring.set_keyring(previous)


# --- who may read, write or redirect the tokens ----------------------------------------------------

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
NOBODY = 65534


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_a_token_file_others_can_read_is_repaired_and_the_user_told(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = FileTokenStore(tmp_path)
    store.save(KEY, _tokens("access-r", "refresh-r"))
    store.path.chmod(0o644)
    assert "(mode 0644)" in store.location  # status reports the mode the file has, not the one it should
    caplog.set_level(logging.WARNING, logger="edfs_mcp.auth")
    loaded = store.load(KEY)
    assert loaded is not None and loaded.access_token == "access-r"
    assert _mode(store.path) == 0o600 and "(mode 0600)" in store.location
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert str(store.path) in warnings[0] and "0644" in warnings[0] and "now 0600" in warnings[0]
    assert "access-r" not in caplog.text and "refresh-r" not in caplog.text
    caplog.clear()
    store.load(KEY)
    assert not caplog.records  # told once, when it happened


@pytest.mark.parametrize("mode", [0o666, 0o620, 0o602])
def test_a_token_file_others_can_write_is_refused_not_trusted(tmp_path: Path, mode: int) -> None:
    store = FileTokenStore(tmp_path)
    store.save(KEY, _tokens())
    store.path.chmod(mode)
    assert store.load(KEY) is None
    assert (
        store.problem is not None
        and "changed by other users" in store.problem
        and f"{mode:04o}" in store.problem
    )
    assert _mode(store.path) == mode  # refused, left as found
    store.save(KEY, _tokens("fresh"))  # a new sign-in replaces it with a private file
    assert _mode(store.path) == 0o600 and store.load(KEY).access_token == "fresh"  # type: ignore[union-attr]


@needs_root
def test_a_token_file_of_another_user_is_refused(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path)
    store.save(KEY, _tokens())
    os.chown(store.path, NOBODY, NOBODY)
    assert store.load(KEY) is None
    assert store.problem is not None and "belongs to another user" in store.problem


def test_a_symlinked_token_file_is_never_followed(tmp_path: Path) -> None:
    directory = tmp_path / "config"
    store = FileTokenStore(directory)
    store.save(KEY, _tokens())
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_bytes(store.path.read_bytes())
    elsewhere.chmod(0o600)
    store.path.unlink()
    store.path.symlink_to(elsewhere)
    assert store.load(KEY) is None
    assert store.problem is not None and "symbolic link" in store.problem and str(store.path) in store.problem
    assert "symbolic link" in store.location
    before = elsewhere.read_bytes()
    with pytest.raises(UnsafeTokenStore, match="symbolic link"):
        store.save(KEY, _tokens("other"))
    assert elsewhere.read_bytes() == before and store.path.is_symlink()
    assert [p.name for p in directory.iterdir() if p.name.startswith(".tokens-")] == []


def test_a_symlinked_lock_file_is_refused_and_its_target_never_made(tmp_path: Path) -> None:
    directory = tmp_path / "config"
    directory.mkdir(mode=0o700)
    target = tmp_path / "victim"
    (directory / "tokens.lock").symlink_to(target)
    store = FileTokenStore(directory)
    with pytest.raises(UnsafeTokenStore, match=r"lock file .* symbolic link"), store.locked(KEY):
        pass
    with pytest.raises(UnsafeTokenStore, match="symbolic link"):
        store.save(KEY, _tokens())
    assert not target.exists() and not os.path.lexists(store.path)


@pytest.mark.parametrize(
    ("mode", "why"), [(0o1777, "written by other users"), (0o770, "written by other users")]
)
def test_a_shared_directory_is_refused_and_never_chmoded(tmp_path: Path, mode: int, why: str) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(mode)
    store = FileTokenStore(shared)
    with pytest.raises(UnsafeTokenStore, match=why):
        store.save(KEY, _tokens())
    with pytest.raises(UnsafeTokenStore, match=f"mode {mode:04o}"):
        store.check()
    assert store.load(KEY) is None and store.problem is not None and "EDFS_MCP_CONFIG_DIR" in store.problem
    assert _mode(shared) == mode and list(shared.iterdir()) == []


def test_the_real_tmp_is_refused() -> None:
    shared = Path("/tmp")  # noqa: S108 - the point: a sticky, world-writable directory
    info = os.stat(shared)
    if not (info.st_mode & stat.S_ISVTX and info.st_mode & stat.S_IWOTH):
        pytest.skip(f"{shared} is not sticky and world-writable here")
    with pytest.raises(UnsafeTokenStore, match=r"mode 1777|written by other users"):
        FileTokenStore(shared).check()
    assert os.stat(shared).st_mode == info.st_mode


@needs_root
def test_a_directory_of_another_user_is_refused(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, NOBODY, NOBODY)
    with pytest.raises(UnsafeTokenStore, match="belongs to another user"):
        FileTokenStore(theirs).save(KEY, _tokens())
    assert os.stat(theirs).st_uid == NOBODY and list(theirs.iterdir()) == []


def test_a_directory_made_here_is_0700_and_an_existing_private_one_is_left_as_it_is(tmp_path: Path) -> None:
    FileTokenStore(tmp_path / "a" / "new").save(KEY, _tokens())
    assert _mode(tmp_path / "a" / "new") == 0o700
    mine = tmp_path / "mine"
    mine.mkdir()
    mine.chmod(0o755)  # readable by others is the user's choice; the file inside is 0600 anyway
    FileTokenStore(mine).save(KEY, _tokens())
    assert _mode(mine) == 0o755 and _mode(mine / "tokens.json") == 0o600


# --- a write interrupted by a crash ----------------------------------------------------------------


def _leave_temp(directory: Path, name: str, content: bytes, mode: int = 0o600) -> Path:
    """What a process killed inside ``save`` leaves: a temporary file beside the token file."""
    path = directory / name
    path.write_bytes(content)
    path.chmod(mode)
    return path


def _temps(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".tokens-"))


def test_a_temp_file_of_an_interrupted_write_is_never_read_and_is_swept(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path)
    store.save(KEY, _tokens("access-1", "refresh-1"))
    newer = json.dumps({"version": 1, "entries": {KEY: _entry("access-2", "refresh-2")}}).encode()
    _leave_temp(tmp_path, ".tokens-aaaa.tmp", newer)  # killed before its rename: its save never returned
    _leave_temp(tmp_path, ".tokens-bbbb.tmp", newer[: len(newer) // 2])  # killed mid-write
    _leave_temp(tmp_path, ".tokens-000000000009-cccc.tmp", newer, mode=0o666)  # planted, or older naming
    loaded = store.load(KEY)
    assert loaded is not None and (loaded.access_token, loaded.refresh_token) == ("access-1", "refresh-1")
    assert _temps(tmp_path) == []  # none is left holding a token
    assert _mode(store.path) == 0o600


def test_a_corrupt_token_file_beside_a_temp_file_is_signed_out_and_the_temp_swept(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path)
    store.save(KEY, _tokens("access-1"))
    store.path.write_bytes(b"{broken")
    _leave_temp(
        tmp_path, ".tokens-ffff.tmp", json.dumps({"version": 1, "entries": {KEY: _entry("a-2")}}).encode()
    )
    assert store.load(KEY) is None and store.problem is not None and "sign in again" in store.problem
    assert _temps(tmp_path) == []


def _hold_lock(
    directory: str, holding: "multiprocessing.synchronize.Event", release: "multiprocessing.synchronize.Event"
) -> None:
    store = FileTokenStore(Path(directory))
    with store.locked(KEY):
        holding.set()
        release.wait(30)


@pytest.fixture
def other_process_holding_the_lock(tmp_path: Path) -> Iterator["multiprocessing.synchronize.Event"]:
    context = multiprocessing.get_context("fork")
    holding, release = context.Event(), context.Event()
    FileTokenStore(tmp_path).save(KEY, _tokens("access-1"))
    other = context.Process(target=_hold_lock, args=(str(tmp_path), holding, release))
    other.start()
    assert holding.wait(30)
    try:
        yield release
    finally:
        release.set()
        other.join(30)


def test_the_lock_excludes_another_process(
    tmp_path: Path, other_process_holding_the_lock: "multiprocessing.synchronize.Event"
) -> None:
    with pytest.raises(Timeout):
        FileLock(str(tmp_path / "tokens.lock")).acquire(timeout=0)
    other_process_holding_the_lock.set()
    with FileTokenStore(tmp_path).locked(KEY):  # once the other lets go
        assert _mode(tmp_path / "tokens.lock") == 0o600


def test_a_writer_in_another_process_keeps_its_temp_file(
    tmp_path: Path, other_process_holding_the_lock: "multiprocessing.synchronize.Event"
) -> None:
    """Only the lock holder sweeps: a reader must not delete the file another process is writing."""
    temp = _leave_temp(tmp_path, ".tokens-gggg.tmp", json.dumps(_document(2, {KEY: _entry("a-2")})).encode())
    store = FileTokenStore(tmp_path)
    assert store.load(KEY).access_token == "access-1"  # type: ignore[union-attr]  # the token file only
    assert temp.exists()
    other_process_holding_the_lock.set()
    with store.locked(KEY):
        pass
    assert store.load(KEY).access_token == "access-1" and _temps(tmp_path) == []  # type: ignore[union-attr]
