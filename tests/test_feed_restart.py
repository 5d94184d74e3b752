"""A feed killed mid-stream and restarted with replay counts no tick twice: the resumed
replay may send again what was in flight, and the bars recognise those ticks (exact
duplicates are dropped, ticks of closed bars are late), so the metrics equal an offline
replay of the same file."""

from __future__ import annotations

import asyncio
import csv
import json
import signal
import subprocess
import sys
import time

from rotation.broker import embedded_broker
from rotation.config import load_universe
from rotation.up import Child
from streams.admin import ensure_topics
from streams.feeds.simulator import Simulator
from streams.topics import DEFAULT_TOPICS
from tests.helpers import wait_until
from tests.test_recovery import read_all

DAYS = 6


def write_ticks(path) -> int:
    universe = load_universe()
    sim = Simulator(universe, seed=9)
    rows = 0
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["symbol", "timestamp", "price", "size"])
        for session in sim.sessions(DAYS):
            for ts, i, price, size in zip(
                session.ts.tolist(),
                session.symbol.tolist(),
                session.price.tolist(),
                session.size.tolist(),
                strict=True,
            ):
                writer.writerow([sim.symbols[i], ts, price, size])
                rows += 1
    return rows


def read_raw(bootstrap: str, topic: str, first_within: float = 60.0) -> list[bytes]:
    """Every message of a one-partition topic: read until the log stays quiet for 3 s
    after its first message (which may take ``first_within`` seconds on a busy machine)."""
    import uuid

    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"check-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "broker.address.family": "v4",
        }
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    values: list[bytes] = []
    quiet, deadline = 0, time.monotonic() + first_within
    try:
        while quiet < 6 and (values or time.monotonic() < deadline):
            message = consumer.poll(0.5)
            if message is None:
                quiet += 1 if values else 0
                continue
            assert message.error() is None, message.error()
            quiet = 0
            values.append(message.value())
    finally:
        consumer.close()
    return values


def replay(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "rotation.cli", "replay", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def test_feed_killed_and_resumed_counts_no_tick_twice(tmp_path):
    import os

    ticks = tmp_path / "ticks.csv"
    rows = write_ticks(ticks)
    offline = tmp_path / "offline.jsonl"
    done = replay(str(ticks), "--out", str(offline), "--quiet")
    assert done.wait(120) == 0, done.stdout.read()
    expected = {
        (line["data"]["subject"], line["data"]["ts"]): line["data"]
        for line in map(json.loads, offline.read_text().splitlines())
        if line["type"] == "metrics"
    }
    last_end = max(ts for _, ts in expected)

    with embedded_broker(log_path=tmp_path / "broker.log") as (bootstrap, _):
        asyncio.run(ensure_topics(bootstrap))
        env = {**os.environ, "KAFKA_BOOTSTRAP": bootstrap, "PYTHONUNBUFFERED": "1"}
        worker = Child("worker", ["worker"], env, tmp_path, None, time.monotonic())
        checkpoint = tmp_path / "replay.ckpt"
        common = ["--kafka", "--checkpoint", str(checkpoint), "--quiet"]
        try:
            # About 16 wall seconds for the whole file (event time, nights included);
            # killed once a quarter is sent, however long its start took.
            first = replay(str(ticks), *common, "--speed", "40000", env=env)

            def progress() -> bool:
                assert first.poll() is None, f"the replay ended early: {first.stdout.read()}"
                return (
                    checkpoint.exists()
                    and json.loads(checkpoint.read_text())["next_row"] >= rows // 4
                )

            wait_until(progress, f"the replay to pass row {rows // 4}", 120)
            first.send_signal(signal.SIGKILL)
            first.wait(30)
            state = json.loads(checkpoint.read_text())
            reached = state["next_row"]
            assert rows // 4 <= reached < rows and not state["done"], state
            # Restart from well before the crash point, as a feed that lost its place
            # would: thousands of ticks are sent a second time.
            again = max(0, reached - 4000)
            checkpoint.unlink()
            second = replay(str(ticks), *common, "--start-row", str(again), env=env)
            assert second.wait(180) == 0, second.stdout.read()
            # Every interval but the still-open last one reaches rotation.metrics.
            want = len([k for k in expected if k[1] < last_end])
            metrics = read_all(bootstrap, DEFAULT_TOPICS.metrics.name, want)
            letters = read_raw(bootstrap, DEFAULT_TOPICS.deadletter.name)
        finally:
            worker.stop()
    got = {(m["subject"], m["ts"]): m for m in metrics}
    closed = {k: v for k, v in expected.items() if k[1] < last_end}
    missing = closed.keys() - got.keys()
    assert not missing, f"{len(missing)} snapshots missing"
    for key, snapshot in closed.items():
        assert got[key] == snapshot, key
    reasons = [json.loads(v)["reason"] for v in letters]
    assert reasons.count("duplicate") + reasons.count("late") >= 1000, reasons[:5]
