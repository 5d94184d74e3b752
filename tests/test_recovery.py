"""State survives: a worker killed with SIGKILL (or replaced by another) continues with
the same state. The reference is the same ticks run through the pure pipeline in one
process; the streaming run must give the same metrics and signals (duplicates allowed,
they carry the same content)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import threading
import time
import uuid

import pytest
from confluent_kafka import Consumer, TopicPartition
from websockets.asyncio.client import connect

from agents.analytics.pipeline import Pipeline
from agents.snapshot_codec import Snapshot, fingerprint
from agents.snapshot_store import SnapshotStore
from rotation.broker import embedded_broker
from rotation.config import load_universe
from rotation.up import Child
from streams.admin import ensure_topics
from streams.feeds.simulator import Simulator
from streams.partitioning import partitioner
from streams.probe import free_port
from streams.topics import DEFAULT_TOPICS
from tests.helpers import session_ticks, wait_for_log, wait_for_port, wait_until

SEED, DAYS = 4, 24


@pytest.fixture(scope="module")
def reference() -> Pipeline:
    universe = load_universe()
    sim = Simulator(universe, seed=SEED)
    pipeline = Pipeline(universe, partitioner(universe.topics.ticks.partitions))
    for session in sim.sessions(DAYS):
        pipeline.apply_batch(session_ticks(sim.symbols, session, source="sim"))
    assert pipeline.signals, "the reference run should hold signals"
    return pipeline


def read_all(bootstrap: str, topic: str, want: int, timeout: float = 150.0) -> list[dict]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"check-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "broker.address.family": "v4",
        }
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    out: list[dict] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                if len({json.dumps(m, sort_keys=True) for m in out}) >= want:
                    return out
                continue
            assert message.error() is None, message.error()
            out.append(json.loads(message.value()))
    finally:
        consumer.close()
    return out


def run_feed(bootstrap: str, log_dir, started: float) -> Child:
    return Child(
        "feed",
        ["feed", "sim", "--seed", str(SEED), "--days", str(DAYS), "--speed", "60000"],
        {"KAFKA_BOOTSTRAP": bootstrap, "PYTHONUNBUFFERED": "1"},
        log_dir,
        None,
        started,
    )


# Snapshot settings per scenario: "restart" replays from the start (no snapshots), the
# others take them often, so the killed worker has written several.
SNAPSHOTS = {
    "restart": {"EVERY_INTERVALS": "0", "EVERY_SECONDS": "0"},
    "snapshot": {"EVERY_INTERVALS": "15", "EVERY_SECONDS": "0"},
    "takeover": {"EVERY_INTERVALS": "15", "EVERY_SECONDS": "0"},
    "local": {"EVERY_INTERVALS": "15", "EVERY_SECONDS": "0"},
}


def worker(name: str, bootstrap: str, log_dir, started: float, scenario: str) -> Child:
    env = {"KAFKA_BOOTSTRAP": bootstrap, "PYTHONUNBUFFERED": "1"}
    env |= {f"ROTATION__SNAPSHOTS__{k}": v for k, v in SNAPSHOTS[scenario].items()}
    if scenario == "local":  # the same machine's cache, read before the topic
        env["ROTATION__SNAPSHOTS__LOCAL_DIR"] = f'"{log_dir / "snapshots"}"'
    return Child(name, ["worker"], env, log_dir, None, started)


def damage_the_newest_rotation_snapshot(bootstrap: str) -> int:
    """Write a snapshot of stage two whose body does not decompress, as the newest one
    (it names the one before as its previous); returns its input offset."""
    return asyncio.run(damage(bootstrap, fingerprint(load_universe(), 4)))


async def damage(bootstrap: str, print_: str) -> int:
    """:func:`damage_the_newest_rotation_snapshot` in one event loop."""
    store = SnapshotStore({"bootstrap_servers": bootstrap}, "rotation", 4)
    try:
        good = None
        async for snapshot in store.from_topic("rotation", 0):
            good = snapshot
            break
        assert good is not None, "the killed worker should have written a snapshot of stage two"
        bad = Snapshot.of("rotation", 0, good.offset, print_, b"damaged on purpose", 0)
        await store.write(bad)
    finally:
        await store.close()
    assert bad.previous >= 0, "the damaged snapshot points back to the good one"
    return bad.offset


def wait_for_metrics(bootstrap: str, count: int) -> None:
    got = {
        json.dumps(m, sort_keys=True)
        for m in read_all(bootstrap, DEFAULT_TOPICS.metrics.name, count, 120)
    }
    assert len(got) >= count, f"only {len(got)} of {count} metrics snapshots after 120 s"


def compare(bootstrap: str, reference: Pipeline) -> None:
    expected_metrics = {
        (s.subject, s.ts): json.loads(__import__("msgspec").json.encode(s))
        for s in reference.snapshots
    }
    metrics = read_all(bootstrap, DEFAULT_TOPICS.metrics.name, len(expected_metrics))
    got = {(m["subject"], m["ts"]): m for m in metrics}
    missing = sorted(expected_metrics.keys() - got.keys())
    assert not missing, f"{len(missing)} of {len(expected_metrics)} missing, first {missing[:3]}"
    assert got.keys() == expected_metrics.keys()
    for key, snapshot in expected_metrics.items():
        assert got[key] == snapshot, key
    # Every duplicate is an exact copy.
    for m in metrics:
        assert m == got[(m["subject"], m["ts"])]
    signals = read_all(bootstrap, DEFAULT_TOPICS.signals.name, len(reference.signals))
    assert {s["id"] for s in signals} == {s.id for s in reference.signals}


class SignalWatcher:
    """A websocket subscriber of the gateway's signals, in a thread, for the whole run."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ids: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()

    async def _run(self) -> None:
        async with connect(self.url) as ws:
            await ws.send(json.dumps({"op": "subscribe", "channels": ["signals"]}))
            while not self._stop.is_set():
                try:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                except TimeoutError:
                    continue
                if message.get("type") == "signal":
                    self.ids.append(message["data"]["id"])

    def stop(self) -> list[str]:
        self._stop.set()
        self._thread.join(10)
        return self.ids


@pytest.mark.parametrize("scenario", ["restart", "snapshot", "local", "takeover"])
def test_killed_worker_loses_no_state(tmp_path, reference, scenario):
    started = time.monotonic()
    with embedded_broker(log_path=tmp_path / "broker.log") as (bootstrap, _):
        asyncio.run(ensure_topics(bootstrap))
        port = free_port()
        env = {"KAFKA_BOOTSTRAP": bootstrap, "PYTHONUNBUFFERED": "1"}
        gateway = Child("gateway", ["gateway", "--port", str(port)], env, tmp_path, None, started)
        wait_for_port(port)
        watcher = SignalWatcher(f"ws://127.0.0.1:{port}/ws")
        children = [gateway, worker("worker-a", bootstrap, tmp_path, started, scenario)]
        if scenario == "takeover":
            children.append(worker("worker-b", bootstrap, tmp_path, started, scenario))
            # Both in the group before any tick, so the partitions are split between them.
            wait_until(
                lambda: all(c.ready_after is not None for c in children[1:]),
                "both workers to be ready",
                120,
                log=tmp_path / "worker-b.log",
            )
        try:
            feed = run_feed(bootstrap, tmp_path, started)
            children.append(feed)
            # The feed is held after a third of the days, so however slow the machine,
            # the worker is killed with state built and ticks still to come.
            wait_for_log(tmp_path / "feed.log", f"session {DAYS // 3} ", 120)
            feed.proc.send_signal(signal.SIGSTOP)
            wait_for_metrics(bootstrap, len(reference.snapshots) // 4)
            children[1].proc.send_signal(signal.SIGKILL)
            children[1].proc.wait()
            damaged = None
            if scenario == "snapshot":
                damaged = damage_the_newest_rotation_snapshot(bootstrap)
            if scenario != "takeover":
                children.append(worker("worker-c", bootstrap, tmp_path, started, scenario))
            feed.proc.send_signal(signal.SIGCONT)
            compare(bootstrap, reference)
            # The subscriber saw every signal, each id once, across the crash.
            with contextlib.suppress(TimeoutError):  # the assertion below shows what is missing
                wait_until(
                    lambda: len(set(watcher.ids)) >= len(reference.signals),
                    "every signal at the websocket subscriber",
                    60,
                )
            seen = watcher.stop()
            assert sorted(seen) == sorted({s.id for s in reference.signals})
            for child in children[2:]:
                assert child.failed() is None or child.name == "feed", child.failed()
        finally:
            for child in reversed(children):
                child.proc.send_signal(signal.SIGCONT)  # a held feed must see its SIGTERM
                child.stop()
    logs = "".join(p.read_text() for p in tmp_path.glob("worker-*.log"))
    # After a restart the new worker always rebuilds. In a takeover, Tansu decides which
    # worker held the partitions when the kill came; the figures above are the check.
    if scenario == "restart":
        assert "state rebuilt" in logs and "from the snapshot of offset" not in logs
    if scenario == "snapshot":
        restarted = (tmp_path / "worker-c.log").read_text()
        assert (
            f"snapshot of rotation partition 0 at input offset {damaged} skipped: "
            "the body does not decompress"
        ) in restarted
        assert "rotation state rebuilt from the snapshot of offset" in restarted
        assert "state rebuilt from the snapshot of offset" in restarted.replace(
            "rotation state rebuilt", ""
        )
    if scenario == "local":
        restarted = (tmp_path / "worker-c.log").read_text()
        cache = tmp_path / "snapshots" / "rotation-snapshots"
        assert sorted(p.name for p in cache.iterdir()) == [
            *(f"bars-{p}.snapshot" for p in range(4)),
            "rotation-0.snapshot",
        ]
        assert "bar messages (local file)" in restarted
        assert restarted.count("tick messages (local file)") == 4
    print(logs[-3000:], file=sys.stderr)
