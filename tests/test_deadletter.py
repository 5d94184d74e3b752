"""Bad input on quotes.ticks against the real broker and a real worker: each kind lands on
rotation.deadletter with its reason, source and original bytes, good ticks around it
still make bars, and `rotation deadletter` shows it all.

The worker runs with ROTATION__TICKS__MAX_AGE_SECONDS set (30 days), which also shows
an environment override reaching a worker."""

from __future__ import annotations

import asyncio
import base64
import json
import queue
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from rotation import processes
from rotation.broker import embedded_broker
from rotation.config import load_universe
from rotation.up import Child
from streams.admin import ensure_topics
from streams.codec import decode_bar_frame, encode
from streams.partitioning import partition_for
from streams.records import Tick
from streams.topics import DEFAULT_TOPICS
from streams.units import MICROS
from tests.helpers import assert_valid

WAIT = 120.0  # seconds: generous for a loaded 2-core machine; never a timed assertion
BAR_US = 900 * MICROS  # the shipped universe's bars
DAY_US = 86_400 * MICROS
PRODUCER = "test-producer"  # the `source` header of the messages sent here

NOW = time.time_ns() // 1000
UNIVERSE = load_universe()
# The last XNYS session (of the shipped [calendar]) that is over: good ticks fall in it,
# within max_age_seconds (30 days) of now.
SESSION = int(np.searchsorted(UNIVERSE.calendar.close, NOW, side="right")) - 1
OPEN, CLOSE = int(UNIVERSE.calendar.open[SESSION]), int(UNIVERSE.calendar.close[SESSION])
T0 = OPEN + 2 * BAR_US + 60 * MICROS  # 60 s into the session's third bar
BAR0 = T0 - T0 % BAR_US


def tick(ts: int, price: float, source: str, symbol: str = "IWM", size: float = 100.0) -> bytes:
    return encode(Tick(symbol=symbol, ts=ts, price=price, size=size, source=source))


def raw(text: str) -> bytes:
    return text.replace("T0", str(T0)).encode()


@dataclass(frozen=True)
class Bad:
    """One bad input: what is sent, and the dead letter it must give."""

    name: str
    value: bytes | None
    reason: str
    source: str
    original: bytes | None = None  # default: the message itself


PARTITION = partition_for("IWM", DEFAULT_TOPICS.ticks.partitions)
ELSEWHERE = next(
    s for s in UNIVERSE.symbols if partition_for(s, DEFAULT_TOPICS.ticks.partitions) != PARTITION
)

GOOD_A = tick(T0, 300.0, "test-good")
FRAME_GOOD = tick(T0 + 10 * MICROS, 301.0, "frame", size=50.0)
FRAME_BAD = raw('{"symbol": "IWM", "ts": T0, "price": -1, "source": "frame-bad"}')
FRAME = b'{"v": 1, "ticks": [' + FRAME_GOOD + b", " + FRAME_BAD + b"]}"

BAD = [
    Bad("not JSON", b"\x00\xffnot json at all", "malformed", PRODUCER),
    Bad("empty message", None, "malformed", PRODUCER, b""),
    Bad("truncated JSON", raw('{"symbol": "IWM", "ts": T0, "pri'), "malformed", PRODUCER),
    Bad("missing price", raw('{"symbol": "IWM", "ts": T0, "source": "t1"}'), "invalid", "t1"),
    Bad("missing price, no source", raw('{"symbol": "IWM", "ts": T0}'), "invalid", PRODUCER),
    Bad(
        "wrong type",
        raw('{"symbol": "IWM", "ts": "T0", "price": 3, "source": "t2"}'),
        "invalid",
        "t2",
    ),
    Bad(
        "price NaN",
        raw('{"symbol": "IWM", "ts": T0, "price": NaN, "source": "t3"}'),
        "invalid",
        "t3",
    ),
    Bad(
        "price null",
        raw('{"symbol": "IWM", "ts": T0, "price": null, "source": "t4"}'),
        "invalid",
        "t4",
    ),
    Bad(
        "price inf",
        raw('{"symbol": "IWM", "ts": T0, "price": 1e999, "source": "t5"}'),
        "invalid",
        "t5",
    ),
    Bad(
        "price < 0",
        raw('{"symbol": "IWM", "ts": T0, "price": -5, "source": "t6"}'),
        "invalid",
        "t6",
    ),
    Bad("price 0", raw('{"symbol": "IWM", "ts": T0, "price": 0, "source": "t7"}'), "invalid", "t7"),
    Bad(
        "size < 0",
        raw('{"symbol": "IWM", "ts": T0, "price": 3, "size": -1, "source": "t8"}'),
        "invalid",
        "t8",
    ),
    Bad(
        "lower-case symbol",
        raw('{"symbol": "iwm", "ts": T0, "price": 3, "source": "t9"}'),
        "invalid",
        "t9",
    ),
    Bad("empty frame", b'{"ticks": []}', "invalid", PRODUCER),
    Bad("not an object", b"[1, 2, 3]", "invalid", PRODUCER),
    Bad("unknown symbol", tick(T0, 5.0, "t10", symbol="ZZZZ"), "unknown_symbol", "t10"),
    Bad("wrong partition", tick(T0, 5.0, "t11", symbol=ELSEWHERE), "wrong_partition", "t11"),
    Bad("far future", tick(NOW + 3650 * DAY_US, 300.0, "t12"), "future", "t12"),
    Bad("nanoseconds", tick(T0 * 1000, 300.0, "t13"), "future", "t13"),
    Bad("far past", tick(NOW - 365 * DAY_US, 300.0, "t14"), "past", "t14"),
    Bad("duplicate", GOOD_A, "duplicate", "test-good"),
    Bad("after the close", tick(CLOSE + 3600 * MICROS, 300.0, "t16"), "off_session", "t16"),
    Bad("bad tick of a frame", FRAME, "invalid", "frame-bad", FRAME_BAD),
]
LATE = Bad("late", tick(T0 - BAR_US, 299.0, "t15"), "late", "t15")
EVERY_BAD = [*BAD, LATE]


@dataclass
class Run:
    bootstrap: str
    worker: Child
    offsets: dict[str, int]  # bad input name -> its offset on quotes.ticks
    letters: dict[str, dict]  # bad input name -> its dead letter (JSON)
    bars: list  # BarFrames of PARTITION on rotation.bars


def consumer(bootstrap: str, topic: str, partitions: int) -> Consumer:
    """A consumer from a different Kafka client library than the project's (librdkafka)."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "broker.address.family": "v4",
        }
    )
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    return c


def poll_until(c: Consumer, done) -> list[bytes]:
    values: list[bytes] = []
    deadline = time.monotonic() + WAIT
    while not done(values):
        assert time.monotonic() < deadline, f"gave up after {WAIT} s with {len(values)} records"
        message = c.poll(0.5)
        if message is not None:
            assert message.error() is None, message.error()
            values.append(message.value())
    return values


def send(producer: Producer, value: bytes | None, headers: bool = True) -> int:
    """Produce one message to the IWM partition; its offset."""
    delivered: list[int] = []
    producer.produce(
        DEFAULT_TOPICS.ticks.name,
        value=value,
        partition=PARTITION,
        headers={"source": PRODUCER} if headers else None,
        on_delivery=lambda err, msg: delivered.append(-1 if err else msg.offset()),
    )
    producer.flush(30)
    assert delivered and delivered[0] >= 0
    return delivered[0]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    log_dir = tmp_path_factory.mktemp("deadletter")
    with embedded_broker(log_path=log_dir / "broker.log") as (bootstrap, _proc):
        asyncio.run(ensure_topics(bootstrap))
        env = {
            "KAFKA_BOOTSTRAP": bootstrap,
            "PYTHONUNBUFFERED": "1",
            "ROTATION__TICKS__MAX_AGE_SECONDS": str(30 * 86_400),
        }
        worker = Child("worker", ["worker"], env, log_dir, None, time.monotonic())
        try:
            producer = Producer({"bootstrap.servers": bootstrap, "broker.address.family": "v4"})
            offsets = {"good A": send(producer, GOOD_A)}
            for bad in BAD:
                offsets[bad.name] = send(producer, bad.value)
            offsets["good B"] = send(producer, tick(T0 + 2 * BAR_US, 302.0, "test-good"))
            offsets[LATE.name] = send(producer, LATE.value)
            offsets["good C"] = send(producer, tick(T0 + 4 * BAR_US, 303.0, "test-good"))

            letters: dict[str, dict] = {}
            by_original = {
                bad.original if bad.original is not None else bad.value: bad for bad in EVERY_BAD
            }

            def all_found(values: list[bytes]) -> bool:
                for value in values[len(seen) :]:
                    seen.append(value)
                    letter = json.loads(value)
                    bad = by_original.get(base64.b64decode(letter["original"]))
                    assert bad is not None, f"an unexpected dead letter: {letter}"
                    assert bad.name not in letters, f"{bad.name} dead-lettered twice"
                    letters[bad.name] = letter
                return len(letters) == len(EVERY_BAD)

            seen: list[bytes] = []
            c = consumer(
                bootstrap, DEFAULT_TOPICS.deadletter.name, DEFAULT_TOPICS.deadletter.partitions
            )
            try:
                poll_until(c, all_found)
            finally:
                c.close()

            frames: list = []

            def two_bars(values: list[bytes]) -> bool:
                frames[:] = [decode_bar_frame(v) for v in values]
                closed = [b for f in frames if f.partition == PARTITION for b in f.bars()]
                return len({b.start for b in closed if b.symbol == "IWM"}) >= 2

            c = consumer(bootstrap, DEFAULT_TOPICS.bars.name, DEFAULT_TOPICS.bars.partitions)
            try:
                poll_until(c, two_bars)
            finally:
                c.close()
            yield Run(bootstrap, worker, offsets, letters, frames)
        finally:
            worker.stop()


@pytest.mark.parametrize("bad", EVERY_BAD, ids=[b.name for b in EVERY_BAD])
def test_each_bad_input_is_dead_lettered_with_reason_source_and_original_bytes(run, bad):
    letter = run.letters[bad.name]
    assert_valid("topic.rotation.deadletter.json", letter)
    assert letter["reason"] == bad.reason
    assert letter["source"] == bad.source
    expected = bad.original if bad.original is not None else bad.value
    assert base64.b64decode(letter["original"]) == expected
    assert (letter["topic"], letter["partition"]) == (DEFAULT_TOPICS.ticks.name, PARTITION)
    assert letter["offset"] == run.offsets[bad.name]
    assert letter["detail"]


def test_the_details_say_what_was_wrong(run):
    assert "price" in run.letters["missing price"]["detail"]
    assert "NaN" in run.letters["price NaN"]["detail"]
    assert "tick 2 of 2" in run.letters["bad tick of a frame"]["detail"]
    assert "ZZZZ" in run.letters["unknown symbol"]["detail"]
    assert (
        f"belongs to partition {partition_for(ELSEWHERE, DEFAULT_TOPICS.ticks.partitions)}"
        in run.letters["wrong partition"]["detail"]
    )
    assert "max_ahead_seconds" in run.letters["far future"]["detail"]
    assert "max_age_seconds" in run.letters["far past"]["detail"]
    assert "watermark" in run.letters["late"]["detail"]
    assert "outside every XNYS session" in run.letters["after the close"]["detail"]


def test_good_ticks_around_the_bad_ones_still_make_bars(run):
    bars = {
        b.start: b
        for f in run.bars
        if f.partition == PARTITION
        for b in f.bars()
        if b.symbol == "IWM"
    }
    first = bars[BAR0]  # tick A and the good tick of the mixed frame; nothing bad
    assert (first.open, first.high, first.low, first.close) == (300.0, 301.0, 300.0, 301.0)
    assert (first.ticks, first.volume) == (2, 150.0)
    second = bars[BAR0 + 2 * BAR_US]  # tick B, closed by tick C sent after every bad input
    assert (second.open, second.close, second.ticks) == (302.0, 302.0, 1)
    assert run.worker.failed() is None


def rotation(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        processes.rotation_command(*args), capture_output=True, text=True, timeout=WAIT
    )


def test_rotation_deadletter_json_counts_every_reason(run):
    done = rotation("deadletter", "--bootstrap", run.bootstrap, "--json", "--limit", "100")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["counts"] == dict(Counter(b.reason for b in EVERY_BAD))
    assert report["total"] == len(EVERY_BAD)
    latest = report["latest"]
    assert len(latest) == len(EVERY_BAD)
    assert latest[0]["reason"] == "late"  # newest first
    entry = next(e for e in latest if e["source"] == "t10")
    assert entry["reason"] == "unknown_symbol"
    assert (entry["topic"], entry["partition"]) == (DEFAULT_TOPICS.ticks.name, PARTITION)
    assert entry["offset"] == run.offsets["unknown symbol"]
    assert '"ZZZZ"' in entry["preview"]


def test_rotation_deadletter_table_filters_by_reason_and_previews_safely(run):
    done = rotation("deadletter", "--bootstrap", run.bootstrap, "--reason", "malformed")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"Dead letters on {DEFAULT_TOPICS.deadletter.name}: {len(EVERY_BAD)} in all" in out
    for reason in {b.reason for b in EVERY_BAD}:
        assert reason in out  # every reason is counted, whatever the filter
    latest = out.split("Latest", 1)[1]
    assert "malformed" in latest and "unknown_symbol" not in latest
    assert f"{DEFAULT_TOPICS.ticks.name}[{PARTITION}]@{run.offsets['not JSON']}" in latest
    assert "\\x00\\xffnot json at all" in latest  # bytes escaped, never raw control codes
    assert "\x00" not in out
    assert "(empty)" in latest


def test_rotation_deadletter_follow_prints_new_entries(run):
    proc = subprocess.Popen(
        processes.rotation_command(
            "deadletter", "--bootstrap", run.bootstrap, "--follow", "--json", "--limit", "0"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True)
    reader.start()
    try:
        summary = json.loads(lines.get(timeout=WAIT))
        assert summary["type"] == "summary" and summary["total"] >= len(EVERY_BAD)
        producer = Producer({"bootstrap.servers": run.bootstrap, "broker.address.family": "v4"})
        offset = send(producer, b"followed garbage")
        while True:
            entry = json.loads(lines.get(timeout=WAIT))
            if entry["type"] == "entry" and entry["offset"] == offset:
                break
        assert entry["reason"] == "malformed" and entry["preview"] == "followed garbage"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    assert run.worker.failed() is None
