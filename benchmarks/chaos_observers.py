"""The two outside observers of the chaos run, each in a thread of its own.

:class:`KafkaObserver` reads ``rotation.metrics`` and ``rotation.signals`` from the
start with a confluent-kafka consumer (librdkafka: a client other than the system's own
aiokafka) and keeps every snapshot by (subject, ts), every signal id with its count,
and the arrival time of each key it had not seen.

:class:`WebsocketObserver` subscribes to the gateway's ``signals`` and ``metrics``
channels the way the protocol says a client resumes (``since`` = the last complete
(epoch, seq) per channel, see the README's "Websocket gateway" section) and records
every signal id, every seq, and every gap it was told about: a ``snapshot`` header with
a reason (the gateway could not resume) or a ``conflated`` notice. A seq that skips
ahead without one of those is an untold gap.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from streams.topics import DEFAULT_TOPICS


class Arrivals:
    """When new keys arrived (monotonic, in order) and when each was produced (wall clock,
    seconds): the first output made after a time that arrived after it."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.produced: list[float] = []
        self._lock = threading.Lock()

    def add(self, at: float, produced: float) -> None:
        with self._lock:
            self.times.append(at)
            self.produced.append(produced)

    def first_after(self, at: float, wall: float) -> float | None:
        """The arrival time of the first key that arrived after monotonic ``at`` and was
        produced at or after wall-clock ``wall`` (a backlog in flight does not count)."""
        with self._lock:
            for i in range(bisect.bisect_right(self.times, at), len(self.times)):
                if self.produced[i] >= wall:
                    return self.times[i]
        return None


class KafkaObserver:
    """Every metrics snapshot and signal id on the output topics (confluent-kafka)."""

    def __init__(self, bootstrap: str) -> None:
        self.metrics: dict[tuple[str, int], dict[str, Any]] = {}
        self.metric_copies = 0
        self.differing_copies: list[tuple[str, int]] = []
        self.signal_ids: Counter[str] = Counter()
        self.signals: dict[str, dict[str, Any]] = {}
        self.arrivals = Arrivals()
        self.errors: list[str] = []
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"chaos-observer-{uuid.uuid4()}",
                "enable.auto.commit": False,
                "broker.address.family": "v4",
                "reconnect.backoff.max.ms": 1000,
                "log_level": 3,  # not every reconnect attempt of a broker cut
            }
        )
        self._consumer.assign(
            [
                TopicPartition(spec.name, p, 0)
                for spec in (DEFAULT_TOPICS.metrics, DEFAULT_TOPICS.signals)
                for p in range(spec.partitions)
            ]
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-kafka", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                for message in self._consumer.consume(10_000, 0.2):
                    if message.error() is not None:
                        # Transport errors during a broker cut are expected; librdkafka retries.
                        continue
                    produced_ms = message.timestamp()[1]
                    self._take(message.topic() or "", message.value(), produced_ms / 1000)
        finally:
            self._consumer.close()

    def _take(self, topic: str, value: bytes | None, produced: float) -> None:
        record = json.loads(value or b"null")
        now = time.monotonic()
        if topic == DEFAULT_TOPICS.metrics.name:
            key = (record["subject"], record["ts"])
            self.metric_copies += 1
            seen = self.metrics.setdefault(key, record)
            if seen is record:
                self.arrivals.add(now, produced)
            elif seen != record:
                self.differing_copies.append(key)
        else:
            signal_id = record["id"]
            if signal_id not in self.signal_ids:
                self.signals[signal_id] = record
                self.arrivals.add(now, produced)
            self.signal_ids[signal_id] += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(15)


@dataclass
class WebsocketLog:
    """What the websocket subscriber saw."""

    signal_ids: Counter[str] = field(default_factory=Counter)
    metrics: int = 0
    told_gaps: list[str] = field(default_factory=list)
    untold_gaps: list[str] = field(default_factory=list)
    connects: int = 0
    resumed: int = 0
    snapshots: int = 0


class WebsocketObserver:
    """A resuming subscriber of ``signals`` and ``metrics`` on the gateway, in a thread."""

    CHANNELS = ("signals", "metrics")

    def __init__(self, url: str) -> None:
        self.url = url
        self.log = WebsocketLog()
        self.arrivals = Arrivals()
        self.connected = threading.Event()
        self._position: dict[str, tuple[str, int]] = {}
        self._catch_up: dict[str, int] = {}
        self._snapshot_head: dict[str, int] = {}
        self._metric_keys: set[tuple[str, int]] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._run()), name="chaos-websocket", daemon=True
        )
        self._thread.start()

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self._session()
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError):
                self.connected.clear()
            if not self._stop.is_set():
                await asyncio.sleep(0.2)

    async def _session(self) -> None:
        async with connect(self.url, open_timeout=5, close_timeout=1, max_size=2**24) as ws:
            request: dict[str, Any] = {"op": "subscribe", "channels": list(self.CHANNELS)}
            since = {c: {"epoch": e, "seq": s} for c, (e, s) in self._position.items()}
            if since:
                request["since"] = since
            await ws.send(json.dumps(request))
            self._catch_up.clear()
            self.log.connects += 1
            self.connected.set()
            while not self._stop.is_set():
                try:
                    async with asyncio.timeout(0.5):
                        frame = await ws.recv()
                except TimeoutError:
                    continue
                self._take(json.loads(frame))

    def _take(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind in ("snapshot", "resumed"):
            channel = message["channel"]
            if kind == "snapshot":
                self.log.snapshots += 1
                if message.get("reason"):
                    self.log.told_gaps.append(f"{channel}: {message['reason']}")
                self._snapshot_head[channel] = message["seq"]
            else:
                self.log.resumed += 1
                self._snapshot_head.pop(channel, None)
            self._catch_up[channel] = message["count"]
            if message["count"] == 0:
                self._settle(channel, message["epoch"])
        elif kind == "conflated":
            self.log.told_gaps.append(f"{message['channel']}: conflated {message['seqs']}")
            channel = message["channel"]
            if channel in self._position:
                epoch, seq = self._position[channel]
                self._position[channel] = (epoch, max([seq, *message["seqs"]]))
        elif kind in ("signal", "metrics"):
            self._data(kind, message)

    def _settle(self, channel: str, epoch: str) -> None:
        """A snapshot's catch-up is complete: the channel stands at its head."""
        self._catch_up.pop(channel, None)
        head = self._snapshot_head.pop(channel, None)
        if head is not None:
            self._position[channel] = (epoch, head)

    def _data(self, kind: str, message: dict[str, Any]) -> None:
        channel, seq, epoch = message["channel"], message["seq"], message["epoch"]
        in_snapshot = channel in self._snapshot_head
        now = time.monotonic()
        if not in_snapshot:
            last = self._position.get(channel)
            if last is not None and last[0] == epoch and seq != last[1] + 1:
                self.log.untold_gaps.append(f"{channel}: seq {last[1]} then {seq}")
            self._position[channel] = (epoch, seq)
        data = message["data"]
        emitted = message.get("emit_ts", 0) / 1e6
        if kind == "signal":
            # A snapshot's signals after a told gap may repeat ones seen: not counted again.
            if not (in_snapshot and data["id"] in self.log.signal_ids):
                if data["id"] not in self.log.signal_ids:
                    self.arrivals.add(now, emitted)
                self.log.signal_ids[data["id"]] += 1
        else:
            self.log.metrics += 1
            key = (data["subject"], data["ts"])
            if key not in self._metric_keys:
                self._metric_keys.add(key)
                self.arrivals.add(now, emitted)
        if channel in self._catch_up:
            self._catch_up[channel] -= 1
            if self._catch_up[channel] <= 0:
                self._settle(channel, epoch)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(15)
