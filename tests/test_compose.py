"""docker-compose.yml (cannot run here: no Docker engine) is valid against the Compose
Specification's JSON Schema, and every service of the app runs a real `rotation`
subcommand with flags the CLI accepts. tests/data/README.md says where the schema is from."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml

from rotation.cli import build_parser
from rotation.environment import settings_from_env
from tests.helpers import ROOT

COMPOSE_SCHEMA = Path(__file__).parent / "data" / "compose-spec.json"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def app_services(compose) -> dict[str, dict]:
    return {
        n: s for n, s in compose["services"].items() if s.get("image", "").startswith("rotation")
    }


def test_compose_file_is_valid_against_the_compose_specification(compose):
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose), key=str)
    assert not errors, "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_the_schema_catches_a_broken_compose_file(compose):
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    broken = {**compose, "services": {**compose["services"], "worker-1": {"comand": ["worker"]}}}
    assert not jsonschema.Draft7Validator(schema).is_valid(broken)


def test_compose_runs_kafka_kraft_with_a_healthcheck_and_no_implicit_topics(compose):
    kafka = compose["services"]["kafka"]
    image, _, version = kafka["image"].partition(":")
    assert image == "apache/kafka" and int(version.split(".")[0]) >= 4
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"  # the topics service creates them
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert kafka["healthcheck"]["test"]
    assert any(v.endswith(":/var/lib/kafka/data") for v in kafka["volumes"])


def test_every_app_service_is_a_valid_rotation_command(app_services):
    parser = build_parser()
    commands = {}
    for name, service in app_services.items():
        args = parser.parse_args(service["command"])  # exits (fails the test) on a bad flag
        commands[name] = (args.command, getattr(args, "action", None))
    assert commands == {
        "topics": ("topics", "create"),
        "worker-1": ("worker", None),
        "worker-2": ("worker", None),
        "feed": ("feed", None),
        "gateway": ("gateway", None),
    }


def test_a_bad_flag_or_subcommand_would_be_caught():
    for argv in (["gateway", "--no-such-flag"], ["topics", "drop"], ["deadletter", "--limit", "x"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(argv)


def test_topics_are_created_once_before_any_worker_feed_or_gateway_starts(app_services):
    topics = app_services["topics"]
    assert topics["restart"] == "no"
    assert topics["depends_on"] == {"kafka": {"condition": "service_healthy"}}
    for name, service in app_services.items():
        if name == "topics":
            continue
        assert service["depends_on"]["kafka"]["condition"] == "service_healthy", name
        assert service["depends_on"]["topics"]["condition"] == "service_completed_successfully"


def test_app_services_share_settings_that_real_kafka_accepts(app_services, monkeypatch):
    for name, service in app_services.items():
        env = service["environment"]
        assert env["KAFKA_BOOTSTRAP"] == "kafka:9092", name
        for key, value in env.items():
            monkeypatch.setenv(key, str(value))
        settings = settings_from_env()
        assert settings.session_timeout >= 6, name  # group.min.session.timeout.ms
    assert len({json.dumps(s["environment"], sort_keys=True) for s in app_services.values()}) == 1


def test_dockerfile_runs_as_non_root_with_the_rotation_entrypoint():
    text = (ROOT / "Dockerfile").read_text()
    assert "\nUSER rotation" in text
    assert 'ENTRYPOINT ["rotation"]' in text
    assert text.count("FROM ") == 2  # wheels built in one stage, installed in a slim one
    assert "--require-hashes --no-deps -r requirements.lock" in text  # the locked versions


def test_docker_build_context_keeps_every_package_of_the_distribution():
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]
    ignored = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    needed = {"pyproject.toml", "README.md", "requirements.lock"}
    for top in {p.split(".")[0] for p in packages} | needed:
        assert (ROOT / top).exists(), top
        assert top not in ignored, f".dockerignore drops {top}, which the image needs"
    assert {".venv", ".git"} <= ignored
