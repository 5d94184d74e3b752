"""docker-compose.yml (cannot run here: no Docker engine) parses, and every app service
runs a real `rotation` subcommand with flags the CLI accepts."""

from __future__ import annotations

import pytest
import yaml

from streams.cli import build_parser
from tests.helpers import ROOT


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_kafka_kraft_with_a_healthcheck(compose):
    kafka = compose["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert "controller" in kafka["environment"]["KAFKA_PROCESS_ROLES"]
    assert kafka["healthcheck"]["test"]


def test_every_app_service_is_a_valid_rotation_command(compose):
    parser = build_parser()
    app_services = {n: s for n, s in compose["services"].items() if n != "kafka"}
    assert set(app_services) == {"worker", "feed", "gateway"}
    for name, service in app_services.items():
        assert service["environment"]["KAFKA_BOOTSTRAP"] == "kafka:9092", name
        assert service["depends_on"]["kafka"]["condition"] == "service_healthy", name
        args = parser.parse_args(service["command"])  # exits (fails the test) on a bad flag
        assert args.command == name


def test_a_bad_flag_would_be_caught():
    with pytest.raises(SystemExit):
        build_parser().parse_args(["gateway", "--no-such-flag"])


def test_dockerfile_runs_as_non_root_with_the_rotation_entrypoint():
    text = (ROOT / "Dockerfile").read_text()
    assert "\nUSER rotation" in text
    assert 'ENTRYPOINT ["rotation"]' in text
