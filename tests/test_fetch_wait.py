"""The fetch wait and producer batching are settings that reach the real clients.

The worker's consumer is built by Faust's own code path (the app's transport, its
consumer, its consumer thread) and started against the session's embedded broker; what
is checked is the started aiokafka consumer's fetcher, the object that puts the wait
into every Fetch request. Bad values are one-line errors naming the variable.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import subprocess
import sys
import time

import pytest

from agents.app import create_app
from rotation.config import load_universe
from rotation.environment import settings_from_env
from streams.kafka import SettingsError


def _worker_consumer(app):
    """The aiokafka consumer Faust's consumer thread builds for the worker."""
    thread = app.consumer._new_consumer_thread()
    return thread._create_worker_consumer(app.transport)


@pytest.mark.parametrize(("env", "expected"), [({}, 10), ({"ROTATION_FETCH_MAX_WAIT_MS": "7"}, 7)])
async def test_the_worker_consumer_fetches_with_the_configured_wait(broker, env, expected):
    settings = settings_from_env(broker, {**env, "ROTATION_APP_ID": f"fetch-wait-{expected}"})
    app = create_app(settings, load_universe())
    consumer = _worker_consumer(app)
    await consumer.start()
    try:
        assert consumer._fetcher._fetch_max_wait_ms == expected
        assert consumer._group_id == f"fetch-wait-{expected}"  # still Faust's worker consumer
    finally:
        await consumer.stop()


async def test_faust_would_wait_1500_ms_without_it(broker):
    """The reason for the transport: Faust's own consumer thread hard-codes 1500 ms."""
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    app = create_app(
        settings_from_env(broker, {"ROTATION_APP_ID": "fetch-wait-faust"}), load_universe()
    )
    consumer = AIOKafkaConsumerThread._create_worker_consumer(
        app.consumer._new_consumer_thread(), app.transport
    )
    await consumer.start()
    try:
        assert consumer._fetcher._fetch_max_wait_ms == 1500
    finally:
        await consumer.stop()


def test_the_producer_settings_reach_faust():
    settings = settings_from_env("127.0.0.1:9", {"ROTATION_PRODUCER_LINGER_MS": "20"})
    app = create_app(settings, load_universe())
    assert app.conf.producer_linger == pytest.approx(0.020)
    assert app.conf.producer_max_batch_size >= 256 * 1024


def test_the_worker_compresses_its_output_only_when_told():
    quiet = settings_from_env("127.0.0.1:9", {})
    assert (quiet.compression_type, quiet.worker_compression_type) == ("gzip", None)
    assert create_app(quiet, load_universe()).conf.producer_compression_type is None
    told = settings_from_env("127.0.0.1:9", {"ROTATION_WORKER_COMPRESSION": " GZIP "})
    assert create_app(told, load_universe()).conf.producer_compression_type == "gzip"


async def test_a_consumer_with_every_stream_buffer_full_resumes_when_one_drains(monkeypatch):
    """Faust sleeps a whole second when every partition's stream buffer is full; in a
    backlog that happens over and over. Ours rests until a buffer drains."""
    from faust.types import TP

    import agents.kafka_transport as transport

    monkeypatch.setattr(transport, "RECORDS_WAIT_S", 60.0)  # only the drain can wake it
    app = create_app(
        settings_from_env("127.0.0.1:9", {"ROTATION_APP_ID": "buffers-full"}), load_universe()
    )
    consumer = app.consumer
    assert isinstance(consumer, transport.Consumer)
    # The ask for records goes through the method whose timeout we cap.
    from faust.transport.consumer import Consumer as FaustConsumer

    assert "self._getmany(" in inspect.getsource(FaustConsumer._wait_next_records)
    tp = TP("rotation.bars", 0)
    consumer._set_active_tps({tp})
    consumer.on_buffer_full(tp)  # the only partition's buffer is full: nothing to ask for
    assert not consumer._get_active_partitions()

    waiting = asyncio.create_task(consumer._wait_next_records(1.0))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not waiting.done()  # resting, not spinning

    consumer.on_buffer_drop(tp)
    for _ in range(20):
        if waiting.done():
            break
        await asyncio.sleep(0)
    assert waiting.done(), "still resting after the buffer drained"
    records, active = waiting.result()
    assert records == {} and active == {tp}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ROTATION_FETCH_MAX_WAIT_MS": "fast"}, "ROTATION_FETCH_MAX_WAIT_MS='fast': expected"),
        ({"ROTATION_FETCH_MAX_WAIT_MS": "2.5"}, "expected a number of whole milliseconds"),
        ({"ROTATION_FETCH_MAX_WAIT_MS": "0"}, "from 1 to 60000"),
        ({"ROTATION_FETCH_MAX_WAIT_MS": "600000"}, "from 1 to 60000"),
        ({"ROTATION_PRODUCER_LINGER_MS": "-1"}, "ROTATION_PRODUCER_LINGER_MS=-1.0: expected"),
        ({"ROTATION_PRODUCER_LINGER_MS": "soon"}, "expected a number of milliseconds"),
        ({"ROTATION_WORKER_COMPRESSION": "brotli"}, "ROTATION_WORKER_COMPRESSION='brotli'"),
    ],
)
def test_bad_values_are_clear_errors(env, message):
    with pytest.raises(SettingsError, match=message):
        settings_from_env("127.0.0.1:9", env)


def test_a_bad_value_stops_the_worker_with_one_line(broker):
    env = {**os.environ, "KAFKA_BOOTSTRAP": broker, "ROTATION_FETCH_MAX_WAIT_MS": "soon"}
    done = subprocess.run(
        [sys.executable, "-m", "rotation.cli", "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert lines == [
        "rotation worker: error: ROTATION_FETCH_MAX_WAIT_MS='soon': expected a number of "
        "whole milliseconds"
    ], done.stderr


# The wait grows when the broker does not hand over records it has (FetchWait).


async def _eventually(condition, what: str, timeout: float = 60.0):
    """Poll ``condition`` in the event loop until it is truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.05)
    return result


async def _topic_with_records(bootstrap: str, name: str, count: int) -> None:
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 1, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    try:
        for i in range(count):
            await producer.send_and_wait(name, f"r{i}".encode(), partition=0)
    finally:
        await producer.stop()


async def _consumer(bootstrap: str, topic: str, wait_ms: int):
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=wait_ms,
    )
    await consumer.start()
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek(tp, 0)
    return consumer, tp


def _fetch_waits_sent(consumer) -> list[int]:
    """Record the max wait of every Fetch request the consumer sends from now on."""
    sent: list[int] = []
    send = consumer._client.send

    async def recording_send(node_id, request, *args, **kwargs):
        if getattr(request, "API_KEY", None) == 1:
            sent.append(request._max_wait_ms)
        return await send(node_id, request, *args, **kwargs)

    consumer._client.send = recording_send
    return sent


async def _fill(bootstrap: str, topic: str, batches: int) -> int:
    """``batches`` record batches of one record each in ``topic[0]``; the next offset."""
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    try:
        pending = []
        for i in range(batches):
            batch = producer.create_batch()
            batch.append(key=None, value=b"%d" % i, timestamp=None)
            batch.close()
            pending.append(await producer.send_batch(batch, topic, partition=0))
            if len(pending) >= 500:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return batches


async def test_a_starved_consumer_doubles_its_wait_until_records_arrive(broker):
    """A partition of 8,000 batches takes the broker longer to read than 1 ms: a consumer
    with that wait gets nothing until the wait grows."""
    from streams.fetch_wait import FetchWait

    end = await _fill(broker, "fetch-wait.full", 8000)
    consumer, tp = await _consumer(broker, "fetch-wait.full", 1)
    consumer.seek(tp, end - 10)
    said: list[str] = []
    try:
        sent = _fetch_waits_sent(consumer)
        wait = FetchWait(consumer, maximum_ms=1500, patience=1, say=said.append)
        got: list = []
        deadline = time.monotonic() + 120
        while len(got) < 10:
            assert time.monotonic() < deadline, f"no records; waits said: {said}"
            got += (await consumer.getmany(tp, timeout_ms=300)).get(tp, [])
            await wait.check()
        assert [r.offset for r in got] == list(range(end - 10, end))
        assert wait.wait_ms > 1 and said, "the broker answered at 1 ms: nothing to show"
        assert said[0].startswith("consumer: fetch wait raised from 1 to 2 ms: fetch-wait.full[0]")
        assert wait.wait_ms in sent  # the requests carry the raised wait
        steps = len(said)
        for _ in range(3):  # caught up: the wait stays
            await consumer.getmany(tp, timeout_ms=50)
            await wait.check()
        assert len(said) == steps
    finally:
        await consumer.stop()


def test_the_wait_never_passes_its_maximum():
    from streams.fetch_wait import FetchWait

    class Stuck:
        """A consumer 5 records behind whose position never moves (no broker needed)."""

        class _Fetcher:
            _fetch_max_wait_ms = 10
            _records: dict = {}

        _fetcher = _Fetcher()

        def paused(self):
            return set()

        def assignment(self):
            from aiokafka import TopicPartition

            return {TopicPartition("t", 0)}

        def highwater(self, tp):
            return 5

        async def position(self, tp):
            return 0

    said: list[str] = []
    wait = FetchWait(Stuck(), maximum_ms=25, patience=1, say=said.append)

    async def checks() -> list[bool]:
        return [await wait.check() for _ in range(8)]

    assert asyncio.run(checks()) == [False, True, False, True, False, False, False, False]
    assert wait.wait_ms == 25
    assert [m.split(": ")[1] for m in said] == [
        "fetch wait raised from 10 to 20 ms",
        "fetch wait raised from 20 to 25 ms",
    ]


async def test_a_consumer_that_keeps_up_or_is_paused_keeps_its_wait(broker):
    from streams.fetch_wait import FetchWait

    await _topic_with_records(broker, "fetch-wait.caught-up", 3)
    consumer, tp = await _consumer(broker, "fetch-wait.caught-up", 5)
    try:
        wait = FetchWait(consumer, patience=1, say=pytest.fail)
        got = 0
        while got < 3:
            got += len((await consumer.getmany(tp, timeout_ms=5000)).get(tp, []))
            await wait.check()
        for _ in range(3):
            await consumer.getmany(tp, timeout_ms=20)
            assert not await wait.check()  # at the highwater: nothing to raise
        await _topic_with_records_more(broker, "fetch-wait.caught-up", 2)
        consumer.pause(tp)
        for _ in range(3):
            assert not await wait.check()  # behind, but paused by its owner
        assert wait.wait_ms == 5
    finally:
        await consumer.stop()


async def _topic_with_records_more(bootstrap: str, name: str, count: int) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    try:
        for i in range(count):
            await producer.send_and_wait(name, f"more{i}".encode(), partition=0)
    finally:
        await producer.stop()
