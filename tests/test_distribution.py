"""What people install, run as they would run it.

- The client configs for a clone (`manifests/clients/from-clone`, `from-venv`): the paths filled in,
  each command is started as a GUI client starts it (the config's env, no shell's PATH) by a real MCP
  client and serves the sandbox.
- The MCP Bundle: `python manifests/mcpb/pack.py` packs it; its contents are checked, and the server
  is started from the unpacked bundle exactly as the manifest's `mcp_config` says (uv installs the
  dependencies from `pyproject.toml`, as the host does).
- The sdist and wheel hold the package and its metadata, not the tests.

uv comes with the dev extra. The first uv run downloads the dependencies into uv's cache (the clone
configs: a fresh cache per test module, so they build the clone as it is now, as a first run does).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from edfs_mcp import __version__
from tests.harness import clean_env, text_of

pytestmark = [pytest.mark.anyio, pytest.mark.real_process]

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = ROOT / "manifests" / "clients"
PLACEHOLDER = "/ABSOLUTE/PATH/TO/edfs-mcp"
UVX_PLACEHOLDER = "/ABSOLUTE/PATH/TO/uvx"  # README: the output of `command -v uvx`
PACK = ROOT / "manifests" / "mcpb" / "pack.py"
MCPB_CLI = ROOT / "tests" / "clients" / "node_modules" / "@anthropic-ai" / "mcpb" / "dist" / "cli" / "cli.js"
BIN = Path(sys.executable).parent
UV = shutil.which("uv", path=str(BIN)) or shutil.which("uv")
UVX = shutil.which("uvx", path=str(BIN)) or shutil.which("uvx")
SNAPSHOTS = {path.stem for path in (ROOT / "tests" / "__toolsnaps__").glob("*.json")}
# What Claude Desktop, Cursor or VS Code started from the desktop give a server: not the shell's PATH
# (that a bare `uvx` needs: `spawn uvx ENOENT`), just the system's.
GUI_PATH = "/usr/bin:/bin"
# Passed on as they are: how this machine reaches PyPI (certificates, proxies, index), and coverage's
# subprocess measurement. Nothing here says where a program is.
PASSED_ON = re.compile(
    r"SSL_CERT_(FILE|DIR)|(HTTPS?|ALL|NO)_PROXY|UV_(INDEX|INDEX_URL|DEFAULT_INDEX|EXTRA_INDEX_URL|NATIVE_TLS)"
    r"|COVERAGE_\w+",
    re.IGNORECASE,
)


def _gui_env(extra: dict[str, str], uv_cache: Path) -> dict[str, str]:
    """A GUI client's environment for a server: HOME (uv's Python and tool dirs under it), the system's
    PATH, and the config's env; uv's cache in ``uv_cache``."""
    env = {name: value for name, value in os.environ.items() if PASSED_ON.fullmatch(name)}
    env.update(HOME=os.environ["HOME"], PATH=GUI_PATH, UV_CACHE_DIR=str(uv_cache))
    env.update(extra)
    return env


def _server_env(extra: dict[str, str]) -> dict[str, str]:
    env = clean_env()
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # uv / uvx of this environment first
    env["UV_PYTHON"] = sys.executable  # uv uses this Python instead of looking for (or fetching) one
    env.update(extra)
    return env


async def _serves_the_sandbox(command: str, args: list[str], env: dict[str, str], errlog: Path) -> None:
    """``command`` started with exactly ``env`` serves the sandbox to a real MCP client."""
    params = StdioServerParameters(command=command, args=args, env=env)
    try:
        with errlog.open("w") as stderr:
            async with Client(stdio_client(params, errlog=stderr), read_timeout_seconds=300) as client:
                assert client.server_info is not None and client.server_info.name == "edfs-mcp"
                assert "SANDBOX" in (client.instructions or "")
                tools = {tool.name for tool in (await client.list_tools()).tools}
                assert "execute_integration_package" in tools and tools == SNAPSHOTS
                result = await client.call_tool("list_integration_packages", {})
                assert not result.is_error, text_of(result)
    except Exception as error:
        raise AssertionError(
            f"{command} {' '.join(args)}: {error!r}; its stderr:\n{await anyio.Path(errlog).read_text()}"
        ) from error


# --- client configs for a clone --------------------------------------------------------------------


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


def _clone_configs() -> list[Path]:
    return sorted([*CLIENTS.glob("from-clone/*.json"), *CLIENTS.glob("from-venv/*.json")])


def test_every_client_has_the_clone_forms_beside_the_published_one() -> None:
    published = {path.name for path in CLIENTS.glob("*.json")}
    assert published == {"claude_desktop_config.json", "cursor-mcp.json", "vscode-mcp.json"}
    for form in ("from-clone", "from-venv"):
        assert {path.name for path in (CLIENTS / form).glob("*.json")} == published, form
        for name in published:
            # The same entry as the published config, but for how it is started.
            clone, original = (
                json.loads((CLIENTS / form / name).read_text()),
                json.loads((CLIENTS / name).read_text()),
            )
            key = "servers" if name == "vscode-mcp.json" else "mcpServers"
            for entry in (clone[key]["edfs"], original[key]["edfs"]):
                del entry["command"], entry["args"]
            assert clone == original, f"{form}/{name}"


def _launch(path: Path) -> tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]]:
    """What a client does with the config at ``path``: the command, its arguments and environment."""
    document = _load(path)
    server = document["servers" if path.name == "vscode-mcp.json" else "mcpServers"]["edfs"]
    assert PLACEHOLDER in [server["command"], *server["args"]] or server["command"].startswith(PLACEHOLDER)
    script = shutil.which("edfs-mcp", path=str(BIN))
    assert script is not None

    def fill(value: str) -> str:
        # The venv form names the script where README's `python3 -m venv .venv` puts it; use the
        # script of the environment running the tests (CI's is .ci-venv).
        if value == f"{PLACEHOLDER}/.venv/bin/edfs-mcp":
            return script
        if value == UVX_PLACEHOLDER:  # what `command -v uvx` prints: uv's, of the dev extra
            return os.path.abspath(UVX) if UVX else value
        return value.replace(PLACEHOLDER, str(ROOT))

    # VS Code asks for its ${input:...} values; left empty, as a newcomer would, they mean the sandbox.
    env = {name: re.sub(r"\$\{input:[\w-]+\}", "", value) for name, value in server["env"].items()}
    return fill(server["command"]), tuple(fill(arg) for arg in server["args"]), tuple(sorted(env.items()))


def _distinct_launches() -> dict[str, list[Path]]:
    """The clone configs grouped by what they launch: configs that launch the very same command (the
    Claude Desktop and Cursor files differ only in their file name) are started once, for all."""
    groups: dict[tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]], list[Path]] = {}
    for path in _clone_configs():
        groups.setdefault(_launch(path), []).append(path)
    return {" = ".join(f"{p.parent.name}/{p.name}" for p in paths): paths for paths in groups.values()}


def test_every_clone_config_is_started_by_the_test_below() -> None:
    started = [path for paths in _distinct_launches().values() for path in paths]
    assert sorted(started) == _clone_configs() and len(_clone_configs()) == 6


@pytest.fixture(scope="module")
def uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("uv-cache")


@pytest.mark.parametrize("configs", list(_distinct_launches()))
async def test_a_clone_config_starts_the_server(configs: str, uv_cache: Path, tmp_path: Path) -> None:
    """Started as a GUI client starts it: the command as the config names it, found without the
    shell's PATH (so it must be absolute: on a machine with /usr/bin/uvx a bare one would pass)."""
    assert UV is not None and UVX is not None, "uv comes with the dev extra: pip install -e '.[dev]'"
    command, args, env = _launch(_distinct_launches()[configs][0])
    assert os.path.isabs(command), (
        f"{configs}: a GUI client does not find {command!r} without the shell's PATH"
    )
    await _serves_the_sandbox(command, list(args), _gui_env(dict(env), uv_cache), tmp_path / "stderr.log")


def _claude_code(tmp_path: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    stub = tmp_path / "claude"
    stub.write_text(f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    stub.chmod(0o755)
    env = clean_env()
    env["PATH"] = f"{tmp_path}{os.pathsep}{BIN}{os.pathsep}{env['PATH']}"
    return subprocess.run(
        ["sh", str(CLIENTS / "claude-code.sh"), *args],
        env={**env, **settings},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_claude_code_script_registers_the_clone_forms(tmp_path: Path) -> None:
    head = ["mcp", "add", "edfs", "--transport", "stdio", "--scope", "user"]
    done = _claude_code(tmp_path, "--from-clone", EDFS_MCP_CLIENT_ID="app-1")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        *head,
        "--env",
        "EDFS_MCP_CLIENT_ID=app-1",
        "--",
        "uvx",
        "--from",
        str(ROOT),
        "edfs-mcp",
        "serve",
    ]
    done = _claude_code(tmp_path, "--venv")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [*head, "--", shutil.which("edfs-mcp", path=str(BIN)), "serve"]
    done = _claude_code(tmp_path, "--sideways")
    assert done.returncode == 2 and "usage" in done.stderr and done.stdout == ""


# --- the MCP Bundle --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("bundle") / "edfs-mcp.mcpb"
    subprocess.run([sys.executable, str(PACK), "--output", str(output)], check=True, timeout=120)
    return output


def test_the_bundle_holds_only_what_the_server_needs(bundle: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
    sources = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "edfs_mcp").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert set(names) == {"manifest.json", "pyproject.toml", "README.md", "LICENSE", *sources}
    assert len(names) == len(set(names))
    assert manifest == json.loads((ROOT / "manifests" / "mcpb" / "manifest.json").read_text())
    assert manifest["version"] == __version__ and manifest["server"]["entry_point"] in names
    assert bundle.stat().st_size < 1_000_000
    # Reproducible: the same sources pack to the same bytes.
    again = tmp_path / "again.mcpb"
    subprocess.run([sys.executable, str(PACK), "--output", str(again)], check=True, timeout=120)
    assert again.read_bytes() == bundle.read_bytes()


def _resolved_mcp_config(manifest: dict[str, Any], directory: Path) -> tuple[str, list[str], dict[str, str]]:
    """The manifest's mcp_config as a host resolves it: ${__dirname}, and user_config left at defaults."""
    user_config = manifest["user_config"]

    def resolve(value: str) -> str:
        value = value.replace("${__dirname}", str(directory))

        def default(match: re.Match[str]) -> str:
            given = user_config[match[1]]["default"]
            return ("true" if given else "false") if isinstance(given, bool) else str(given)

        return re.sub(r"\$\{user_config\.(\w+)\}", default, value)

    config = manifest["server"]["mcp_config"]
    env = {name: resolve(value) for name, value in config["env"].items()}
    return config["command"], [resolve(arg) for arg in config["args"]], env


async def test_the_bundled_server_starts_as_its_manifest_says(bundle: Path, tmp_path: Path) -> None:
    assert UV is not None, "uv comes with the dev extra: pip install -e '.[dev]'"
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(unpacked)  # noqa: S202 - our own archive, just packed
    manifest = json.loads((unpacked / "manifest.json").read_text())
    command, args, env = _resolved_mcp_config(manifest, unpacked)
    assert command == "uv" and args[:3] == ["run", "--directory", str(unpacked)]
    await _serves_the_sandbox(UV, args, _server_env(env), tmp_path / "stderr.log")
    assert {tool["name"] for tool in manifest["tools"]} == SNAPSHOTS


def test_the_mcpb_cli_reads_the_bundle(bundle: Path, tmp_path: Path) -> None:
    if shutil.which("node") is None or not MCPB_CLI.is_file():
        pytest.skip("needs node and `npm ci` in tests/clients")
    unpacked = tmp_path / "unpacked"

    def mcpb(*args: str) -> str:
        done = subprocess.run(
            ["node", str(MCPB_CLI), *args], capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    mcpb("unpack", str(bundle), str(unpacked))
    assert "Manifest schema validation passes!" in mcpb("validate", str(unpacked / "manifest.json"))
    with zipfile.ZipFile(bundle) as archive:
        assert sorted(
            str(path.relative_to(unpacked)) for path in unpacked.rglob("*") if path.is_file()
        ) == sorted(archive.namelist())


# --- sdist and wheel -------------------------------------------------------------------------------


def _tracked_copy(target: Path) -> Path:
    """The repository's tracked files, copied: what a clean clone would build. Building the work
    tree itself walks every virtualenv and node_modules folder in it (minutes, not seconds)."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True, timeout=60
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert UV is not None, "uv comes with the dev extra: pip install -e '.[dev]'"
    output = tmp_path_factory.mktemp("dist")
    source = _tracked_copy(tmp_path_factory.mktemp("source"))
    subprocess.run(
        [UV, "build", "--sdist", "--wheel", "--out-dir", str(output), str(source)],
        env=_server_env({}),
        capture_output=True,
        check=True,
        timeout=300,
    )
    return output


def test_the_sdist_holds_the_package_and_no_tests(built: Path) -> None:
    (sdist,) = built.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = [name.split("/", 1)[1] for name in archive.getnames() if "/" in name]
    top = {name.split("/", 1)[0] for name in names}
    assert top <= {
        "edfs_mcp",
        "edfs_mcp.egg-info",
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "MANIFEST.in",
        "PKG-INFO",
        "setup.cfg",
    }
    assert {"edfs_mcp", "pyproject.toml", "README.md", "LICENSE"} <= top
    assert not [name for name in names if "test" in name.split("/")[-1] or "__pycache__" in name]


def test_the_wheel_declares_license_urls_and_the_keyring_extra(built: Path) -> None:
    (wheel,) = built.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = Parser().parsestr(archive.read(f"edfs_mcp-{__version__}.dist-info/METADATA").decode())
    assert {name.split("/", 1)[0] for name in names} == {"edfs_mcp", f"edfs_mcp-{__version__}.dist-info"}
    assert f"edfs_mcp-{__version__}.dist-info/licenses/LICENSE" in names
    assert metadata["License-Expression"] == "MIT"
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL") or [])
    assert urls["Repository"].startswith("https://github.com/") and {"Homepage", "Issues"} <= set(urls)
    classifiers = metadata.get_all("Classifier") or []
    assert "Programming Language :: Python :: 3.11" in classifiers
    requires = metadata.get_all("Requires-Dist") or []
    assert any(line.startswith("keyring") and 'extra == "keyring"' in line for line in requires)
    assert not any(line.startswith("keyring") and "extra" not in line for line in requires)
    assert "keyring" in (metadata.get_all("Provides-Extra") or [])
