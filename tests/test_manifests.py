"""The distribution files in manifests/: valid against their vendored schemas, and true to the code.

tests/schemas/server.schema.json is the MCP Registry's published 2025-12-11 schema;
tests/schemas/mcpb-manifest.schema.json is mcpb-manifest-v0.4.schema.json from @anthropic-ai/mcpb 2.1.2.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any, Literal, cast, get_args, get_origin

import pytest
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError
from pydantic import SecretStr

from edfs_mcp import __version__
from edfs_mcp.cli import _parser
from edfs_mcp.config import ENV_PREFIX, SERVICE_SETTINGS, CredentialSource, Settings, load_settings
from tests.harness import clean_env

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = ROOT / "manifests"
SCHEMAS = Path(__file__).parent / "schemas"
NODE_MODULES = Path(__file__).parent / "clients" / "node_modules"
SERVER_SCHEMA_URL = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
PINNED_SCHEMAS = {
    "server.schema.json": "3fba09590c99f61735d234822279f4223fab9e300c0a81e81c91ab62a4114de0",
    "mcpb-manifest.schema.json": "068557824c651d6d49b86ad132adeafe62ca788d918b3e1e2b224bf0f91320fd",
}
SETTINGS = {ENV_PREFIX + name.upper(): name for name in Settings.model_fields}


def _is_secret(name: str) -> bool:
    annotation = Settings.model_fields[name].annotation
    return annotation is SecretStr or SecretStr in get_args(annotation)


SECRETS = {env for env, name in SETTINGS.items() if _is_secret(name)}
# Settings of `serve --transport streamable-http` only: no use to the stdio package of server.json.
HTTP_ONLY = {env for env in SETTINGS if env.startswith("EDFS_MCP_HTTP_")}
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
CLIENT_CONFIGS = ["claude_desktop_config.json", "cursor-mcp.json", "vscode-mcp.json"]


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


def _validator(schema_file: str) -> Draft7Validator:
    schema = _load(SCHEMAS / schema_file)
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


def _serves(command: str, args: list[str]) -> None:
    """The command runs the edfs-mcp console script with a valid `serve` command line."""
    if command == "uvx":  # uvx <package> runs the package's script of the same name
        assert args[0] == PYPROJECT["project"]["name"] == "edfs-mcp"
        command, args = args[0], args[1:]
    assert command == "edfs-mcp"
    assert PYPROJECT["project"]["scripts"]["edfs-mcp"] == "edfs_mcp.cli:main"
    assert shutil.which("edfs-mcp", path=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    assert args[0] == "serve"
    _parser().parse_args(args)  # argparse exits on an unknown flag


def _sandbox_with(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """These settings, exactly as a client would pass them, are valid and select the sandbox."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert load_settings().credential_source() is CredentialSource.SANDBOX


def test_the_secret_settings_are_known() -> None:
    assert {"EDFS_MCP_CLIENT_SECRET", "EDFS_MCP_ACCESS_TOKEN"} <= SECRETS


def test_vendored_schemas_are_the_pinned_published_files() -> None:
    for name, digest in PINNED_SCHEMAS.items():
        assert hashlib.sha256((SCHEMAS / name).read_bytes()).hexdigest() == digest, name
    assert _load(SCHEMAS / "server.schema.json")["$id"] == SERVER_SCHEMA_URL


# --- server.json (MCP Registry) ---


def test_server_json_is_valid_and_the_schema_bites() -> None:
    validator = _validator("server.schema.json")
    server = _load(MANIFESTS / "server.json")
    assert server["$schema"] == SERVER_SCHEMA_URL
    validator.validate(server)
    for path, bad in [(("name",), "no-slash"), (("description",), "x" * 101)]:
        broken = copy.deepcopy(server)
        broken[path[0]] = bad
        with pytest.raises(ValidationError):
            validator.validate(broken)
    broken = copy.deepcopy(server)
    del broken["packages"][0]["environmentVariables"][0]["name"]
    with pytest.raises(ValidationError):
        validator.validate(broken)


def test_server_json_describes_this_package() -> None:
    server = _load(MANIFESTS / "server.json")
    assert re.fullmatch(r"io\.github\.[a-z0-9-]+/edfs-mcp", server["name"])
    (package,) = server["packages"]
    assert server["version"] == package["version"] == __version__
    assert package["registryType"] == "pypi" and package["identifier"] == PYPROJECT["project"]["name"]
    assert package["runtimeHint"] == "uvx" and package["transport"] == {"type": "stdio"}
    arguments = [argument["value"] for argument in package["packageArguments"]]
    assert [argument["type"] for argument in package["packageArguments"]] == ["positional"]
    _serves("uvx", [package["identifier"], *arguments])


def test_server_json_lists_every_setting_exactly(no_settings: None) -> None:
    (package,) = _load(MANIFESTS / "server.json")["packages"]
    variables = {variable["name"]: variable for variable in package["environmentVariables"]}
    assert len(variables) == len(package["environmentVariables"]), "a variable is listed twice"
    assert set(variables) == set(SETTINGS) - HTTP_ONLY
    assert {name for name, variable in variables.items() if variable["isSecret"]} == SECRETS & set(variables)
    assert all(variable["isRequired"] is False and variable["description"] for variable in variables.values())
    for name, variable in variables.items():
        field = Settings.model_fields[SETTINGS[name]]
        annotation = field.annotation
        if get_origin(annotation) is Literal:
            assert variable["choices"] == list(get_args(annotation)), name
        else:
            assert "choices" not in variable, name
        expected_format = {bool: "boolean", int: "number", float: "number"}.get(
            cast(type, annotation), "string"
        )
        assert variable["format"] == ("filepath" if name == "EDFS_MCP_CONFIG_DIR" else expected_format), name
        if SETTINGS[name] in SERVICE_SETTINGS:
            # A client that fills in a listed default would set it, and a service setting without a
            # credential is an error: the default is given in words instead.
            assert "default" not in variable, name
            if field.default is not None:
                assert str(field.default).rstrip("/") in variable["description"], name
        elif "default" in variable:
            parsed = Settings(**{SETTINGS[name]: variable["default"]})
            assert getattr(parsed, SETTINGS[name]) == field.default, name
        else:
            assert field.default is None, f"{name}: its default should be listed"


# --- MCP Bundle manifest ---


def test_mcpb_manifest_is_valid_and_the_schema_bites() -> None:
    validator = _validator("mcpb-manifest.schema.json")
    manifest = _load(MANIFESTS / "mcpb" / "manifest.json")
    validator.validate(manifest)
    broken = copy.deepcopy(manifest)
    broken["server"]["type"] = "ruby"
    with pytest.raises(ValidationError):
        validator.validate(broken)
    broken = copy.deepcopy(manifest)
    broken["user_config"]["client_secret"]["secret"] = True
    with pytest.raises(ValidationError):
        validator.validate(broken)


def test_mcpb_manifest_describes_this_package(monkeypatch: pytest.MonkeyPatch, no_settings: None) -> None:
    manifest = _load(MANIFESTS / "mcpb" / "manifest.json")
    assert manifest["version"] == __version__ and manifest["name"] == "edfs-mcp"
    snapshots = {path.stem for path in (Path(__file__).parent / "__toolsnaps__").glob("*.json")}
    assert {tool["name"] for tool in manifest["tools"]} == snapshots
    server = manifest["server"]
    assert server["type"] == "uv" and (ROOT / server["entry_point"]).is_file()
    config = server["mcp_config"]
    assert config["command"] == "uv" and config["args"][:3] == ["run", "--directory", "${__dirname}"]
    _serves(config["args"][3], config["args"][4:])

    user_config = manifest["user_config"]
    mapped = {}
    for name, value in config["env"].items():
        assert name in SETTINGS, name
        match = re.fullmatch(r"\$\{user_config\.(\w+)\}", value)
        assert match and match[1] in user_config, f"{name}={value}"
        mapped[match[1]] = name
    assert set(mapped) == set(user_config), "a user_config entry is not passed to the server"
    sensitive = {mapped[key] for key, option in user_config.items() if option.get("sensitive")}
    assert sensitive == SECRETS & set(config["env"]) == {"EDFS_MCP_CLIENT_SECRET", "EDFS_MCP_ACCESS_TOKEN"}
    for key, option in user_config.items():
        is_bool = Settings.model_fields[SETTINGS[mapped[key]]].annotation is bool
        assert option["type"] == ("boolean" if is_bool else "string"), key
        assert option["required"] is False and "default" in option, key
    # mcpb leaves `${user_config.x}` unreplaced when x has no value and no default; with every
    # default substituted the way mcpb does (booleans as "true"/"false"), the server runs the sandbox.
    resolved = {}
    for name, value in config["env"].items():
        default = user_config[value[len("${user_config.") : -1]]["default"]
        resolved[name] = ("true" if default else "false") if isinstance(default, bool) else str(default)
    _sandbox_with(resolved, monkeypatch)


@pytest.mark.real_process
def test_mcpb_cli_validates_the_manifest() -> None:
    cli = NODE_MODULES / "@anthropic-ai" / "mcpb" / "dist" / "cli" / "cli.js"
    if shutil.which("node") is None or not cli.is_file():
        pytest.skip("needs node and `npm ci` in tests/clients")
    result = subprocess.run(
        ["node", str(cli), "validate", str(MANIFESTS / "mcpb" / "manifest.json")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Manifest schema validation passes!" in result.stdout


# --- copy-paste client configs ---


@pytest.mark.parametrize("name", CLIENT_CONFIGS)
def test_client_config_runs_edfs_mcp_serve(
    name: str, monkeypatch: pytest.MonkeyPatch, no_settings: None
) -> None:
    document = _load(MANIFESTS / "clients" / name)
    servers = document["servers" if name == "vscode-mcp.json" else "mcpServers"]
    assert list(servers) == ["edfs"]
    server = servers["edfs"]
    _serves(server["command"], server["args"])
    assert set(server["env"]) <= set(SETTINGS)
    if name == "vscode-mcp.json":
        inputs = {entry["id"]: entry for entry in document["inputs"]}
        for variable, value in server["env"].items():
            match = re.fullmatch(r"\$\{input:([\w-]+)\}", value)
            assert match and match[1] in inputs, f"{variable}={value}"
            assert inputs[match[1]]["type"] == "promptString"
            assert inputs[match[1]].get("password", False) is (variable in SECRETS), variable
    else:  # pasted as is, before credentials are filled in, it must start (on the sandbox)
        _sandbox_with(server["env"], monkeypatch)


@pytest.mark.real_process
def test_claude_code_script_runs_claude_mcp_add(tmp_path: Path) -> None:
    script = MANIFESTS / "clients" / "claude-code.sh"
    text = script.read_text()
    assert "claude mcp add" in text
    assert set(re.findall(r"EDFS_MCP_\w+", text)) <= set(SETTINGS)
    stub = tmp_path / "claude"
    stub.write_text(f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    stub.chmod(0o755)
    base = clean_env()
    base["PATH"] = f"{tmp_path}{os.pathsep}{base['PATH']}"

    def run(**settings: str) -> list[str]:
        result = subprocess.run(
            ["sh", str(script)],
            env={**base, **settings},
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        argv: list[str] = json.loads(result.stdout)
        return argv

    head = ["mcp", "add", "edfs", "--transport", "stdio", "--scope", "user"]
    tail = ["--", "uvx", "edfs-mcp", "serve"]
    assert run() == [*head, *tail]
    secret = "s3cret with spaces $HOME"
    assert run(EDFS_MCP_CLIENT_ID="app-1", EDFS_MCP_CLIENT_SECRET=secret) == [
        *head,
        "--env",
        "EDFS_MCP_CLIENT_ID=app-1",
        "--env",
        f"EDFS_MCP_CLIENT_SECRET={secret}",
        *tail,
    ]
    command = run()[len(head) + 1 :]
    _serves(command[0], command[1:])
