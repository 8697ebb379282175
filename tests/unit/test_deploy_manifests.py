"""deploy/ files parse, and the Kubernetes manifests keep the promises deploy/README.md makes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from schemas.topics import CATALOGUE

yaml = pytest.importorskip("yaml", reason="PyYAML is needed to parse the deploy manifests")

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PARTITIONS = {spec.name: spec.partitions for spec in CATALOGUE}


def _docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _k8s() -> list[dict[str, Any]]:
    return [doc for path in sorted((DEPLOY / "k8s").glob("*.yaml")) for doc in _docs(path)]


def _of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for doc in _k8s() if doc["kind"] == kind]


def test_every_yaml_file_parses() -> None:
    """compose.yaml and every manifest are valid YAML with at least one document."""
    paths = [DEPLOY / "compose.yaml", *sorted((DEPLOY / "k8s").glob("*.yaml"))]
    assert len(paths) > 5
    for path in paths:
        assert _docs(path), path


def test_kustomization_lists_every_manifest() -> None:
    """No manifest is forgotten by `kubectl apply -k deploy/k8s`."""
    kustomization = _docs(DEPLOY / "k8s" / "kustomization.yaml")[0]
    files = {p.name for p in (DEPLOY / "k8s").glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


def test_deployments_probe_health_and_ready_and_read_config() -> None:
    """Every worker has liveness on /health, readiness on /ready, config and secrets."""
    deployments = _of_kind("Deployment")
    assert {d["metadata"]["name"] for d in deployments} == {
        "c360-streams",
        "c360-web",
        "c360-crm-sink",
    }
    for deployment in deployments:
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
        sources = {next(iter(s.values()))["name"] for s in container["envFrom"]}
        assert sources == {"c360-config", "c360-secrets"}
        assert "memory" in container["resources"]["limits"]


def test_streams_probes_can_reach_the_faust_web_server() -> None:
    """The worker's ops port binds to loopback by default; the kubelet probes it at the pod
    IP, so the streams Deployment binds it to every interface."""
    (streams,) = [d for d in _of_kind("Deployment") if d["metadata"]["name"] == "c360-streams"]
    (container,) = streams["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container.get("env", [])}
    assert env["C360_WORKER_WEB_BIND"] == "0.0.0.0"


def test_pepper_is_a_secret_never_config() -> None:
    """C360_PII_PEPPER comes from the generated Secret; the ConfigMap must not carry it."""
    (config,) = _of_kind("ConfigMap")
    assert not any("PEPPER" in key or "REDIS_URL" in key for key in config["data"])
    example = (DEPLOY / "k8s" / "secrets.env.example").read_text()
    assert "C360_PII_PEPPER=" in example
    assert (DEPLOY / "k8s" / ".gitignore").read_text().split() == ["secrets.env"]


def test_consumer_autoscaling_is_capped_at_partitions() -> None:
    """An HPA of a consumer never exceeds the partitions of the topics it reads."""
    capped = 0
    for hpa in _of_kind("HorizontalPodAutoscaler"):
        reads = hpa["metadata"].get("annotations", {}).get("c360.io/reads-topics")
        if reads is None:
            continue
        topics = reads.split(",")
        assert set(topics) <= set(PARTITIONS), topics
        assert hpa["spec"]["maxReplicas"] <= min(PARTITIONS[t] for t in topics)
        capped += 1
    assert capped == 2


def test_compose_runs_every_worker_with_a_required_pepper() -> None:
    """compose: Kafka, Redis with AOF everysec, topic creation, streams, web, crm-sink."""
    compose = _docs(DEPLOY / "compose.yaml")[0]
    services = compose["services"]
    assert set(services) >= {"kafka", "redis", "topics", "streams", "web", "crm-sink"}
    assert services["redis"]["command"][-4:] == ["--appendonly", "yes", "--appendfsync", "everysec"]
    assert ":?" in services["streams"]["environment"]["C360_PII_PEPPER"]
    for name in ("streams", "web", "crm-sink"):
        assert services[name]["command"] == ["worker", name]
