"""The embedded broker: starts on a free loopback port, answers Kafka, stops without trace."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import psutil
import pytest

from rotation.broker import broker, embedded_broker
from streams.probe import api_versions_probe
from tests.helpers import wait_gone


def test_embedded_broker_answers_and_is_gone_after_the_block():
    with embedded_broker() as (bootstrap, proc):
        assert bootstrap.startswith("127.0.0.1:")
        api_versions_probe(bootstrap, timeout=30)
        pid = proc.pid
    assert proc.poll() is not None
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    with pytest.raises(OSError):
        api_versions_probe(bootstrap, timeout=30)


def test_configured_bootstrap_spawns_nothing(monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP", "kafka.example:9092")
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with broker() as bootstrap:
        assert bootstrap == "kafka.example:9092"
        after = {p.pid for p in psutil.Process().children(recursive=True)}
    assert after == before


def test_rotation_broker_command_runs_and_stops_on_sigterm_and_ctrl_c():
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        proc = subprocess.Popen(
            [sys.executable, "-m", "rotation.cli", "broker", "--port", "0"],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            line = proc.stdout.readline()
            assert "broker ready: KAFKA_BOOTSTRAP=127.0.0.1:" in line
            bootstrap = line.split("KAFKA_BOOTSTRAP=")[1].split()[0]
            api_versions_probe(bootstrap, timeout=30)
            tansu = psutil.Process(proc.pid).children()
            assert len(tansu) == 1
            proc.send_signal(stop_signal)
            assert proc.wait(timeout=60) == 0, f"rotation broker ignored {stop_signal!r}"
            wait_gone(tansu, timeout=30)
        finally:
            proc.kill()


def test_broker_dies_with_a_killed_parent():
    proc = subprocess.Popen(
        [sys.executable, "-m", "rotation.cli", "broker", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert "broker ready" in proc.stdout.readline()
        (tansu,) = psutil.Process(proc.pid).children()
        proc.kill()  # SIGKILL: no cleanup code runs in the parent
        proc.wait()
        wait_gone([tansu], timeout=30)
    finally:
        proc.kill()
