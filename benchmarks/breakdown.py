"""Where an interval's latency goes, from the Kafka record timestamps of each hop.

After a paced run (with the broker still up and nothing else running) a bare
consumer reads ``rotation.bars`` and ``rotation.metrics`` from the start. Each record
carries the time its producer sent it (CreateTime, ms, set by the worker's Faust
producer on this machine's clock). For the interval ending at ``E``:

- ``bars_at(E)``: for each tick partition, the send time of the first bar frame whose
  watermark reached ``E``; the latest over the partitions (stage 1 done);
- ``metrics_at(E)``: the send time of the first metrics snapshot with ``ts == E``
  (stage 2 done);
- the gateway's ``emit_ts`` of the first metrics message with ``ts == E`` (when the
  gateway took the record from Kafka) and the client's arrival.

So latency = (bars_at - cause) + (metrics_at - bars_at) + (emit - metrics_at) +
(arrival - emit): ticks to stage 1, stage 1 to stage 2, stage 2 to the gateway, the
gateway to the client. Reading after the run keeps the measurement out of the run.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Mapping

import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition

from benchmarks.latency import summary
from benchmarks.raw import FETCH_BYTES, PARTITION_FETCH_BYTES
from streams.topics import DEFAULT_TOPICS
from streams.units import MICROS


class _Mark(msgspec.Struct):
    partition: int
    watermark: int


class _Ts(msgspec.Struct):
    ts: int


_mark = msgspec.json.Decoder(_Mark)
_ts = msgspec.json.Decoder(_Ts)


async def read_all(bootstrap: str, topic: str, idle_polls: int = 3) -> list[tuple[int, bytes]]:
    """(timestamp ms, value) of every record of ``topic`` partition 0 (until idle)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id="bench-breakdown",
        group_id=None,
        enable_auto_commit=False,
        fetch_max_bytes=FETCH_BYTES,
        max_partition_fetch_bytes=PARTITION_FETCH_BYTES,
        fetch_max_wait_ms=100,
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek(tp, 0)
        out: list[tuple[int, bytes]] = []
        idle = 0
        deadline = time.monotonic() + 60
        while idle < idle_polls and time.monotonic() < deadline:
            batch = await consumer.getmany(tp, timeout_ms=200, max_records=50_000)
            records = batch.get(tp, [])
            idle = 0 if records else idle + 1
            out += [(r.timestamp, r.value or b"") for r in records]
        return out
    finally:
        await consumer.stop()


async def stage_times(
    bootstrap: str, partitions: list[int]
) -> tuple[dict[int, float], dict[int, float]]:
    """``bars_at`` and ``metrics_at`` (seconds since the epoch) per interval end."""
    # Per partition, each new watermark and the send time of the frame that reached it.
    firsts: dict[int, list[tuple[int, float]]] = {p: [] for p in partitions}
    for at, value in await read_all(bootstrap, DEFAULT_TOPICS.bars.name):
        mark = _mark.decode(value)
        seen = firsts.get(mark.partition)
        if seen is not None and (not seen or mark.watermark > seen[-1][0]):
            seen.append((mark.watermark, at / 1000))
    metrics_at: dict[int, float] = {}
    for at, value in await read_all(bootstrap, DEFAULT_TOPICS.metrics.name):
        metrics_at.setdefault(_ts.decode(value).ts, at / 1000)
    marks = {p: [w for w, _ in seen] for p, seen in firsts.items()}
    bars_at: dict[int, float] = {}
    for end in sorted(metrics_at):
        times = []
        for p in partitions:
            i = bisect.bisect_left(marks[p], end)
            if i == len(marks[p]):
                break
            times.append(firsts[p][i][1])
        else:
            bars_at[end] = max(times)
    return bars_at, metrics_at


def breakdown(
    cause: Mapping[int, float],
    bars_at: Mapping[int, float],
    metrics_at: Mapping[int, float],
    emitted_us: Mapping[int, int],
    arrival: Mapping[int, float],
) -> dict[str, dict[str, float | int | None]]:
    """Milliseconds of each hop, summarised over the intervals of ``cause``."""
    hops: dict[str, list[float]] = {
        "ticks_to_bars": [],
        "bars_to_metrics": [],
        "metrics_to_gateway": [],
        "gateway_to_client": [],
    }
    for end, at in cause.items():
        if end in bars_at:
            hops["ticks_to_bars"].append((bars_at[end] - at) * 1000)
            if end in metrics_at:
                hops["bars_to_metrics"].append((metrics_at[end] - bars_at[end]) * 1000)
        if end in metrics_at and end in emitted_us:
            hops["metrics_to_gateway"].append((emitted_us[end] / MICROS - metrics_at[end]) * 1000)
        if end in emitted_us and end in arrival:
            hops["gateway_to_client"].append((arrival[end] - emitted_us[end] / MICROS) * 1000)
    return {name: summary(values) for name, values in hops.items()}
