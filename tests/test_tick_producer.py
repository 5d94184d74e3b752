"""The one producer of tick frames, without a broker: frames per partition, ticks counted
as sent only once the broker acknowledged every frame, and a failed write named."""

from __future__ import annotations

import asyncio
import dataclasses
import re

import pytest
from aiokafka.errors import KafkaTimeoutError

from agents.analytics.tick_checks import decode_message
from streams.codec import frames_for
from streams.partitioning import partition_for
from streams.records import Tick
from streams.tick_producer import TickProducer, TicksNotWritten
from streams.topics import DEFAULT_TOPICS

TOPIC = dataclasses.replace(DEFAULT_TOPICS.ticks, name="test.ticks", partitions=4)
SYMBOLS = ["SPY", "QQQ", "IWM", "MSFT", "AAPL", "NVDA", "XLE", "XLF"]


class Acknowledged:
    """What the broker answers for a frame (the fields the callers read)."""

    def __init__(self, partition: int, offset: int) -> None:
        self.partition, self.offset = partition, offset


class Broker:
    """Stands in for the aiokafka producer: holds every frame until told to answer."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int, bytes]] = []
        self.answers: list[asyncio.Future[Acknowledged]] = []

    async def send(self, topic: str, value: bytes, partition: int) -> asyncio.Future:
        self.sent.append((topic, partition, value))
        future: asyncio.Future[Acknowledged] = asyncio.get_running_loop().create_future()
        self.answers.append(future)
        return future


async def until(condition, what: str) -> None:
    """Let the loop run until ``condition()`` holds."""
    async with asyncio.timeout(10):
        while not condition():
            await asyncio.sleep(0)
    assert condition(), what


def ticks(n: int) -> list[Tick]:
    return [Tick(SYMBOLS[i % len(SYMBOLS)], 1_000_000 * (i + 1), 10.0 + i) for i in range(n)]


def producer(broker: Broker, max_ticks: int = 3) -> TickProducer:
    out = TickProducer("127.0.0.1:1", topic=TOPIC, max_ticks=max_ticks)
    out._producer = broker  # type: ignore[assignment]  # a stand-in without a broker
    return out


async def test_ticks_count_as_sent_only_once_every_frame_is_acknowledged() -> None:
    broker, batch = Broker(), ticks(20)
    out = producer(broker)
    expected = frames_for(batch, 3, {t.symbol: partition_for(t.symbol, 4) for t in batch})
    sending = asyncio.ensure_future(out.send(batch))
    await until(lambda: len(broker.sent) == len(expected), "every frame handed over")
    assert [(p, data) for _, p, data in broker.sent] == expected
    assert {topic for topic, _, _ in broker.sent} == {"test.ticks"}
    assert all(len(decode_message(data).ticks) <= 3 for _, _, data in broker.sent)
    for i, answer in enumerate(broker.answers[:-1]):
        answer.set_result(Acknowledged(broker.sent[i][1], i))
    await until(lambda: all(a.done() for a in broker.answers[:-1]), "the answers delivered")
    assert not sending.done() and out.ticks_sent == 0  # one frame still unacknowledged
    broker.answers[-1].set_result(Acknowledged(broker.sent[-1][1], 99))
    acknowledged = await sending
    assert len(acknowledged) == len(expected)
    assert out.ticks_sent == 20 and out.frames_sent == len(expected)
    assert await out.send([]) == [] and len(broker.sent) == len(expected)


async def test_a_frame_not_acknowledged_names_the_ticks_not_written() -> None:
    broker = Broker()
    out = producer(broker, max_ticks=2000)
    sending = asyncio.ensure_future(out.send(ticks(3)))
    await until(lambda: broker.answers, "a frame handed over")
    for answer in broker.answers[1:]:
        answer.set_result(Acknowledged(0, 0))
    broker.answers[0].set_exception(KafkaTimeoutError())
    with pytest.raises(
        TicksNotWritten, match=re.escape("test.ticks at 127.0.0.1:1 failed")
    ) as failed:
        await sending
    assert "3 ticks with event times 1970-01-01T00:00:01" in str(failed.value)
    assert "00:00:03" in str(failed.value) and "were not written" in str(failed.value)
    assert out.ticks_sent == 0 and out.frames_sent == 0


async def test_encoded_frames_go_to_their_partitions_with_the_same_guarantee() -> None:
    broker = Broker()
    out = producer(broker)
    frames = [(2, b'{"ticks":[]}'), (0, b'{"ticks":[]}')]
    sending = asyncio.ensure_future(out.send_frames(frames, 0))
    await until(lambda: len(broker.answers) == 2, "both frames handed over")
    assert [(p, data) for _, p, data in broker.sent] == frames
    broker.answers[0].set_exception(KafkaTimeoutError())
    broker.answers[1].set_result(Acknowledged(0, 0))
    with pytest.raises(TicksNotWritten, match="2 frames of 0 ticks were not written"):
        await sending
