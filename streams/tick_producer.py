"""The one producer of tick frames on ``quotes.ticks``, and its delivery guarantee.

Every writer of ticks (the simulator feed, the live feeds, ``rotation replay --kafka``,
the benchmarks' pre-produced frames) sends through :class:`TickProducer`:

- Ticks become one :class:`TickFrame` per partition of their symbols
  (``streams.partitioning``), split at ``max_ticks`` and kept in the order given
  (``streams.codec.frames_for``), each sent to its explicit partition.
- Delivery guarantee: :meth:`TickProducer.send` returns only once the broker has
  acknowledged every frame of the call (after the Kafka client's own retries); only then
  do its ticks count in ``ticks_sent``. A caller that awaits each call before the next
  keeps every partition in the order the ticks were given, and one that records its
  position after each call (replay's checkpoint) neither loses nor repeats a tick.
- When a frame is not acknowledged the call raises :class:`TicksNotWritten`, which names
  the topic, the broker, the number of ticks and their event-time range; nothing is
  dropped quietly.

The topic and the broker's security settings are passed in: nothing here reads the
environment.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.structs import RecordMetadata

from streams.codec import frames_for
from streams.errors import RotationError
from streams.kafka import KafkaSecurity, kafka_client_kwargs
from streams.partitioning import partitioner
from streams.records import Tick
from streams.topics import DEFAULT_TOPICS, TopicSpec
from streams.units import iso_from_micros

MAX_TICKS = 2000
MAX_REQUEST_BYTES = 8 * 1024 * 1024


class TicksNotWritten(RotationError):
    """Frames of ticks the broker did not acknowledge; the message says which ticks."""

    def __init__(self, topic: str, bootstrap: str, cause: str, what: str) -> None:
        super().__init__(
            f"writing to {topic} at {bootstrap} failed ({cause}): {what} were not written"
        )
        self.topic = topic
        self.what = what


def ticks_between(ticks: int, first_ts: int, last_ts: int) -> str:
    """``N ticks with event times A to B``: what a failed write names."""
    return (
        f"{ticks} ticks with event times {iso_from_micros(first_ts)} to {iso_from_micros(last_ts)}"
    )


class TickProducer:
    """Writes ticks as frames per partition; each call waits for the broker's acknowledgement."""

    def __init__(
        self,
        bootstrap: str,
        *,
        topic: TopicSpec = DEFAULT_TOPICS.ticks,
        security: KafkaSecurity | None = None,
        max_ticks: int = MAX_TICKS,
        client_id: str | None = None,
        linger_ms: int = 5,
        acks: int | str | None = None,
        compression: str | None = None,
    ) -> None:
        if max_ticks < 1:
            raise ValueError(f"max_ticks must be >= 1, got {max_ticks}")
        self.bootstrap = bootstrap
        self.topic = topic
        self.max_ticks = max_ticks
        self.partition_of = partitioner(topic.partitions)
        self.ticks_sent = 0
        self.frames_sent = 0
        options: dict[str, Any] = {}
        if client_id is not None:
            options["client_id"] = client_id
        if acks is not None:
            options["acks"] = acks
        self._producer = AIOKafkaProducer(
            **kafka_client_kwargs(bootstrap, security),
            linger_ms=linger_ms,
            max_request_size=MAX_REQUEST_BYTES,
            compression_type=compression,
            **options,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        """Close the Kafka client (what was acknowledged stays written)."""
        with contextlib.suppress(Exception):
            await self._producer.stop()

    async def __aenter__(self) -> TickProducer:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    def frames(self, ticks: Sequence[Tick]) -> list[tuple[int, bytes]]:
        """(partition, encoded frame) of ``ticks``, in partition order, tick order kept."""
        batch = list(ticks)
        return frames_for(
            batch, self.max_ticks, {t.symbol: self.partition_of(t.symbol) for t in batch}
        )

    async def send(self, ticks: Sequence[Tick]) -> list[RecordMetadata]:
        """Write ``ticks`` and wait until the broker acknowledged every frame of them;
        :class:`TicksNotWritten` when it did not. Returns the frames' record metadata."""
        if not ticks:
            return []
        stamps = [t.ts for t in ticks]
        what = ticks_between(len(ticks), min(stamps), max(stamps))
        return await self.send_frames(self.frames(ticks), len(ticks), what)

    async def send_frames(
        self,
        frames: Sequence[tuple[int, bytes]],
        ticks: int | None = None,
        what: str | None = None,
    ) -> list[RecordMetadata]:
        """Write (partition, frame) pairs already encoded, holding ``ticks`` ticks (None:
        not counted), with the guarantee of :meth:`send`; ``what`` describes them for the
        error (default: the number of frames)."""
        try:
            pending = [
                await self._producer.send(self.topic.name, frame, partition=partition)
                for partition, frame in frames
            ]
            acknowledged = list(await asyncio.gather(*pending))
        except KafkaError as exc:
            raise TicksNotWritten(
                self.topic.name,
                self.bootstrap,
                str(exc) or type(exc).__name__,
                what or f"{len(frames)} frames" + ("" if ticks is None else f" of {ticks} ticks"),
            ) from None
        self.ticks_sent += ticks or 0
        self.frames_sent += len(frames)
        return acknowledged
