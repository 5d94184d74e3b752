"""What one interval costs stage two: merge every partition's bars, run the engine.

Stage two is the ``rotation`` agent: one partition of ``rotation.bars``, so one worker
holds every symbol's bars. Per bars message it decodes the frame
(:func:`streams.codec.decode_bar_frame`), merges it (:class:`IntervalMerger`) and, when
an interval is complete, runs :meth:`RotationEngine.on_interval` (breadth of every
group, every pair's relative strength, RRG and rules) and encodes each snapshot and
signal it sends. This module times exactly that, on the frames stage one would publish
for a synthetic universe (:mod:`benchmarks.synthetic`), without Kafka: CPU seconds per
completed interval (``time.process_time``), the median over the measured intervals and
then over repetitions, and the memory the stage holds afterwards (``tracemalloc``).

The frames are made up front by four :class:`TickPartition` stages, as on the wire.
With ``--worker`` the same frames also go through one real ``rotation worker`` on an
embedded broker, to add what Kafka and Faust cost per interval.

    python -m benchmarks.stage_two --symbols 500 5000 10000
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from agents.analytics.tick_partition import TickPartition
from agents.recovery import RotationStage
from benchmarks.synthetic import make_workload, symbol_names, universe_toml
from benchmarks.worker import WorkerFailed, WorkerProcess, cpu_seconds
from rotation.broker import embedded_broker
from rotation.config import Universe, load_universe
from streams.admin import ensure_topics
from streams.codec import decode_bar_frame, encode
from streams.partitioning import partitioner
from streams.topics import DEFAULT_TOPICS

WARMUP_BARS = 60  # longer than every window of the synthetic universe (52 bars at most)


def bar_messages(universe: Universe, count: int, bars: int, seed: int = 7) -> list[bytes]:
    """The ``rotation.bars`` messages stage one publishes for ``bars`` intervals of
    ``count`` symbols (one tick per symbol per bar), in the order they are produced."""
    workload = make_workload(
        count,
        count * bars,
        bar_seconds=universe.bar_seconds,
        ticks_per_symbol_per_bar=1,
        seed=seed,
    )
    stages = {
        p: TickPartition(
            p,
            universe.bar_seconds,
            universe.allowed_lateness_seconds,
            universe.symbol,
            universe.calendar,
        )
        for p in workload.partitions
    }
    messages: list[bytes] = []
    for offset, (partition, ticks) in enumerate(workload.frames):
        frames, _update = stages[partition].apply(ticks, offset)
        messages += [encode(frame) for frame in frames]
    return messages


def run_stage_two(universe: Universe, messages: list[bytes]) -> tuple[list[float], int, int]:
    """CPU seconds of each completed interval (from the message after the previous
    completed one up to the one completing it), and the snapshots and signals sent."""
    stage = RotationStage(universe, partitioner(DEFAULT_TOPICS.ticks.partitions))
    per_interval: list[float] = []
    snapshots = signals = 0
    spent = 0.0
    for offset, data in enumerate(messages):
        started = time.process_time()
        frame = decode_bar_frame(data)
        done = 0
        for shots, fired in stage.apply(frame, offset):
            done += 1
            snapshots += len(shots)
            signals += len(fired)
            for snapshot in shots:
                encode(snapshot)
            for signal in fired:
                encode(signal)
        spent += time.process_time() - started
        if done:
            per_interval += [spent / done] * done
            spent = 0.0
    return per_interval, snapshots, signals


def held_bytes(universe: Universe, messages: list[bytes]) -> int:
    """Bytes still allocated by a stage after it applied ``messages`` (``tracemalloc``)."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        stage = RotationStage(universe, partitioner(DEFAULT_TOPICS.ticks.partitions))
        for offset, data in enumerate(messages):
            for _ in stage.apply(decode_bar_frame(data), offset):
                pass
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    del stage
    return held


def write_universe(directory: Path, count: int, bar_seconds: int, extra_pairs: int = 0) -> Path:
    """The synthetic universe, with ``extra_pairs`` more symbol/benchmark pairs (the
    symbols after the ten it has pairs for already)."""
    names = symbol_names(count)
    text = universe_toml(count, bar_seconds)
    for name in names[11 : 11 + extra_pairs]:
        text += (
            f'\n[[pairs]]\nname = "{name}/{names[0]}"\n'
            f'numerator = "{name}"\ndenominator = "{names[0]}"\n'
        )
    path = directory / f"universe-{count}-{extra_pairs}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def measure(
    count: int,
    bars: int,
    repeat: int,
    bar_seconds: int,
    directory: Path,
    extra_pairs: int = 0,
    worker: bool = False,
) -> dict[str, Any]:
    """The figures of one universe size."""
    path = write_universe(directory, count, bar_seconds, extra_pairs)
    universe = load_universe(path)
    messages = bar_messages(universe, count, WARMUP_BARS + bars)
    medians: list[float] = []
    p90s: list[float] = []
    snapshots = signals = 0
    for _ in range(repeat):
        gc.collect()
        per_interval, snapshots, signals = run_stage_two(universe, messages)
        measured = per_interval[WARMUP_BARS:]
        medians.append(statistics.median(measured))
        p90s.append(sorted(measured)[int(0.9 * (len(measured) - 1))])
    cpu = statistics.median(medians)
    in_worker: dict[str, float] = {}
    if worker:
        in_worker = asyncio.run(worker_cost(path, messages, snapshots, directory))
        in_worker["worker_cpu_s_per_interval"] = in_worker["worker_cpu_s"] / (WARMUP_BARS + bars)
    return {
        **in_worker,
        "symbols": count,
        "groups": len(universe.groups),
        "pairs": len(universe.pairs),
        "bar_messages": len(messages),
        "intervals_measured": bars,
        "bytes_per_interval": sum(len(m) for m in messages) // (WARMUP_BARS + bars),
        "cpu_s_per_interval": cpu,
        "cpu_s_per_interval_p90": statistics.median(p90s),
        "cpu_s_per_interval_runs": medians,
        "symbol_intervals_per_cpu_s": count / cpu,
        "snapshots_per_interval": snapshots / (WARMUP_BARS + bars),
        "signals_total": signals,
        "held_mb": held_bytes(universe, messages) / 1e6,
    }


def format_table(results: list[dict[str, Any]]) -> str:
    lines = [
        "stage two per interval (decode + merge + engine + encode), CPU seconds, medians",
        f"{'symbols':>8} {'groups':>6} {'pairs':>5} {'frame MB':>8} {'CPU/interval':>13} "
        f"{'p90':>9} {'symbols x intervals/s':>22} {'held MB':>8}",
    ]
    for r in results:
        lines.append(
            f"{r['symbols']:>8,} {r['groups']:>6} {r['pairs']:>5} "
            f"{r['bytes_per_interval'] / 1e6:>8.2f} {r['cpu_s_per_interval'] * 1e3:>10.1f} ms "
            f"{r['cpu_s_per_interval_p90'] * 1e3:>6.1f} ms "
            f"{r['symbol_intervals_per_cpu_s']:>22,.0f} "
            f"{r['held_mb']:>8.1f}"
        )
    lines += [
        f"{r['symbols']:>8,} symbols, {r['pairs']} pairs, in a worker: "
        f"{r['worker_cpu_s_per_interval'] * 1e3:.1f} ms CPU per interval "
        f"({r['worker_cpu_s']:.2f} s CPU over {r['worker_wall_s']:.2f} s, "
        f"{r['snapshots_seen']:,} snapshots)"
        for r in results
        if "worker_cpu_s" in r
    ]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stage_two", description=__doc__)
    parser.add_argument("--symbols", type=int, nargs="+", default=[500, 5000, 10000])
    parser.add_argument(
        "--bars", type=int, default=40, help="measured intervals (after 60 warm-up)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="repetitions; figures are medians")
    parser.add_argument("--bar-seconds", type=int, default=1)
    parser.add_argument(
        "--extra-pairs",
        type=int,
        nargs="+",
        default=[0],
        help="more symbol/benchmark pairs on top of the 26 (each count measured)",
    )
    parser.add_argument(
        "--worker",
        action="store_true",
        help="also time stage two inside a real worker on an embedded broker",
    )
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="stage-two-") as tmp:
        for count in args.symbols:
            for extra in args.extra_pairs:
                print(f"stage two: {count:,} symbols, {extra} extra pairs", file=sys.stderr)
                results.append(
                    measure(
                        count,
                        args.bars,
                        args.repeat,
                        args.bar_seconds,
                        Path(tmp),
                        extra,
                        args.worker,
                    )
                )
    print(format_table(results))
    if args.json:
        args.json.write_text(json.dumps({"stage_two": results}, indent=2), encoding="utf-8")
    return 0


async def worker_cost(
    universe_path: Path, messages: list[bytes], snapshots: int, log_dir: Path
) -> dict[str, float]:
    """Stage two inside a real ``rotation worker``: the bar messages put on
    ``rotation.bars`` of a fresh embedded broker before it starts, then the worker's CPU
    seconds from its ready line until ``snapshots`` snapshots are on ``rotation.metrics``
    (Faust, aiokafka receiving the frames and sending the output included)."""
    with embedded_broker(log_path=log_dir / "stage-two.broker.log") as (bootstrap, _broker):
        await ensure_topics(bootstrap)
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=8 << 20)
        await producer.start()
        try:
            for data in messages:
                await producer.send(DEFAULT_TOPICS.bars.name, data, partition=0)
            await producer.flush()
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            DEFAULT_TOPICS.metrics.name,
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        env = {
            "KAFKA_BOOTSTRAP": bootstrap,
            "ROTATION_APP_ID": "stage-two",
            "PYTHONUNBUFFERED": "1",
        }
        worker = WorkerProcess(universe_path, env, log_dir / "stage-two.worker.log")
        try:
            while worker.ready_at is None:
                worker.check()
                if time.monotonic() - worker.started_at > 120:
                    raise WorkerFailed("the worker printed no ready line within 120 s")
                await asyncio.sleep(0.01)
            cpu0, ready = cpu_seconds(worker.ps), worker.ready_at
            seen = 0
            deadline = time.monotonic() + 300
            while seen < snapshots and time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=100, max_records=10_000)
                seen += sum(len(records) for records in batches.values())
                worker.check()
            done = time.monotonic()
            cpu = cpu_seconds(worker.ps) - cpu0
        finally:
            worker.stop()
            await consumer.stop()
    return {"worker_cpu_s": cpu, "worker_wall_s": done - ready, "snapshots_seen": seen}


if __name__ == "__main__":
    raise SystemExit(main())
