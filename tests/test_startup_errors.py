"""Disk and configuration errors at start: a clear message, a non-zero exit, no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest


def rotation(*args: str, env: dict[str, str] | None = None, timeout: float = 90):
    return subprocess.run(
        [sys.executable, "-m", "rotation.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def test_unwritable_log_dir_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = rotation("up", "--headless", "--duration", "5", "--log-dir", str(blocker / "logs"))
    assert result.returncode == 2
    assert "cannot write logs to" in result.stderr and "--log-dir" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_config_file_is_a_clear_error(tmp_path):
    result = rotation("up", "--headless", "--config", str(tmp_path / "nope.toml"))
    assert result.returncode == 2
    assert "no such configuration file" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_from_environment_that_does_not_exist(tmp_path):
    result = rotation(
        "feed",
        "sim",
        env={"ROTATION_CONFIG": str(tmp_path / "x.toml"), "KAFKA_BOOTSTRAP": "127.0.0.1:1"},
    )
    assert result.returncode == 2
    assert "no such configuration file" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def busy_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_gateway_port_in_use_is_a_clear_error(broker, busy_port):
    result = rotation("gateway", "--port", str(busy_port), env={"KAFKA_BOOTSTRAP": broker})
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{busy_port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_up_reports_a_gateway_that_cannot_start_and_leaves_nothing(tmp_path, busy_port):
    result = rotation(
        "up",
        "--headless",
        "--duration",
        "60",
        "--gateway-port",
        str(busy_port),
        "--log-dir",
        str(tmp_path),
    )
    assert result.returncode == 1
    assert "gateway exited with status 2" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_worker_without_a_reachable_broker_is_a_clear_error():
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = rotation("worker", env={"KAFKA_BOOTSTRAP": f"127.0.0.1:{port}"}, timeout=120)
    assert result.returncode != 0
    assert f"cannot reach Kafka at 127.0.0.1:{port} to check the topics" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
