"""Is a Kafka broker there? One ApiVersions round trip over a plain socket.

Used to wait for a broker to start, to watch it (:mod:`streams.broker_watch`) and by the
gateway's health endpoint. The request is the Kafka protocol's ApiVersions v0
(https://kafka.apache.org/protocol#The_Messages_ApiVersions).
"""

from __future__ import annotations

import socket
import struct
import time

from streams.errors import RotationError


class BrokerError(RotationError):
    """The broker could not be started or did not answer."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


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
