"""Live ticks -> :class:`TickFrame` messages on ``quotes.ticks``, as the simulator sends them.

Live ticks arrive a few at a time. :class:`FrameProducer` gathers them for
``flush_seconds`` (default 0.05 s), then sends one frame per partition (split at
``max_ticks``), to the partition of the symbol (``streams.partitioning``),
with the ticks of a frame in event-time order (``streams.codec.frames_for``). A flush
waits for the broker's acknowledgement before the next one starts, so each partition
receives the ticks in the order they arrived.

Nothing is dropped quietly: when the broker does not take a batch (after the Kafka
client's own retries) the feed stops with :class:`KafkaSendFailed`, which says how many
ticks, of which event times, were not written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from streams.codec import frames_for
from streams.feeds.errors import KafkaSendFailed
from streams.kafka import KafkaSecurity, kafka_client_kwargs
from streams.partitioning import partitioner
from streams.records import Tick
from streams.topics import DEFAULT_TOPICS, TopicSpec
from streams.units import iso_from_micros

log = logging.getLogger("rotation.feeds")

FLUSH_SECONDS = 0.05
MAX_TICKS = 2000


class FrameProducer:
    """Batches ticks into frames per partition and writes them to ``quotes.ticks``."""

    def __init__(
        self,
        bootstrap: str,
        *,
        max_ticks: int = MAX_TICKS,
        flush_seconds: float = FLUSH_SECONDS,
        topic: TopicSpec = DEFAULT_TOPICS.ticks,
        security: KafkaSecurity | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self._partition_of = partitioner(topic.partitions)
        self.max_ticks = max_ticks
        self.flush_seconds = flush_seconds
        self.ticks_sent = 0
        self.frames_sent = 0
        self._pending: list[Tick] = []
        self._full = asyncio.Event()
        self._lock = asyncio.Lock()
        self._producer = AIOKafkaProducer(
            **kafka_client_kwargs(bootstrap, security),
            linger_ms=5,
            max_request_size=8 * 1024 * 1024,
        )

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def start(self) -> None:
        await self._producer.start()

    def add(self, ticks: list[Tick] | tuple[Tick, ...]) -> None:
        """Queue ticks for the next flush (which comes early when a frame per partition
        is full)."""
        self._pending.extend(ticks)
        if len(self._pending) >= self.max_ticks * self.topic.partitions:
            self._full.set()

    async def flush(self) -> None:
        """Send everything queued and wait until the broker has it."""
        async with self._lock:
            if not self._pending:
                return
            batch, self._pending = self._pending, []
            self._full.clear()
            batch.sort(key=lambda tick: tick.ts)
            frames = frames_for(
                batch, self.max_ticks, {t.symbol: self._partition_of(t.symbol) for t in batch}
            )
            try:
                sent = [
                    await self._producer.send(self.topic.name, frame, partition=partition)
                    for partition, frame in frames
                ]
                await asyncio.gather(*sent)
            except KafkaError as exc:
                raise KafkaSendFailed(
                    f"writing to {self.topic.name} at {self.bootstrap} failed ({exc}): "
                    f"{len(batch)} ticks with event times {iso_from_micros(batch[0].ts)} to "
                    f"{iso_from_micros(batch[-1].ts)} were not written"
                ) from None
            self.ticks_sent += len(batch)
            self.frames_sent += len(frames)

    async def run(self) -> None:
        """Flush every ``flush_seconds`` (or when full) until cancelled."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.flush_seconds):
                    await self._full.wait()
            await self.flush()

    async def stop(self) -> None:
        """Send what is still queued, then close the Kafka client."""
        try:
            await self.flush()
        finally:
            with contextlib.suppress(Exception):
                await self._producer.stop()
