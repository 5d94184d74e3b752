"""A paced tick feed for the end-to-end benchmark, and the record of when it appended what.

:class:`PacedTicks` cuts a steady stream of synthetic ticks into wall-clock slots of
``flush_s`` seconds: ``rate`` ticks per wall second, spread evenly over the slots,
whose event time advances ``event_speed`` event seconds per wall second (with 1 s
bars and speed 10, ten bar intervals close every wall second). Tick ``i`` has the
event time ``START_US + i * event_speed / rate`` seconds, so event times are strictly
increasing (no duplicates, no late ticks) and every symbol keeps its own random-walk
price. Each slot becomes one :class:`ColumnarTickFrame` per tick partition.

:class:`PacedFeed` sends the frames of slot ``k`` at ``k * flush_s`` after its start,
to their explicit partitions, and records for every frame the wall time
(``time.time()``) at which the broker acknowledged it, the partition and the largest
event time in it: what :mod:`benchmarks.latency` needs to say which append caused
which interval to close. It does not write through the feeds' producer
(:class:`streams.tick_producer.TickProducer`): that waits for every frame of a batch
before the next batch, while this feed must send each slot on its schedule whatever the
acknowledgement latency it measures; it keeps every frame's acknowledgement and waits
for all of them before it returns. Its producer lingers :data:`LINGER_MS` ms and
batches up to :data:`MAX_BATCH_BYTES` per partition, so a slot is one request (and a
slot sent late joins the next); the acknowledgement, not the send, is what the
latency counts from, so the linger is not part of any latency figure.

A slot's frames are large at high rates (``rate * flush_s / 4`` ticks per partition:
1,000 ticks, about 114 kB, at 200,000 ticks/s), made column by column up front;
this machine makes them at about 200,000 ticks per second of CPU.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from aiokafka import AIOKafkaProducer

from benchmarks import stopping
from benchmarks.synthetic import START_US, symbol_names
from streams.codec import encode
from streams.partitioning import partition_for
from streams.records import ColumnarTickFrame
from streams.topics import DEFAULT_TOPICS

MICROS = 1_000_000
FLUSH_S = 0.02
LINGER_MS = 5  # the frames of one slot (one per partition) go out in one request
MAX_BATCH_BYTES = 1024 * 1024  # a frame is ~114 kB at 200,000 ticks/s; late ones batch


@dataclass(frozen=True)
class Frame:
    """One encoded frame of one slot."""

    slot: int
    partition: int
    data: bytes
    max_ts: int
    ticks: int


@dataclass
class Appended:
    """A frame as the feed sent it: acknowledged at ``acked`` (time.time(), s)."""

    partition: int
    max_ts: int
    ticks: int
    sent: float
    acked: float | None = None
    data: bytes | None = None  # kept only when asked for (the pandas baseline reads it)


class PacedTicks:
    """Synthetic ticks of ``symbols`` symbols at ``rate`` ticks per wall second."""

    def __init__(
        self,
        symbols: int,
        rate: float,
        *,
        event_speed: float = 10.0,
        flush_s: float = FLUSH_S,
        seed: int = 7,
    ) -> None:
        if rate <= 0 or event_speed <= 0 or flush_s <= 0:
            raise ValueError("rate, event_speed and flush_s must be > 0")
        if event_speed * MICROS / rate < 1:
            raise ValueError("rate too high for microsecond event times at this event speed")
        self.symbols = symbols
        self.rate = rate
        self.event_speed = event_speed
        self.flush_s = flush_s
        self.names = symbol_names(symbols)
        self._names = np.array(self.names, dtype=object)
        self.partition_of = np.array(
            [partition_for(s, DEFAULT_TOPICS.ticks.partitions) for s in self.names]
        )
        self._rng = np.random.default_rng(seed + symbols)
        self._price = self._rng.uniform(5.0, 500.0, symbols)
        self._next_tick = 0

    def event_us_at(self, wall_offset: float) -> int:
        """Event time of the tick due ``wall_offset`` seconds after the feed's start."""
        return START_US + int(wall_offset * self.event_speed * MICROS)

    def slot(self, k: int) -> list[Frame]:
        """The frames of slot ``k`` (slots must be asked for in order, from 0)."""
        first = self._next_tick
        last = math.floor((k + 1) * self.flush_s * self.rate)
        self._next_tick = max(first, last)
        n = last - first
        if n <= 0:
            return []
        index = np.arange(first, last, dtype=np.int64)
        ts = START_US + (index * self.event_speed * MICROS / self.rate).astype(np.int64)
        sym = self._rng.integers(0, self.symbols, n)
        step = np.exp(self._rng.normal(0.0, 0.0008, n))
        price = np.round(self._price[sym] * step, 4)
        self._price[sym] = price
        size = (self._rng.integers(1, 50, n) * 100).astype(float)
        bid = np.round(price - 0.01, 2).astype(object)
        bid[price <= 0.02] = None
        ask = np.round(price + 0.01, 2)
        part = self.partition_of[sym]
        frames = []
        for p in np.unique(part).tolist():
            idx = np.flatnonzero(part == p)
            # Positional fields, column by column: about five times faster than a
            # keyword call per tick, which matters at 200,000 ticks per second.
            names = self._names[sym[idx]]
            symbols, index = np.unique(names, return_inverse=True)
            quotes = bid[idx].tolist()
            frame = ColumnarTickFrame(
                v=2,
                symbols=symbols.tolist(),
                symbol=index.tolist(),
                ts=ts[idx].tolist(),
                price=price[idx].tolist(),
                size=size[idx].tolist(),
                bid=quotes,
                ask=ask[idx].tolist(),
                source="bench",
            )
            frames.append(Frame(k, p, encode(frame), int(ts[idx[-1]]), len(idx)))
        return frames

    def slots(self, duration: float) -> Iterator[list[Frame]]:
        """Every slot of ``duration`` wall seconds, made on demand."""
        for k in range(round(duration / self.flush_s)):
            yield self.slot(k)

    def premade(self, duration: float) -> list[list[Frame]]:
        """Every slot of ``duration`` wall seconds, made now (before any clock starts)."""
        return list(self.slots(duration))


@dataclass
class PacedFeed:
    """Sends slots on schedule and records every frame's acknowledgement."""

    bootstrap: str
    flush_s: float = FLUSH_S
    keep_data: bool = False
    appended: list[Appended] = field(default_factory=list)
    started_at: float | None = None  # time.time() of slot 0
    late_slots: int = 0  # slots sent more than one slot after their time

    async def run(self, slots: Iterator[list[Frame]] | list[list[Frame]]) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            client_id="bench-paced-feed",
            linger_ms=LINGER_MS,
            max_batch_size=MAX_BATCH_BYTES,
            max_request_size=8 * 1024 * 1024,
            acks=1,
        )
        await producer.start()
        pending: list[asyncio.Future] = []
        try:
            t0 = time.monotonic()
            self.started_at = time.time()
            for k, frames in enumerate(slots):
                stopping.check()
                due = t0 + (k + 1) * self.flush_s
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif -delay > self.flush_s:
                    self.late_slots += 1
                for frame in frames:
                    record = Appended(
                        frame.partition,
                        frame.max_ts,
                        frame.ticks,
                        time.time(),
                        data=frame.data if self.keep_data else None,
                    )
                    self.appended.append(record)
                    future = await producer.send(
                        DEFAULT_TOPICS.ticks.name, frame.data, partition=frame.partition
                    )
                    future.add_done_callback(_acked(record))
                    pending.append(future)
                if len(pending) > 1000:
                    pending = [f for f in pending if not f.done()]
            for future in pending:
                await future
        finally:
            await producer.stop()

    @property
    def ticks(self) -> int:
        return sum(a.ticks for a in self.appended)

    def achieved_rate(self) -> float | None:
        """Ticks per second between the first and the last acknowledgement."""
        acked = [a.acked for a in self.appended if a.acked is not None]
        if len(acked) < 2 or max(acked) <= min(acked):
            return None
        return self.ticks / (max(acked) - min(acked))


def _acked(record: Appended):
    def done(future: asyncio.Future) -> None:
        if not future.cancelled() and future.exception() is None:
            record.acked = time.time()

    return done
