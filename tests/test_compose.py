"""docker-compose.yml cannot run here (no Docker engine), so check what can be checked: it parses, and each
service's image, command, ports, volumes and health checks agree with the code they start."""

from __future__ import annotations

import re
import shlex
import typing
from typing import Any
from urllib.parse import urlparse

import pytest
import typer
import yaml
from pydantic import BaseModel

from service.api import create_app
from service.cli import app
from service.settings import Settings
from tests.conftest import REPO

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def container_port(service: dict) -> int:
    return int(service["ports"][0].rsplit(":", 1)[1])


def test_services_and_volumes_are_declared() -> None:
    assert set(SERVICES) == {"qdrant", "ragsql"}
    declared = set(COMPOSE["volumes"])
    for service in SERVICES.values():
        for volume in service.get("volumes", []):
            assert volume.split(":")[0] in declared
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in SERVICES and "healthcheck" in SERVICES[dependency]
            assert rule["condition"] == "service_healthy"


def test_ragsql_command_is_accepted_by_the_real_cli() -> None:
    command = SERVICES["ragsql"]["command"]
    assert command[:2] == ["ragsql", "serve"]
    serve = typer.main.get_command(app).commands["serve"]
    context = serve.make_context("serve", list(command[2:]))  # raises on an unknown option
    assert context.params["port"] == container_port(SERVICES["ragsql"])
    assert context.params["host"] == "0.0.0.0"  # reachable through the published port


def setting_value(env: dict[str, str]) -> Settings:
    """The settings these variables make, as ragsql reads them; a variable that names no setting fails (pydantic
    would ignore it): each `__`-separated part must be a field of the model (or backend block) it descends into."""
    for name in env:
        assert name.startswith("RAGSQL_"), name
        model: Any = Settings
        for part in name[7:].lower().split("__"):
            assert model is not None, name
            fields = {f: i for m in _models(model) for f, i in m.model_fields.items()}
            assert part in fields, name
            model = fields[part].annotation
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, str(value))
        return Settings()


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation holds (a backend block is a union of them)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models(arg)]


def test_environment_names_real_settings_and_points_at_the_qdrant_service() -> None:
    env = SERVICES["ragsql"]["environment"]
    settings = setting_value(env)
    qdrant = urlparse(settings.qdrant_url)
    assert qdrant.hostname == "qdrant" and qdrant.port == container_port(SERVICES["qdrant"])
    mounts = {v.split(":")[1] for v in SERVICES["ragsql"]["volumes"]}
    assert {str(settings.home), str(settings.llm.model_cache)} <= mounts  # index, feedback and model survive


def test_healthcheck_probes_a_route_the_app_serves() -> None:
    probe = " ".join(SERVICES["ragsql"]["healthcheck"]["test"])
    url = urlparse(re.search(r"http://[^'\"]+", probe).group(0))
    assert url.port == container_port(SERVICES["ragsql"])
    assert url.path in create_app(Settings()).openapi()["paths"]


@pytest.mark.parametrize("line", [ln for ln in (REPO / "Dockerfile").read_text().splitlines()
                                  if ln.startswith("COPY")])
def test_dockerfile_copies_what_exists(line: str) -> None:
    for source in shlex.split(line)[1:-1]:
        assert (REPO / source).exists(), source


def test_dockerfile_default_command_matches_compose() -> None:
    cmd = next(ln for ln in (REPO / "Dockerfile").read_text().splitlines() if ln.startswith("CMD"))
    assert yaml.safe_load(cmd[4:]) == SERVICES["ragsql"]["command"]
