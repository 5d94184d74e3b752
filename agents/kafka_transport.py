"""Faust's aiokafka transport with the worker consumer's fetch wait as a setting.

Faust builds its worker consumer in ``AIOKafkaConsumerThread._create_worker_consumer``
with ``fetch_max_wait_ms=1500`` written into the call. A Kafka Fetch request carries
that wait as ``max_wait_ms``: the longest the broker may hold the request when fewer
than ``fetch_min_bytes`` are there (https://kafka.apache.org/protocol#The_Messages_Fetch).
Apache Kafka answers as soon as the bytes are there, so a long wait costs no latency;
the embedded Tansu broker answers only when the wait expires, so on it every Faust hop
waits up to that long for records that are already there.

The classes here are Faust's own extension points, used as designed: the transport names
its ``Consumer`` class, the consumer makes its thread in ``_new_consumer_thread``, and
:class:`App` makes the transport in ``_new_transport``. :class:`ConsumerThread` builds
the consumer exactly as Faust does and then sets its fetch wait before it starts (the
fetcher is made from it in ``AIOKafkaConsumer.start``); the test checks the started
consumer's fetcher, so a library change that breaks this fails there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, cast

import aiokafka
import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TransportT
from mode import Service

from streams.fetch_wait import DEFAULT_MAXIMUM_MS, FetchWait

log = logging.getLogger("rotation.kafka")

DEFAULT_FETCH_MAX_WAIT_MS = 10
# The longest one ask for records waits in the consumer thread, and the longest the
# consumer rests while every stream buffer is full (Faust: 1 s each, see :class:`Consumer`).
RECORDS_WAIT_S = 0.02


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's consumer thread; its worker consumer waits ``fetch_max_wait_ms`` at most,
    more when the broker cannot answer within it (:class:`streams.fetch_wait.FetchWait`,
    checked every second in the thread's own event loop)."""

    _fetch_wait: FetchWait | None = None

    def _create_worker_consumer(
        self, transport: faust_aiokafka.Transport
    ) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        if not hasattr(consumer, "_fetch_max_wait_ms"):
            raise RuntimeError(
                "this aiokafka release keeps the fetch wait elsewhere: "
                "agents/kafka_transport.py needs updating"
            )
        wait = cast(Transport, transport).fetch_max_wait_ms
        consumer._fetch_max_wait_ms = wait
        self._fetch_wait = FetchWait(
            consumer,
            maximum_ms=max(wait, DEFAULT_MAXIMUM_MS),
            name="worker consumer",
            patience=3,
            consuming=self._partitions_read,
        )
        return consumer

    def _partitions_read(self) -> set[Any]:
        """The partitions Faust asks records of now: none while its flow is stopped, and
        not those whose stream buffer is full (Faust leaves them out, unpaused)."""
        faust_consumer = self.consumer
        if not faust_consumer.flow_active:
            return set()
        for _ in range(3):  # Faust's event loop changes the set from another thread
            try:
                return set(faust_consumer._active_partitions or ())
            except RuntimeError:
                continue
        return set()

    @Service.timer(1.0)
    async def _raise_the_fetch_wait_when_starved(self) -> None:
        started = self._consumer is not None and hasattr(self._consumer, "_fetcher")
        if self._fetch_wait is not None and started:
            try:
                await self._fetch_wait.check()
            except Exception:  # a look that failed must never stop the consumer
                log.exception("checking the fetch wait failed")


class Consumer(faust_aiokafka.Consumer):
    """Faust's consumer, back at work as soon as a full stream buffer drains.

    Faust stops asking for a partition whose stream buffer is full and asks again once
    the buffer has drained (``on_buffer_full``, ``on_buffer_drop``). Two waits of a whole
    second sit in that loop: an ask for records already under way (``getmany`` with a
    1 s timeout) keeps waiting on the partitions it was given, so a partition taken back
    meanwhile waits until it ends; and when every buffer is full the consumer sleeps
    1 s. Neither matters while records arrive, but a backlog (a restart, a catch-up)
    fills the buffers over and over: a backlog of 1,000,000 ticks (500 symbols, 400
    intervals) took one worker 10.5-12.4 s to the websocket client, mostly asleep,
    against 4.3 s with these waits cut to :data:`RECORDS_WAIT_S`.
    Asking again costs a call into the consumer thread, not a request to the broker
    (aiokafka fetches in the background)."""

    _buffer_drained: asyncio.Event | None = None

    def _new_consumer_thread(self) -> ConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _getmany(self, active_partitions: Any, timeout: float) -> Any:
        return await super()._getmany(active_partitions, min(timeout, RECORDS_WAIT_S))

    async def _wait_next_records(self, timeout: float) -> Any:
        if self.flow_active and not self.app.client_only and not self._get_active_partitions():
            # Every stream buffer is full: rest until one drains, not Faust's 1 s.
            drained = self._buffer_drained = self._buffer_drained or asyncio.Event()
            drained.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RECORDS_WAIT_S):
                    await drained.wait()
            return {}, self._get_active_partitions()
        return await super()._wait_next_records(timeout)

    def on_buffer_drop(self, tp: Any) -> None:
        super().on_buffer_drop(tp)
        if self._buffer_drained is not None:
            self._buffer_drained.set()


class Transport(faust_aiokafka.Transport):
    """The aiokafka transport with :class:`Consumer`; ``fetch_max_wait_ms`` for its consumer."""

    Consumer = Consumer

    def __init__(
        self, *args: Any, fetch_max_wait_ms: int = DEFAULT_FETCH_MAX_WAIT_MS, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fetch_max_wait_ms = fetch_max_wait_ms


class App(faust.App):
    """A Faust app whose consumer fetches with ``fetch_max_wait_ms`` (milliseconds)."""

    def __init__(
        self, *args: Any, fetch_max_wait_ms: int = DEFAULT_FETCH_MAX_WAIT_MS, **kwargs: Any
    ) -> None:
        self.fetch_max_wait_ms = fetch_max_wait_ms
        super().__init__(*args, **kwargs)

    def _new_transport(self) -> TransportT:
        return Transport(self.conf.broker_consumer, self, fetch_max_wait_ms=self.fetch_max_wait_ms)
