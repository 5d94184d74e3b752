"""Fixtures: the real embedded broker (one per session), and the system (one per module)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from rotation.broker import embedded_broker
from rotation.up import Child
from streams.probe import free_port
from tests.helpers import wait_for_port


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of a Tansu broker started for this test session."""
    log = tmp_path_factory.mktemp("broker") / "broker.log"
    with embedded_broker(log_path=log) as (bootstrap, _proc):
        yield bootstrap


@dataclass
class System:
    bootstrap: str
    gateway_url: str
    children: dict[str, Child]
    log_dir: Path


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """Worker, gateway and simulator feed as real processes on a broker of their own.

    One per test module: the simulator never stops, and the embedded broker slows as
    it fills, so a system that lived through the whole session would have its gateway
    minutes behind the worker by the last module on a busy machine.
    """
    log_dir = tmp_path_factory.mktemp("system")
    with embedded_broker(log_path=log_dir / "broker.log") as (broker, _proc):
        yield from _running_system(broker, log_dir)


def _running_system(broker: str, log_dir: Path) -> Iterator[System]:
    env = {"KAFKA_BOOTSTRAP": broker, "PYTHONUNBUFFERED": "1"}
    port = free_port()
    started = time.monotonic()
    verbose = bool(os.environ.get("ROTATION_TEST_ECHO"))
    echo = sys.stderr if verbose else None
    children = {
        "gateway": Child("gateway", ["gateway", "--port", str(port)], env, log_dir, echo, started),
        "worker": Child("worker", ["worker"], env, log_dir, echo, started),
        "feed": Child("feed", ["feed", "sim", "--seed", "7"], env, log_dir, echo, started),
    }
    try:
        wait_for_port(port, log=children["gateway"].log_path)
        yield System(broker, f"ws://127.0.0.1:{port}/ws", children, log_dir)
    finally:
        for child in reversed(children.values()):
            child.stop()
