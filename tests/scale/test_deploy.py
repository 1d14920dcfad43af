"""The container image definition and the Kubernetes manifests: valid against the Kubernetes schemas
(kubernetes-validate, offline), and saying what the issue asks for."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from edfs_mcp.config import ENV_PREFIX, Settings, load_settings
from tests.harness import drop_settings

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((ROOT / "deploy" / "k8s").glob("*.yaml"))
VERSIONS = ["1.31.0", kubernetes_validate.latest_version()]
SETTINGS = {ENV_PREFIX + name.upper() for name in Settings.model_fields}


def _resources() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in MANIFESTS:
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                found[document["kind"]] = document
    return found


RESOURCES = _resources()


def _container() -> dict[str, Any]:
    container: dict[str, Any] = RESOURCES["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    return container


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_each_manifest_is_valid_against_the_kubernetes_schemas(path: Path, version: str) -> None:
    for document in yaml.safe_load_all(path.read_text()):
        kubernetes_validate.validate(document, version, strict=True)


def test_the_validation_rejects_what_kubernetes_would() -> None:
    deployment = copy.deepcopy(RESOURCES["Deployment"])
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["pth"] = "/x"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[0], strict=True)
    deployment = copy.deepcopy(RESOURCES["Deployment"])
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[0], strict=True)


def test_the_deployment_has_replicas_probes_limits_and_secret_references() -> None:
    assert set(RESOURCES) == {"ConfigMap", "Deployment", "Service", "PodDisruptionBudget"}
    deployment = RESOURCES["Deployment"]
    spec = deployment["spec"]
    assert spec["replicas"] >= 2
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = _container()
    port = next(p["name"] for p in container["ports"] if p["containerPort"] == 8080)
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port}
    for kind in ("requests", "limits"):
        assert set(container["resources"][kind]) == {"cpu", "memory"}
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    # Every secret comes from the Secret; none is written in a manifest.
    secrets = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    assert set(secrets) == {"EDFS_MCP_CLIENT_SECRET", "EDFS_MCP_STATE_KEY", "EDFS_MCP_REDIS_URL"}
    assert all(ref["name"] == "edfs-mcp" for ref in secrets.values())
    assert not [e for e in container["env"] if "value" in e]
    # The drain fits in the grace period, after the preStop pause.
    config = RESOURCES["ConfigMap"]["data"]
    pause = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert pause + float(config["EDFS_MCP_HTTP_DRAIN_SECONDS"]) < pod["terminationGracePeriodSeconds"]


def test_the_service_and_budget_select_the_deployments_pods() -> None:
    labels = RESOURCES["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert RESOURCES["Deployment"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert RESOURCES["Service"]["spec"]["selector"].items() <= labels.items()
    assert "sessionAffinity" not in RESOURCES["Service"]["spec"]  # any replica answers any request
    budget = RESOURCES["PodDisruptionBudget"]["spec"]
    assert budget["selector"]["matchLabels"].items() <= labels.items()
    assert budget["minAvailable"] == 1


def test_the_configuration_is_a_whole_one_edfs_mcp_accepts(monkeypatch: pytest.MonkeyPatch) -> None:
    drop_settings(monkeypatch)
    config = dict(RESOURCES["ConfigMap"]["data"])
    names = set(config) | {e["name"] for e in _container()["env"]}
    assert names <= SETTINGS, names - SETTINGS
    # With the Secret's three values, the settings load (no half configuration).
    secrets = {
        "EDFS_MCP_CLIENT_SECRET": "a-secret",
        "EDFS_MCP_STATE_KEY": "A" * 43,
        "EDFS_MCP_REDIS_URL": "redis://redis.example.internal:6379/0",
    }
    for name, value in {**config, **secrets}.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.http_auth_mode == "oauth" and settings.redis_url is not None


def test_the_image_is_pinned_and_runs_as_a_user_not_root() -> None:
    containerfile = (ROOT / "Containerfile").read_text()
    bases = re.findall(r"^ARG BASE=(\S+)$", containerfile, re.M)
    assert len(bases) == 1 and re.fullmatch(r"python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}", bases[0])
    assert re.findall(r"^FROM (\S+)", containerfile, re.M) == ["${BASE}", "${BASE}"]
    users = re.findall(r"^USER (\S+)$", containerfile, re.M)
    assert users == ["10001:10001"]
    assert RESOURCES["Deployment"]["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 10001
    assert '"--port", "8080"' in containerfile and "EXPOSE 8080" in containerfile
    # The build context holds only what the image needs (no .venv, node_modules, tests).
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in ignored and "!edfs_mcp/" in ignored
