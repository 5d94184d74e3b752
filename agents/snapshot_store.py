"""Where snapshots are kept: a Kafka topic every worker reads, and a local file cache.

The topic is ``<app id>-snapshots`` (as Kafka Streams names a store's changelog
``<application.id>-<store>-changelog``), one topic partition per stage partition:
stage one's tick partition ``p`` writes to partition ``p``, stage two to the partition
after the last tick partition. Messages are keyed ``<stage>/<partition>/<chunk>``, and
the topic is created compacted (``cleanup.policy=compact``): real Kafka keeps the newest
snapshot's chunks and drops older ones. The embedded broker never compacts, so a reader
must not scan the topic: after each snapshot is written, the offset of its first
message is committed for the consumer group ``<app id>-snapshots`` on its partition (a
known recent offset), and each snapshot names the offset of the one before it, so a
reader goes from the newest back to older ones without reading anything else.

The local cache (``[snapshots] local_dir``) holds the newest snapshot of each stage
and partition this worker wrote, in one file each: a worker restarting on the same
machine reads it instead of the topic when it is at least as new.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from agents.snapshot_codec import Assembler, Snapshot, SnapshotError, chunks, decode_chunk
from agents.topic_reader import read_partition
from streams.topics import TopicSpec

log = logging.getLogger("rotation.snapshots")

READ_LIMIT = 10_000
"""Messages read after a snapshot's first one before giving it up as incomplete."""


def snapshot_topic(app_id: str, tick_partitions: int) -> TopicSpec:
    """The snapshot topic of an app whose ticks topic has ``tick_partitions``."""
    return TopicSpec(
        f"{app_id}-snapshots",
        tick_partitions + 1,
        "<stage>/<partition>/<chunk>",
        bytes,
        "Snapshots of the stages' state (agents/snapshot_codec.py), a partition per stage "
        "partition.",
        (("cleanup.policy", "compact"),),
    )


class SnapshotStore:
    """Writes a worker's snapshots and finds the newest usable one of a stage partition."""

    def __init__(
        self,
        client: dict[str, Any],
        app_id: str,
        tick_partitions: int,
        local_dir: str = "",
    ) -> None:
        self.client = client
        self.topic = snapshot_topic(app_id, tick_partitions)
        self.group = f"{app_id}-snapshots"
        self.tick_partitions = tick_partitions
        self.local = Path(local_dir) / self.topic.name if local_dir else None
        self._producer: AIOKafkaProducer | None = None
        self._committer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()
        self._previous: dict[tuple[str, int], int] = {}

    def partition(self, stage: str, partition: int) -> int:
        """The snapshot topic partition of a stage partition."""
        return partition if stage == "bars" else self.tick_partitions

    async def _clients(self) -> tuple[AIOKafkaProducer, AIOKafkaConsumer]:
        if self._producer is None or self._committer is None:
            producer = AIOKafkaProducer(
                **self.client, client_id="rotation-snapshots", max_request_size=2_000_000
            )
            committer = AIOKafkaConsumer(
                **self.client,
                group_id=self.group,
                enable_auto_commit=False,
                client_id="rotation-snapshots",
            )
            await producer.start()
            await committer.start()
            # Every partition once: each (re)assignment logs the subscription.
            committer.assign(
                [TopicPartition(self.topic.name, p) for p in range(self.topic.partitions)]
            )
            self._producer, self._committer = producer, committer
        return self._producer, self._committer

    async def close(self) -> None:
        for client in (self._producer, self._committer):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.stop()
        self._producer = self._committer = None

    def forget(self, stage: str, partition: int) -> None:
        """The stage partition was (re)assigned: another worker may have written its
        snapshots since, so the next one's ``previous`` is read from the topic."""
        self._previous.pop((stage, partition), None)

    async def write(self, snapshot: Snapshot) -> int:
        """Write ``snapshot`` (and the local file), then commit its first message's offset
        as its partition's newest; returns that offset."""
        key = (snapshot.stage, snapshot.partition)
        async with self._lock:
            producer, committer = await self._clients()
            part = self.partition(*key)
            snapshot.previous = self._previous.get(key, -1)
            if snapshot.previous < 0:
                snapshot.previous = await self._committed(committer, part)
            sent = [
                await producer.send(
                    self.topic.name,
                    value,
                    key=f"{snapshot.stage}/{snapshot.partition}/{i}".encode(),
                    partition=part,
                )
                for i, value in enumerate(chunks(snapshot))
            ]
            first = (await sent[0]).offset
            for future in sent[1:]:
                await future
            await committer.commit({TopicPartition(self.topic.name, part): first})
            self._previous[key] = first
        if self.local is not None:
            self._write_local(snapshot)
        return first

    async def _committed(self, consumer: AIOKafkaConsumer, part: int) -> int:
        offset = await consumer.committed(TopicPartition(self.topic.name, part))
        return -1 if offset is None else offset

    def _file(self, stage: str, partition: int) -> Path:
        assert self.local is not None
        return self.local / f"{stage}-{partition}.snapshot"

    def _write_local(self, snapshot: Snapshot) -> None:
        path = self._file(snapshot.stage, snapshot.partition)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            whole = chunks(snapshot, chunk_bytes=max(1, len(snapshot.body)))[0]
            temporary = path.with_suffix(".tmp")
            temporary.write_bytes(whole)
            os.replace(temporary, path)
        except OSError as exc:
            log.warning("snapshot cache %s not written: %s", path, exc)

    def read_local(self, stage: str, partition: int) -> Snapshot | None:
        """This machine's newest snapshot of a stage partition, if it has a usable one."""
        if self.local is None:
            return None
        path = self._file(stage, partition)
        try:
            value = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("snapshot cache %s not read: %s", path, exc)
            return None
        try:
            snapshot = Assembler().add(decode_chunk(value))
        except SnapshotError as exc:
            log.warning("snapshot cache %s skipped: %s", path, exc)
            return None
        if snapshot is None or (snapshot.stage, snapshot.partition) != (stage, partition):
            log.warning("snapshot cache %s skipped: not a whole snapshot of it", path)
            return None
        snapshot.origin = "local file"
        return snapshot

    async def from_topic(self, stage: str, partition: int) -> AsyncIterator[Snapshot]:
        """The snapshots of a stage partition on the topic, newest first, following each
        one's ``previous``; a snapshot that cannot be put together ends the chain (with a
        log line)."""
        part = self.partition(stage, partition)
        async with self._lock:
            _, committer = await self._clients()
            offset = await self._committed(committer, part)
        seen: set[int] = set()
        while offset >= 0 and offset not in seen:
            seen.add(offset)
            snapshot = await self._read_at(part, offset)
            if snapshot is None:
                log.warning(
                    "%s[%d]@%d: no whole snapshot there; older ones are not reachable",
                    self.topic.name,
                    part,
                    offset,
                )
                return
            if (snapshot.stage, snapshot.partition) == (stage, partition):
                yield snapshot
            offset = snapshot.previous

    async def _read_at(self, part: int, offset: int) -> Snapshot | None:
        """The snapshot whose first message is at ``offset`` (or, where compaction took
        that message, the first snapshot completed after it)."""
        assembler, read = Assembler(), 0
        records = read_partition(self.client, self.topic.name, part, offset)
        try:
            async for record in records:
                read += 1
                if read > READ_LIMIT:
                    return None
                try:
                    chunk = decode_chunk(record.value)
                except SnapshotError as exc:
                    if record.offset == offset:
                        log.warning("%s[%d]@%d: %s", self.topic.name, part, offset, exc)
                        return None
                    continue
                snapshot = assembler.add(chunk)
                if snapshot is not None:
                    return snapshot
        finally:
            await records.aclose()  # type: ignore[attr-defined]
        return None
