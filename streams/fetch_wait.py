"""A consumer's fetch wait that grows when the broker cannot answer within it.

A Kafka Fetch carries ``max_wait_ms``, the longest the broker may hold it
(https://kafka.apache.org/protocol#The_Messages_Fetch). The embedded Tansu broker
answers only when that wait expires, so a short wait is what makes a hop fast on it;
but its time to read a partition grows with the record batches the partition holds
(memory storage, nothing ever removed), and once that time passes the wait, it answers
every Fetch empty: measured with ``python -m benchmarks.broker`` and a consumer with a
5 or 10 ms wait on a partition of 12,000 batches, no record arrived while the partition's
high watermark kept moving (a 50 ms wait read them all).

:class:`FetchWait` watches for exactly that: a partition its owner is reading
(assigned, not paused, and among ``consuming()`` when given: Faust, for one, stops
asking for a partition whose stream buffer is full without pausing it) whose high
watermark (reported in every Fetch answer) is ahead of the consumer's position while
the position has not moved, and no fetched records wait in the consumer's buffer, for
``patience`` checks in a row (records waiting there mean the broker did answer and the
owner is busy). Then it doubles the wait, up to
``maximum``, and says so once per step. It never shortens the wait again: the broker
only fills. On Apache Kafka, which answers as soon as records are there, it never
fires. aiokafka reads the wait from its fetcher for every request; the fetcher keeps it
as ``_fetch_max_wait_ms``, set here, and its fetched records in ``_records``, read here
(``tests/test_fetch_wait.py`` checks both against the real broker).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import Any

log = logging.getLogger("rotation.kafka")

DEFAULT_MAXIMUM_MS = 1500  # Faust's own fetch wait; the broker answers within it for long


class FetchWait:
    """The fetch wait of one started aiokafka consumer, raised when the broker starves it."""

    def __init__(
        self,
        consumer: Any,
        *,
        maximum_ms: int = DEFAULT_MAXIMUM_MS,
        name: str = "consumer",
        patience: int = 2,
        consuming: Callable[[], Collection[Any]] | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.consumer = consumer
        self.maximum_ms = maximum_ms
        self.patience = patience
        self.consuming = consuming
        self.name = name
        self.say = say or log.warning
        self._last: dict[Any, tuple[int, int]] = {}  # partition: (position, checks unmoved)

    @property
    def wait_ms(self) -> int:
        return int(self.consumer._fetcher._fetch_max_wait_ms)

    async def check(self) -> bool:
        """One look at every partition; True when the wait was raised."""
        consumer = self.consumer
        paused = consumer.paused()
        reading = None if self.consuming is None else set(self.consuming())
        buffered = consumer._fetcher._records
        starved = []
        seen: dict[Any, tuple[int, int]] = {}
        for tp in consumer.assignment():
            if tp in paused or (reading is not None and tp not in reading):
                continue
            highwater = consumer.highwater(tp)
            try:
                position = await consumer.position(tp)
            except Exception:  # no position yet (being reset): look again next time
                continue
            behind = highwater is not None and highwater > position and tp not in buffered
            last, unmoved = self._last.get(tp, (-1, 0))
            seen[tp] = (position, unmoved + 1 if behind and last == position else 0)
            if seen[tp][1] >= self.patience:
                starved.append(tp)
        self._last = seen
        if not starved or self.wait_ms >= self.maximum_ms:
            return False
        before = self.wait_ms
        consumer._fetcher._fetch_max_wait_ms = min(before * 2, self.maximum_ms)
        self._last = {}  # the next check compares positions reached with the new wait
        tp = starved[0]
        self.say(
            f"{self.name}: fetch wait raised from {before} to {self.wait_ms} ms: "
            f"{tp.topic}[{tp.partition}] is {consumer.highwater(tp) - seen[tp][0]} records "
            f"behind and the broker answered no fetch with them (it slows as it fills)"
        )
        return True
