"""Stage one shared by 1, 2 and 4 workers: ticks/s, and the results equal one worker's.

Every run gets a fresh embedded broker on 127.0.0.1. ``N`` ``rotation worker``
processes start with the same ``ROTATION_APP_ID``, so they are one consumer group:
Kafka spreads the four partitions of ``quotes.ticks`` (stage one) over them, and the
one partition of ``rotation.bars`` (stage two) goes to one of them. Once every worker
printed its ready line and the group has ``N`` members, the same synthetic backlog
(:mod:`benchmarks.synthetic`) is produced; the clock runs from the first frame sent
until every tick partition's watermark on ``rotation.bars`` reached the backlog's
final one (:class:`benchmarks.worker.BarWatcher`). Ticks/s = ticks / that span.

Then ``rotation.metrics`` and ``rotation.signals`` are read whole: the snapshots by
(subject, ts) and the signals by id, each compared (decoded, every field) with the
one-worker run's. Copies of one snapshot or signal (a rebalance may send one twice)
must be equal; they are counted, not treated as a difference.

    python -m benchmarks.scale_out --workers 1,2,4
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from agents.analytics.pipeline import Pipeline
from benchmarks import stopping
from benchmarks.synthetic import Workload, make_workload, write_universe
from benchmarks.worker import BarWatcher, WorkerFailed, WorkerProcess, produce_frames
from rotation.broker import embedded_broker
from rotation.config import Universe, load_universe
from streams.admin import ensure_topics
from streams.partitioning import partitioner
from streams.topics import DEFAULT_TOPICS

Outputs = dict[str, dict[Any, Any]]


def expected_counts(universe: Universe, workload: Workload) -> tuple[int, int]:
    """Snapshots and signals of the backlog, from the in-process pipeline."""
    pipeline = Pipeline(universe, partitioner(DEFAULT_TOPICS.ticks.partitions))
    for partition, ticks in workload.frames:
        pipeline.apply(partition, ticks)
    return len({(s.subject, s.ts) for s in pipeline.snapshots}), len(
        {s.id for s in pipeline.signals}
    )


async def group_members(bootstrap: str, group: str) -> int:
    """Members of the consumer group with partitions assigned (0 if not readable)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-scale-group")
    await admin.start()
    try:
        described = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    members = 0
    for response in described:
        for entry in response.groups:
            state, member_list = entry[2], entry[5]
            if state == "Stable":
                members += len(member_list)
    return members


async def read_outputs(
    bootstrap: str, snapshots: int, signals: int, timeout: float
) -> tuple[Outputs, dict[str, int]]:
    """Every snapshot by (subject, ts) and signal by id, once the expected numbers of
    distinct ones arrived (or ``timeout``); and how many copies were read."""
    topics = {DEFAULT_TOPICS.metrics.name: "metrics", DEFAULT_TOPICS.signals.name: "signals"}
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        client_id="bench-scale-outputs",
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    out: Outputs = {"metrics": {}, "signals": {}}
    copies = {"metrics": 0, "signals": 0, "differing_copies": 0}
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        while len(out["metrics"]) < snapshots or len(out["signals"]) < signals:
            if time.monotonic() > deadline:
                break
            batches = await consumer.getmany(timeout_ms=200, max_records=10_000)
            for tp, records in batches.items():
                kind = topics[tp.topic]
                for record in records:
                    value = msgspec.json.decode(record.value or b"null")
                    key = (value["subject"], value["ts"]) if kind == "metrics" else value["id"]
                    copies[kind] += 1
                    seen = out[kind].setdefault(key, value)
                    if seen != value:
                        copies["differing_copies"] += 1
    finally:
        await consumer.stop()
    return out, copies


async def run_group(
    workers: int,
    config: Path,
    universe: Universe,
    workload: Workload,
    log_dir: Path,
    run: int = 0,
    expected: tuple[int, int] | None = None,
) -> tuple[dict[str, Any], Outputs]:
    """One run of ``workers`` workers on a fresh broker: its figures and its outputs."""
    app_id = f"scale-{workers}w-r{run}-{os.getpid()}"
    snapshots, signals = expected or expected_counts(universe, workload)
    with embedded_broker(log_path=log_dir / f"{app_id}.broker.log") as (bootstrap, _broker):
        await ensure_topics(bootstrap)
        env = {"KAFKA_BOOTSTRAP": bootstrap, "ROTATION_APP_ID": app_id, "PYTHONUNBUFFERED": "1"}
        procs: list[WorkerProcess] = []
        watcher = BarWatcher(bootstrap, workload.partitions, workload.final_watermark)
        try:
            for i in range(workers):
                home = log_dir / f"{app_id}-{i}"
                home.mkdir()
                procs.append(WorkerProcess(config, env, home / "worker.log"))
            deadline = time.monotonic() + 120
            members = 0
            while True:
                stopping.check()
                for proc in procs:
                    proc.check()
                if all(p.ready_at is not None for p in procs):
                    members = await group_members(bootstrap, app_id)
                    if members >= workers:
                        break
                if time.monotonic() > deadline:
                    raise WorkerFailed(
                        f"{workers} workers: ready {sum(p.ready_at is not None for p in procs)}, "
                        f"group members {members} after 120 s"
                    )
                await asyncio.sleep(0.1)
            await watcher.consumer.start()
            started = time.monotonic()
            await produce_frames(bootstrap, workload.payloads)
            produced = time.monotonic()
            done = await _wait_all(watcher, procs, timeout=max(120.0, workload.ticks / 2_000))
            # The partitions each worker held when the backlog was in (its stop moves them).
            logs = [log_dir / f"{app_id}-{i}" / "worker.log" for i in range(workers)]
            held = [assignment(log) for log in logs]
            outputs, copies = await read_outputs(bootstrap, snapshots, signals, timeout=60)
        finally:
            for proc in procs:
                proc.stop()
            with contextlib.suppress(Exception):
                await watcher.consumer.stop()
    seconds = done - started
    figures = {
        "workers": workers,
        "ticks": workload.ticks,
        "seconds": seconds,
        "produce_s": produced - started,
        "ticks_per_s": workload.ticks / seconds,
        "snapshots": len(outputs["metrics"]),
        "signals": len(outputs["signals"]),
        "expected_snapshots": snapshots,
        "expected_signals": signals,
        "copies": copies,
        "assignments": held,
    }
    return figures, outputs


async def _wait_all(watcher: BarWatcher, procs: list[WorkerProcess], timeout: float) -> float:
    """:meth:`BarWatcher.wait` that also fails when any of the workers exits."""

    class _All:
        def check(self) -> None:
            for proc in procs:
                proc.check()

    return await watcher.wait(_All(), timeout)  # type: ignore[arg-type]


def assignment(log: Path) -> dict[str, list[int]]:
    """The partitions a worker was given last, from the table Faust logs on assignment."""
    table: dict[str, list[int]] = {}
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    for i, line in enumerate(lines):
        if "Setting newly assigned partitions" not in line:
            continue
        table = {}
        for row in lines[i + 1 :]:
            if " for group " in row:
                break
            cells = [c.strip() for c in row.strip("|").split("|")]
            if len(cells) == 2 and cells[1].startswith("{"):
                table[cells[0]] = _numbers(cells[1].strip("{}"))
    return table


def _numbers(text: str) -> list[int]:
    """``"0-2, 5"`` -> ``[0, 1, 2, 5]`` (Faust writes runs of partitions as ranges)."""
    out: list[int] = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        if first:
            out += range(int(first), int(last or first) + 1)
    return sorted(out)


def differences(base: Outputs, other: Outputs) -> dict[str, int]:
    """Snapshots and signals missing from, extra in, or different in ``other``."""
    result = {}
    for kind in ("metrics", "signals"):
        a, b = base[kind], other[kind]
        result[f"{kind}_missing"] = len(a.keys() - b.keys())
        result[f"{kind}_extra"] = len(b.keys() - a.keys())
        result[f"{kind}_different"] = sum(1 for k in a.keys() & b.keys() if a[k] != b[k])
    return result


async def measure(args: argparse.Namespace, log_dir: Path) -> list[dict[str, Any]]:
    config = write_universe(log_dir, args.symbols, args.bar_seconds)
    universe = load_universe(config)
    workload = make_workload(args.symbols, args.ticks, args.bar_seconds, seed=args.seed)
    _say(f"backlog: {workload.ticks:,} ticks of {args.symbols} symbols, {workload.bars} bars")
    expected = expected_counts(universe, workload)
    runs: dict[int, list[dict[str, Any]]] = {n: [] for n in args.workers}
    base: Outputs | None = None
    for r in range(args.repeat):
        for n in args.workers:
            _say(f"run {r + 1}/{args.repeat}: {n} worker(s) ...")
            figures, outputs = await run_group(n, config, universe, workload, log_dir, r, expected)
            if base is None:
                base = outputs  # the first run of the first count (1 worker by default)
            figures["vs_first"] = differences(base, outputs)
            _say(
                f"  {figures['ticks_per_s']:,.0f} ticks/s (produced in {figures['produce_s']:.2f}"
                f" of {figures['seconds']:.2f} s), {figures['vs_first']}, "
                f"partitions {figures['assignments']}"
            )
            runs[n].append(figures)
    return [
        {
            "workers": n,
            "ticks_per_s": statistics.median(f["ticks_per_s"] for f in rs),
            "runs_ticks_per_s": [round(f["ticks_per_s"]) for f in rs],
            "produce_s": statistics.median(f["produce_s"] for f in rs),
            "mismatches": sum(sum(f["vs_first"].values()) for f in rs),
            "runs": rs,
        }
        for n, rs in runs.items()
    ]


def format_table(results: list[dict[str, Any]], ticks: int) -> str:
    lines = [
        f"stage one shared by N workers: {ticks:,} ticks, {os.cpu_count()} CPUs, medians",
        f"{'workers':>7} {'ticks/s':>10} {'runs':<30} {'snapshots':>9} {'signals':>7} "
        f"{'mismatches vs first':>20} {'produced in':>11}",
    ]
    for r in results:
        last = r["runs"][-1]
        lines.append(
            f"{r['workers']:>7} {r['ticks_per_s']:>10,.0f} "
            f"{', '.join(f'{t:,}' for t in r['runs_ticks_per_s']):<30} "
            f"{last['snapshots']:>9,} {last['signals']:>7,} {r['mismatches']:>20} "
            f"{r['produce_s']:>9.2f} s"
        )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale_out", description=__doc__)
    parser.add_argument(
        "--workers",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 2, 4],
        help="worker counts, comma-separated; the first run is the reference",
    )
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--ticks", type=int, default=1_000_000)
    parser.add_argument("--bar-seconds", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--log-dir", type=Path, help="keep logs here (default: temporary)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with contextlib.ExitStack() as stack:
        if args.log_dir:
            args.log_dir.mkdir(parents=True, exist_ok=True)
            log_dir = args.log_dir
        else:
            log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="scale-out-")))
        results = asyncio.run(measure(args, log_dir))
    print(format_table(results, results[0]["runs"][0]["ticks"]))
    if args.json:
        args.json.write_text(json.dumps({"scale_out": results}, indent=2), encoding="utf-8")
    return 1 if any(r["mismatches"] for r in results) else 0


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
