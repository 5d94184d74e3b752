"""A stage's snapshots: when to take one, and the newest usable one to recover from.

A stage takes a snapshot of a partition's state after the first interval it closes,
then after ``[snapshots] every_intervals`` bar intervals or ``every_seconds`` seconds,
whichever comes first, once at least one interval closed since the last. (The first
one bounds a restart early in a partition's life too: without it, a restart in the
first ``every_intervals`` intervals would replay the input from its start.) The state
is written to bytes at once (a few milliseconds for the shipped universe), and sent and
committed in the background (:class:`SnapshotStore`); a write still under way when the
next is due makes the stage skip that one. A failed write is a warning: the stage goes
on, and the next snapshot or a full replay covers a restart.

Recovering, the stage tries the snapshots from the newest back: the local cache if it
is at least as new as the topic's newest, then the topic's, older each time, at most
:data:`TRIES`. A snapshot of input it has not committed yet, of another configuration
or version, or that does not decode is skipped with one log line; with none left, the
stage replays its input from the start, as without snapshots.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from agents.analytics.universe import SnapshotParams, Universe
from agents.snapshot_codec import Snapshot, SnapshotError, decode_state, encode_state, fingerprint
from agents.snapshot_store import SnapshotStore

log = logging.getLogger("rotation.snapshots")

TRIES = 3
"""Snapshots tried before a full replay."""

HELD_LIMIT = 8
"""Intervals held back beyond which a snapshot waits (see :meth:`StageSnapshots.after`)."""

S = TypeVar("S")


@dataclass
class _Due:
    intervals: int = 0
    since: float = 0.0
    first: bool = True


class StageSnapshots(Generic[S]):
    """The snapshots of one stage (``bars`` or ``rotation``) in one worker."""

    def __init__(
        self,
        stage: str,
        kind: type[S],
        store: SnapshotStore,
        params: SnapshotParams,
        universe: Universe,
        references: Mapping[str, object],
    ) -> None:
        self.stage, self.kind, self.store, self.params = stage, kind, store, params
        self.references = references
        self.fingerprint = fingerprint(universe, store.tick_partitions)
        self._due: dict[int, _Due] = {}
        self._writing: dict[int, asyncio.Task[Any]] = {}
        self.written = 0

    @property
    def enabled(self) -> bool:
        return self.params.every_intervals > 0 or self.params.every_seconds > 0

    def started(self, partition: int) -> None:
        """The stage holds ``partition`` from now on (fresh or recovered)."""
        self._due[partition] = _Due(since=time.monotonic())
        self.store.forget(self.stage, partition)

    def after(self, partition: int, offset: int, state: S, intervals: int, held: int = 0) -> None:
        """The stage applied input ``offset`` of ``partition``, which closed
        ``intervals`` intervals: take a snapshot if one is due. ``held``: intervals the
        state holds back (stage two's merger, while one tick partition is behind the
        others, as in a catch-up); more than :data:`HELD_LIMIT` defer the snapshot,
        which would be large and slow, until they are let go, or until twice the intervals
        of a snapshot have passed (so a restart never replays more than that)."""
        if not self.enabled:
            return
        due = self._due.setdefault(partition, _Due(since=time.monotonic()))
        due.intervals += intervals
        if due.intervals == 0:
            return
        params, now = self.params, time.monotonic()
        by_count = 0 < params.every_intervals <= due.intervals
        by_time = 0 < params.every_seconds <= now - due.since
        if not (due.first or by_count or by_time):
            return
        if held > HELD_LIMIT and due.intervals < 2 * max(1, params.every_intervals):
            return
        running = self._writing.get(partition)
        if running is not None and not running.done():
            return
        self._due[partition] = _Due(since=now, first=False)
        body = encode_state(state, self.references)
        snapshot = Snapshot.of(
            self.stage, partition, offset, self.fingerprint, body, time.time_ns() // 1000
        )
        self._writing[partition] = asyncio.ensure_future(self._write(snapshot))

    async def _write(self, snapshot: Snapshot) -> None:
        try:
            await self.store.write(snapshot)
            self.written += 1
            log.debug("snapshot of %s written (%d bytes)", snapshot.where(), len(snapshot.body))
        except Exception as exc:  # the stage goes on; the next snapshot covers it
            log.warning(
                "snapshot of %s not written: %s: %s", snapshot.where(), type(exc).__name__, exc
            )

    async def close(self) -> None:
        """Wait for the writes under way, then close the store's clients."""
        pending = [task for task in self._writing.values() if not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=10)
        await self.store.close()

    async def restore(self, partition: int, before: int) -> tuple[S, Snapshot] | None:
        """The newest usable snapshot of ``partition`` of input before ``before`` and the
        state in it; None when there is none (the stage replays from the start)."""
        if not self.enabled:
            return None
        try:
            return await self._restore(partition, before)
        except Exception as exc:  # the broker or the cache failed us: replay instead
            log.warning(
                "%s partition %d: snapshots not read (%s: %s); replaying the input instead",
                self.stage,
                partition,
                type(exc).__name__,
                exc,
            )
            return None

    async def _restore(self, partition: int, before: int) -> tuple[S, Snapshot] | None:
        tries = 0
        local = self.store.read_local(self.stage, partition)
        chain = self.store.from_topic(self.stage, partition)
        try:
            async for snapshot in chain:
                if local is not None and local.offset >= snapshot.offset:
                    found = self._usable(local, before)
                    tries += 1
                    local = None
                    if found is not None:
                        return found
                if tries >= TRIES:
                    break
                tries += 1
                found = self._usable(snapshot, before)
                if found is not None:
                    return found
        finally:
            await chain.aclose()  # type: ignore[attr-defined]
        if local is not None and tries < TRIES:
            return self._usable(local, before)
        return None

    def _usable(self, snapshot: Snapshot, before: int) -> tuple[S, Snapshot] | None:
        try:
            if snapshot.fingerprint != self.fingerprint:
                raise SnapshotError("written with another configuration or version")
            if snapshot.offset >= before:
                raise SnapshotError(
                    f"it includes input up to offset {snapshot.offset}, not yet committed "
                    f"(the stage resumes at {before})"
                )
            state = decode_state(snapshot.body, self.references, self.kind)
            if getattr(state, "offset", None) != snapshot.offset:
                raise SnapshotError(f"its state is at offset {getattr(state, 'offset', None)}")
        except SnapshotError as exc:
            log.warning("snapshot of %s skipped: %s", snapshot.where(), exc)
            return None
        return state, snapshot
