"""The verdicts of the chaos run: the offline run of the same input, the comparisons, the
memory slopes and the one-line reasons for every failed check.

The input is what is actually on ``quotes.ticks`` at the end (copies a restarted feed
sent again included), read per partition in offset order and put through the checks
and the analytics the bar stage uses (:func:`decode_message`, :class:`TickGate`,
:class:`Pipeline`) with the same produce timestamps: an uninterrupted run of the same
input. Partitions are interleaved by produce time; each stays in offset order, which is
all the bar stage depends on, and the interval merger closes an interval only when every
partition is past it, whatever the interleaving.
"""

from __future__ import annotations

import heapq
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
import numpy as np
from confluent_kafka import Consumer, TopicPartition

from agents.analytics.pipeline import Pipeline
from agents.analytics.tick_checks import TickGate, decode_message
from agents.analytics.universe import Universe
from agents.bar_agent import producer_of
from agents.recovery import produced_at_us
from benchmarks.chaos_observers import KafkaObserver, WebsocketLog
from streams.partitioning import partitioner
from streams.topics import DEFAULT_TOPICS

GROWTH_MB_PER_MIN = 5.0
"""A process kind whose RSS rises faster than this over the run is flagged."""
JUDGE_MEMORY_AFTER_S = 600.0
"""Runs shorter than this report the slopes but do not fail on them (warm-up dominates)."""
WARMUP_S = 30.0
"""RSS samples of a process's first seconds (imports, state rebuild) are left out."""


@dataclass
class Expected:
    """The offline run's outputs."""

    metrics: dict[tuple[str, int], dict[str, Any]]
    signal_ids: set[str]
    tick_messages: int


def read_ticks(bootstrap: str, timeout: float = 300.0) -> dict[int, list[tuple[int, int, Any]]]:
    """Every message on ``quotes.ticks``: per partition, (timestamp ms, offset, message)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"chaos-ticks-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "broker.address.family": "v4",
            "log_level": 3,
        }
    )
    spec = DEFAULT_TOPICS.ticks
    try:
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(spec.name, p), timeout=30)[1]
            for p in range(spec.partitions)
        }
        consumer.assign([TopicPartition(spec.name, p, 0) for p in range(spec.partitions)])
        out: dict[int, list[tuple[int, int, Any]]] = {p: [] for p in ends}
        deadline = time.monotonic() + timeout
        while any(len(out[p]) < end for p, end in ends.items()):
            if time.monotonic() > deadline:
                got = {p: len(v) for p, v in out.items()}
                raise TimeoutError(f"read {got} of {ends} tick messages in {timeout:.0f} s")
            for message in consumer.consume(10_000, 0.5):
                if message.error() is None:
                    partition, offset = message.partition() or 0, message.offset() or 0
                    out[partition].append((message.timestamp()[1], offset, message))
    finally:
        consumer.close()
    return out


def read_topic(bootstrap: str, topic: str, timeout: float = 120.0) -> list[bytes]:
    """Every message of a one-partition topic, from offset 0 to its end when called."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"chaos-read-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "broker.address.family": "v4",
            "log_level": 3,
        }
    )
    try:
        end = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=30)[1]
        consumer.assign([TopicPartition(topic, 0, 0)])
        values: list[bytes] = []
        deadline = time.monotonic() + timeout
        while len(values) < end and time.monotonic() < deadline:
            for message in consumer.consume(10_000, 0.5):
                if message.error() is None:
                    values.append(message.value() or b"")
    finally:
        consumer.close()
    return values


def offline_run(universe: Universe, ticks: dict[int, list[tuple[int, int, Any]]]) -> Expected:
    """The analytics over ``ticks`` in one process, as an uninterrupted worker would."""
    partition_of = partitioner(DEFAULT_TOPICS.ticks.partitions)
    pipeline = Pipeline(universe, partition_of)
    gates = {p: TickGate(p, partition_of, universe.symbols, universe.ticks) for p in sorted(ticks)}

    def stream(p: int) -> Iterator[tuple[int, int, int, Any]]:
        for ts, offset, message in ticks[p]:
            yield ts, p, offset, message

    count = 0
    for ts, p, _offset, message in heapq.merge(*(stream(p) for p in sorted(ticks))):
        decoded = decode_message(message.value(), producer_of(message.headers()))
        kept, _refused = gates[p].check(decoded, produced_at_us(ts))
        pipeline.apply(p, kept)
        count += 1
    metrics = {(s.subject, s.ts): json.loads(msgspec.json.encode(s)) for s in pipeline.snapshots}
    return Expected(metrics, {s.id for s in pipeline.signals}, count)


@dataclass
class Verdict:
    """Counts of the comparisons and one line per failed check."""

    metrics_checked: int = 0
    signals_checked: int = 0
    mismatches: int = 0
    details: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    examples: list[dict[str, Any]] = field(default_factory=list)
    """The first differing snapshots: subject, ts and each differing field's
    (offline, streamed) values."""


def compare(expected: Expected, kafka: KafkaObserver, websocket: WebsocketLog) -> Verdict:
    """Every metric equal to the offline run's; signals exactly once on the websocket and
    at least once on Kafka."""
    v = Verdict()
    got = kafka.metrics
    missing = expected.metrics.keys() - got.keys()
    extra = got.keys() - expected.metrics.keys()
    different = [k for k in expected.metrics.keys() & got.keys() if got[k] != expected.metrics[k]]
    want = expected.signal_ids
    kafka_ids = set(kafka.signal_ids)
    ws_ids = set(websocket.signal_ids)
    ws_twice = [i for i, n in websocket.signal_ids.items() if n > 1]
    v.details = {
        "metrics_missing": len(missing),
        "metrics_extra": len(extra),
        "metrics_different": len(different),
        "metrics_differing_copies": len(kafka.differing_copies),
        "kafka_signals_missing": len(want - kafka_ids),
        "kafka_signals_extra": len(kafka_ids - want),
        "websocket_signals_missing": len(want - ws_ids),
        "websocket_signals_extra": len(ws_ids - want),
        "websocket_signals_repeated": len(ws_twice),
        "websocket_untold_gaps": len(websocket.untold_gaps),
    }
    v.mismatches = sum(v.details.values())
    v.metrics_checked = len(expected.metrics) + len(extra)
    v.signals_checked = len(want | kafka_ids | ws_ids)
    if missing:
        v.failures.append(f"{len(missing)} metrics snapshots missing, e.g. {min(missing)}")
    if extra:
        v.failures.append(
            f"{len(extra)} metrics snapshots not in the offline run, e.g. {min(extra)}"
        )
    if different:
        v.failures.append(f"{len(different)} metrics snapshots differ, e.g. {min(different)}")
        for key in sorted(different)[:5]:
            want_fields, got_fields = expected.metrics[key], got[key]
            v.examples.append(
                {
                    "subject": key[0],
                    "ts": key[1],
                    "fields": {
                        name: [want_fields.get(name), got_fields.get(name)]
                        for name in sorted(want_fields.keys() | got_fields.keys())
                        if want_fields.get(name) != got_fields.get(name)
                    },
                }
            )
    if kafka.differing_copies:
        v.failures.append(
            f"{len(kafka.differing_copies)} metrics copies differ from the first, "
            f"e.g. {kafka.differing_copies[0]}"
        )
    if want - kafka_ids:
        v.failures.append(f"Kafka consumer missed {len(want - kafka_ids)} signal ids")
    if kafka_ids - want:
        v.failures.append(f"{len(kafka_ids - want)} signal ids on Kafka not in the offline run")
    if want - ws_ids:
        v.failures.append(f"websocket subscriber missed {len(want - ws_ids)} signal ids")
    if ws_ids - want:
        v.failures.append(f"{len(ws_ids - want)} websocket signal ids not in the offline run")
    if ws_twice:
        v.failures.append(f"websocket subscriber saw {len(ws_twice)} signal ids more than once")
    if websocket.untold_gaps:
        v.failures.append(
            f"{len(websocket.untold_gaps)} untold websocket gaps, first {websocket.untold_gaps[0]}"
        )
    if not want:
        v.failures.append("the offline run has no signals: nothing to check them against")
    return v


def slope_mb_per_min(samples: list[tuple[float, float, float]]) -> float | None:
    """Least-squares slope of RSS over time, MB per minute, of (at, rss_mb, started)
    samples taken after each process's first ``WARMUP_S`` seconds (None: too few)."""
    kept = [(at, rss) for at, rss, started in samples if at - started >= WARMUP_S]
    if len(kept) < 10 or kept[-1][0] - kept[0][0] < 30:
        return None
    at = np.array([a for a, _ in kept])
    rss = np.array([r for _, r in kept])
    return float(np.polyfit(at - at[0], rss, 1)[0] * 60)


def memory_failures(slopes: dict[str, float | None], run_s: float) -> list[str]:
    """A line per process kind whose RSS grew, for runs long enough to judge."""
    if run_s < JUDGE_MEMORY_AFTER_S:
        return []
    return [
        f"{kind} RSS grew {slope:.1f} MB/min over the run (limit {GROWTH_MB_PER_MIN:g})"
        for kind, slope in slopes.items()
        if slope is not None and slope > GROWTH_MB_PER_MIN
    ]
