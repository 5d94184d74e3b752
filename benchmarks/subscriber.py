"""A websocket subscriber of the gateway that notes when each interval's output arrived.

It speaks only the basic protocol: ``{"op": "subscribe", "channels": ["signals",
"metrics"]}``, then data messages ``{"type": "metrics" | "signal", "channel", "seq",
"data": {...}}``; every other message type is counted and otherwise ignored. For each
event time (``data.ts``, the interval end) it keeps the first arrival of a metrics
message and of a signal, as ``time.time()`` and ``time.monotonic()``, taken as soon as
the frame is received.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import Callable

import msgspec
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from benchmarks import stopping

_decoder = msgspec.json.Decoder()


class SubscriberFailed(RuntimeError):
    """The gateway could not be reached, or closed the connection."""


class Subscriber:
    def __init__(self, url: str) -> None:
        self.url = url
        self.connected = asyncio.Event()
        self.metrics: dict[int, tuple[float, float]] = {}  # ts -> (wall, monotonic), first
        self.signals: dict[int, tuple[float, float]] = {}
        self.emitted: dict[int, int] = {}  # ts -> the gateway's emit_ts (us), when it sends one
        self.first_metrics: tuple[float, float] | None = None
        self.types: collections.Counter[str] = collections.Counter()
        self.closed: str | None = None

    async def run(self, connect_timeout: float = 30.0, retry: Callable[[], None] | None = None):
        """Connect (retrying until ``connect_timeout``; ``retry()`` may raise to give up),
        subscribe, and record every message until cancelled or closed."""
        deadline = time.monotonic() + connect_timeout
        while True:
            try:
                ws = await connect(self.url, compression=None, max_size=2**24, open_timeout=5)
                break
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                if time.monotonic() > deadline:
                    raise SubscriberFailed(f"cannot connect to {self.url}: {exc}") from None
                if retry is not None:
                    retry()
                await asyncio.sleep(0.02)
        try:
            request = {"op": "subscribe", "channels": ["signals", "metrics"]}
            await ws.send(msgspec.json.encode(request).decode())
            self.connected.set()
            while True:
                frame = await ws.recv()
                wall, mono = time.time(), time.monotonic()
                self._take(_decoder.decode(frame), wall, mono)
        except ConnectionClosed as exc:
            self.closed = f"closed {exc.rcvd.code} {exc.rcvd.reason}" if exc.rcvd else str(exc)
        finally:
            with contextlib.suppress(Exception):
                await ws.close()

    def _take(self, message: dict, wall: float, mono: float) -> None:
        kind = message.get("type")
        self.types[str(kind)] += 1
        if kind not in ("metrics", "signal"):
            return
        data = message.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("ts"), int):
            return
        ts = data["ts"]
        if kind == "metrics":
            if ts not in self.metrics:
                self.metrics[ts] = (wall, mono)
                emit = message.get("emit_ts")
                if isinstance(emit, int):
                    self.emitted[ts] = emit
            if self.first_metrics is None:
                self.first_metrics = (wall, mono)
        elif ts not in self.signals:
            self.signals[ts] = (wall, mono)

    def arrival_wall(self) -> dict[int, float]:
        return {ts: wall for ts, (wall, _mono) in self.metrics.items()}

    async def wait(
        self, done: Callable[[], bool], timeout: float, check: Callable[[], None] | None = None
    ) -> bool:
        """Poll ``done()`` until true (True) or ``timeout`` seconds (False).

        Arrival times are taken when frames arrive, so the poll interval does not
        change any figure."""
        deadline = time.monotonic() + timeout
        while not done():
            stopping.check()
            if check is not None:
                check()
            if self.closed:
                raise SubscriberFailed(f"the gateway {self.closed}")
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True
