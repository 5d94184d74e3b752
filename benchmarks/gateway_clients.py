"""Many websocket clients in one process, for ``benchmarks.gateway``.

Each client is websockets' sans-I/O ``ClientProtocol`` (the real protocol: the opening
handshake, frame parsing, answering pings, the closing handshake) on a bare asyncio
``Protocol``, so that one process can keep a thousand connections busy on a small
machine. A client subscribes to ``signals`` and ``metrics`` and, for every data
message received in the measured window, records its latency: receipt time minus
the message's event time ``ts``, which the benchmark's producer sets to the moment
it hands the record to Kafka (both clocks are this machine's).

A *slow* client has a 4 KiB receive buffer and reads at most one chunk every
``--slow-pause`` seconds.

Protocol with the benchmark: once every client is subscribed the process prints
``{"ready": n, ...}``; it then waits for ``--window-file`` to hold the measured window,
``START_US END_US``, and after the window prints its results as one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import socket
import sys
import time
from collections import Counter
from pathlib import Path

import msgspec
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

BUCKET = math.log(1.01)  # latency histogram: 1 % wide buckets
SUBSCRIBE = b'{"op":"subscribe","channels":["signals","metrics"]}'


class Head(msgspec.Struct):
    """The fields of a server message the benchmark looks at (``data`` is skipped)."""

    type: str
    channel: str = ""
    seq: int = 0
    ts: int = 0
    count: int = 0
    code: str = ""


_head = msgspec.json.Decoder(Head)


class Tally:
    """What every client of this process saw, merged."""

    def __init__(self) -> None:
        self.window = (0, 0)
        self.histogram: Counter[int] = Counter()
        self.messages = 0
        self.slow_messages = 0
        self.gaps = 0
        self.closed: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.subscribed = 0
        self.failed_connects = 0


class BenchClient(asyncio.Protocol):
    def __init__(self, url: str, tally: Tally, slow: bool, slow_pause: float) -> None:
        self.protocol = ClientProtocol(parse_uri(url), max_size=2**22)
        self.tally = tally
        self.slow = slow
        self.slow_pause = slow_pause
        self.transport: asyncio.Transport | None = None
        self.last_seq: dict[str, int] = {}
        self.in_snapshot: dict[str, int] = {}
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.protocol.send_request(self.protocol.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        now = time.time_ns() // 1000
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Response):
                if event.status_code != 101:
                    self.tally.failed_connects += 1
                    continue
                self.protocol.send_text(SUBSCRIBE)
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self._on_message(_head.decode(event.data), now)
            elif isinstance(event, Frame) and event.opcode is Opcode.CLOSE:
                code = self.protocol.close_rcvd.code if self.protocol.close_rcvd else 1006
                self.tally.closed[str(code)] += 1
        self._flush()
        if self.slow and self.transport is not None:
            self.transport.pause_reading()
            asyncio.get_running_loop().call_later(self.slow_pause, self._resume)

    def _resume(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def _on_message(self, head: Head, now: int) -> None:
        kind = head.type
        if kind == "signal" or kind == "metrics":
            if self.in_snapshot.get(head.channel):
                self.in_snapshot[head.channel] -= 1
                return
            last = self.last_seq.get(head.channel)
            if last is not None and head.seq != last + 1:
                self.tally.gaps += 1
            self.last_seq[head.channel] = head.seq
            start, end = self.tally.window
            if start <= now < end:
                if self.slow:
                    self.tally.slow_messages += 1
                else:
                    self.tally.messages += 1
                    self.tally.histogram[int(math.log(max(1, now - head.ts)) / BUCKET)] += 1
        elif kind == "snapshot":
            self.in_snapshot[head.channel] = head.count
            self.last_seq[head.channel] = head.seq
        elif kind == "subscribed":
            self.tally.subscribed += 1
        elif kind == "error":
            self.tally.errors[head.code] += 1

    def _flush(self) -> None:
        assert self.transport is not None
        for data in self.protocol.data_to_send():
            if data:
                self.transport.write(data)
            elif self.transport.can_write_eof():
                self.transport.write_eof()

    def connection_lost(self, exc: Exception | None) -> None:
        self.protocol.receive_eof()
        if not self.done.done():
            self.done.set_result(None)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


async def run(args: argparse.Namespace) -> dict:
    tally = Tally()
    loop = asyncio.get_running_loop()
    host, port = args.host, args.port
    url = f"ws://{host}:{port}/ws"
    clients: list[BenchClient] = []
    handshakes = asyncio.Semaphore(64)

    async def open_one(slow: bool) -> None:
        async with handshakes:
            sock = socket.socket()
            if slow:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.setblocking(False)
            try:
                await loop.sock_connect(sock, (host, port))
                client = BenchClient(url, tally, slow, args.slow_pause)
                await loop.create_connection(lambda: client, sock=sock)
            except OSError as exc:
                tally.failed_connects += 1
                print(f"connect failed: {exc}", file=sys.stderr)
                sock.close()
                return
            clients.append(client)

    await asyncio.gather(
        *(open_one(i < args.slow) for i in range(args.count)),
    )
    deadline = time.monotonic() + 60
    while tally.subscribed < len(clients) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    print(json.dumps({"ready": len(clients), "subscribed": tally.subscribed}), flush=True)
    window = Path(args.window_file)
    while not window.exists() or not window.read_text().endswith("\n"):
        await asyncio.sleep(0.05)
    start_us, end_us = (int(x) for x in window.read_text().split())
    tally.window = (start_us, end_us)
    await asyncio.sleep(max(0.0, end_us / 1e6 - time.time()) + 0.5)
    for client in clients:
        client.close()
    return {
        "clients": len(clients),
        "slow": args.slow,
        "subscribed": tally.subscribed,
        "failed_connects": tally.failed_connects,
        "messages": tally.messages,
        "slow_messages": tally.slow_messages,
        "gaps": tally.gaps,
        "closed": dict(tally.closed),
        "errors": dict(tally.errors),
        "histogram": {str(k): v for k, v in tally.histogram.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, required=True, help="clients in this process")
    parser.add_argument("--slow", type=int, default=0, help="of which slow")
    parser.add_argument("--slow-pause", type=float, default=2.0)
    parser.add_argument("--window-file", required=True)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
