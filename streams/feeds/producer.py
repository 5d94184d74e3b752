"""Live ticks -> :class:`TickFrame` messages on ``quotes.ticks``, as the simulator sends them.

Live ticks arrive a few at a time. :class:`FrameProducer` gathers them for
``flush_seconds`` (default 0.05 s), then writes them with the one tick producer,
:class:`streams.tick_producer.TickProducer`: one frame per partition (split at
``max_ticks``), to the partition of the symbol, the ticks of a frame in event-time
order. A flush waits for the broker's acknowledgement of every frame before the next
one starts, so each partition receives the ticks in the order they arrived.

Nothing is dropped quietly: when the broker does not take a batch (after the Kafka
client's own retries) the feed stops with :class:`KafkaSendFailed`, which says how many
ticks, of which event times, were not written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from streams.feeds.errors import KafkaSendFailed
from streams.kafka import KafkaSecurity
from streams.records import Tick
from streams.tick_producer import MAX_TICKS, TickProducer, TicksNotWritten
from streams.topics import DEFAULT_TOPICS, TopicSpec

log = logging.getLogger("rotation.feeds")

FLUSH_SECONDS = 0.05  # ROTATION_FEED_FLUSH_MS


class FrameProducer:
    """Batches ticks and writes them to ``quotes.ticks`` every ``flush_seconds``."""

    def __init__(
        self,
        bootstrap: str,
        *,
        max_ticks: int = MAX_TICKS,
        flush_seconds: float = FLUSH_SECONDS,
        topic: TopicSpec = DEFAULT_TOPICS.ticks,
        security: KafkaSecurity | None = None,
        compression: str | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.max_ticks = max_ticks
        self.flush_seconds = flush_seconds
        self.producer = TickProducer(
            bootstrap, topic=topic, security=security, max_ticks=max_ticks, compression=compression
        )
        self._pending: list[Tick] = []
        self._full = asyncio.Event()
        self._lock = asyncio.Lock()

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def ticks_sent(self) -> int:
        return self.producer.ticks_sent

    @property
    def frames_sent(self) -> int:
        return self.producer.frames_sent

    async def start(self) -> None:
        await self.producer.start()

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
            try:
                await self.producer.send(batch)
            except TicksNotWritten as exc:
                raise KafkaSendFailed(str(exc)) from None

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
            await self.producer.stop()
