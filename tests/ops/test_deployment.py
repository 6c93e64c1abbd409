"""The compose file runs exactly the Procfile's commands, on a non-root image."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PUSHWIRE_SERVICES = ("release", "web", "worker", "worker_staging", "worker_transcode", "worker_upload",
                     "worker_callback", "beat", "flower")


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())


def _command(service: dict) -> str:
    command = service["command"]
    assert isinstance(command, list) and len(command) == 1, "one string, run by the image's shell entrypoint"
    return command[0].replace("$$", "$")  # compose's escape for a literal $


def test_every_procfile_process_is_a_compose_service_with_the_same_command(compose):
    services = compose["services"]
    for name, command in procfile().items():
        assert name in services, f"no compose service for Procfile process {name!r}"
        assert _command(services[name]) == command, name


def test_compose_services(compose):
    services = compose["services"]
    assert {"postgres", "redis", "minio", *PUSHWIRE_SERVICES} <= set(services)
    for name in PUSHWIRE_SERVICES:
        env = services[name]["environment"]
        assert env["PUSHWIRE_DATABASE_URL"].startswith("postgresql://") and env["PUSHWIRE_S3_CREATE_BUCKET"] == "true"
        assert services[name]["build"]["dockerfile"] == "docker/Dockerfile"
    for name in ("worker_staging", "worker_transcode", "worker_upload", "worker_callback"):
        # Scalable with --scale: no fixed container name, no host port.
        assert "container_name" not in services[name] and "ports" not in services[name]
        assert services[name]["depends_on"]["release"]["condition"] == "service_completed_successfully"
    assert services["release"]["restart"] == "no"
    assert services["worker"]["profiles"] == ["all-in-one"]  # all queues: opt-in, not beside the split workers


def test_dockerfile_runs_as_non_root_on_python_slim():
    text = (ROOT / "docker" / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0", "0:0")
    assert re.search(r"^ENTRYPOINT ", text, re.M) and re.search(r"pip install", text)


def test_flower_starts_through_the_locked_launcher():
    # `pushwire flower` refuses to start without PUSHWIRE_FLOWER_BASIC_AUTH (tests/security).
    assert procfile()["flower"].startswith("pushwire flower ")
