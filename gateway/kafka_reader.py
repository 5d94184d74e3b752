"""The gateway's Kafka side: ``rotation.metrics`` and ``rotation.signals`` into the history.

One aiokafka consumer without a consumer group reads every partition of both topics
from the beginning, so a restarted gateway rebuilds the same history, seq numbers
and epochs (see :mod:`gateway.history`). It is *caught up* once it has read up to
the high watermark the broker reported in a fetch (Tansu's ListOffsets "latest" is
off by a batch, so ``end_offsets()`` is not used); until then nothing is fanned out
and subscribers wait, so a restart does not flood them with the backlog.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable

import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition

from gateway.history import History, epoch_of
from gateway.stats import Stats
from gateway.subscriptions import Entry
from streams.codec import decode_metrics, decode_signal
from streams.fetch_wait import DEFAULT_MAXIMUM_MS, FetchWait
from streams.kafka import KafkaSecurity, kafka_client_kwargs
from streams.topics import DEFAULT_TOPICS, TopicSpec

log = logging.getLogger("rotation.gateway")

Publish = Callable[[list[tuple[str, Entry]]], None]


class KafkaReader:
    def __init__(
        self,
        bootstrap: str,
        history: History,
        stats: Stats,
        publish: Publish,
        *,
        fetch_max_wait_ms: int = 10,
        signals: TopicSpec = DEFAULT_TOPICS.signals,
        metrics: TopicSpec = DEFAULT_TOPICS.metrics,
        security: KafkaSecurity | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.security = security
        self.signals_topic = signals.name
        self.family_of_topic = {signals.name: "signals", metrics.name: "metrics"}
        topics = (signals, metrics)
        self.history = history
        self.stats = stats
        self.publish = publish
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.topics = topics
        self.partitions = [TopicPartition(t.name, p) for t in topics for p in range(t.partitions)]
        self.next_offset: dict[TopicPartition, int] = {}
        self.highwater: dict[TopicPartition, int | None] = {tp: None for tp in self.partitions}
        self.last_record_at: float | None = None
        self.running = False
        self.caught_up = asyncio.Event()
        self._multi_partition: set[str] = set()

    def lag(self) -> dict[TopicPartition, int]:
        """Records behind the high watermark, per partition (0 before the first fetch)."""
        return {
            tp: max(0, (hw or 0) - self.next_offset.get(tp, 0)) for tp, hw in self.highwater.items()
        }

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            **kafka_client_kwargs(self.bootstrap, self.security),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self.fetch_max_wait_ms,
            client_id="rotation-gateway",
        )
        await consumer.start()
        try:
            await consumer.topics()  # metadata: the partitions the broker really has
            self.partitions = [
                TopicPartition(t.name, p)
                for t in self.topics
                for p in sorted(consumer.partitions_for_topic(t.name) or range(t.partitions))
            ]
            self.highwater = {tp: None for tp in self.partitions}
            self._multi_partition = {
                t.name for t in self.topics if sum(tp.topic == t.name for tp in self.partitions) > 1
            }
            consumer.assign(self.partitions)
            await consumer.seek_to_beginning(*self.partitions)
            for topic in self._multi_partition:
                # Records of several partitions interleave differently on every read, so
                # a rebuilt numbering would differ: such a family gets a fresh epoch.
                self.history.epochs[self.family_of_topic[topic]] = uuid.uuid4().hex[:16]
            self.running = True
            empty_polls = 0
            fetch_wait = FetchWait(
                consumer,
                maximum_ms=max(self.fetch_max_wait_ms, DEFAULT_MAXIMUM_MS),
                name="gateway consumer",
            )
            checked = time.monotonic()
            while True:
                if time.monotonic() - checked >= 1.0:
                    checked = time.monotonic()
                    try:
                        await fetch_wait.check()
                    except Exception:  # a look that failed must not stop the history
                        log.exception("checking the fetch wait failed")
                batches = await consumer.getmany(timeout_ms=200, max_records=1000)
                for tp in self.partitions:
                    self.highwater[tp] = consumer.highwater(tp)
                published: list[tuple[str, Entry]] = []
                for tp, records in batches.items():
                    for record in records:
                        published.extend(self._on_record(tp, record))
                if self.caught_up.is_set():
                    if published:
                        try:
                            self.publish(published)
                        except Exception:  # a fan-out bug must not stop the history
                            log.exception("fan-out failed")
                        # Let the clients' drain tasks run before the next batch.
                        await asyncio.sleep(0)
                    continue
                empty_polls = 0 if batches else empty_polls + 1
                if self._at_highwater() or empty_polls >= 3:
                    log.info(
                        "gateway caught up: signals seq %d, metrics seq %d",
                        self.history.channels["signals"].seq,
                        self.history.channels["metrics"].seq,
                    )
                    self.caught_up.set()
        finally:
            self.running = False
            await consumer.stop()

    def _at_highwater(self) -> bool:
        return all(
            hw is not None and self.next_offset.get(tp, 0) >= hw
            for tp, hw in self.highwater.items()
        )

    def _on_record(self, tp: TopicPartition, record) -> list[tuple[str, Entry]]:
        expected = self.next_offset.get(tp)
        if expected is None:
            family = self.family_of_topic[tp.topic]
            if tp.topic not in self._multi_partition:
                self.history.epochs[family] = epoch_of(
                    tp.topic, tp.partition, record.offset, record.timestamp, record.value or b""
                )
        elif record.offset != expected:
            self.stats.offset_gaps[tp.topic] += 1
            log.warning(
                "%s[%d]: offset jumped from %d to %d (compaction or retention?); a client "
                "resuming across this point after a gateway restart may get other seq numbers",
                tp.topic,
                tp.partition,
                expected,
                record.offset,
            )
        self.next_offset[tp] = record.offset + 1
        self.last_record_at = time.time()
        self.stats.records[tp.topic] += 1
        emit_ts = time.time_ns() // 1000
        try:
            if tp.topic == self.signals_topic:
                return self.history.add_signal(decode_signal(record.value), emit_ts)
            return self.history.add_metrics(decode_metrics(record.value), emit_ts)
        except (msgspec.DecodeError, msgspec.ValidationError, TypeError) as exc:
            self.stats.undecodable[tp.topic] += 1
            log.warning(
                "skipping an undecodable record %s[%d]@%d: %s",
                tp.topic,
                tp.partition,
                record.offset,
                exc,
            )
            return []
