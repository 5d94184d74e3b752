"""Recovery: seconds from a replacement worker's start to its first metrics, per history size.

Per history size and repetition, on a fresh embedded broker on 127.0.0.1: the
history (a synthetic 500-symbol universe, 1-second bars, :mod:`benchmarks.synthetic`)
is written to ``quotes.ticks`` as columnar tick frames as fast as the broker takes
them; a ``rotation worker`` takes it in until it has published the metrics of the
history's last interval and committed its input (steady state); it is SIGKILLed (its
PID only); a new worker with the same app id starts, one more interval of ticks is
written, and the clock runs from the new worker's process start to the first
``rotation.metrics`` message of an interval after the kill (and, separately, to its
``worker ready`` line). Each size is measured with the shipped ``[snapshots]`` and with
snapshots off (the new worker replays the history), alternating, so both see the same
machine. Figures are medians over ``--repeat`` runs. Restart times should stay flat as
the history grows; Kafka Streams bounds them with state stores and changelogs
(https://kafka.apache.org/documentation/streams/architecture#streams_architecture_recovery).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec

from benchmarks import options, stopping
from benchmarks.synthetic import Workload, make_workload, write_universe
from benchmarks.worker import (
    WorkerFailed,
    WorkerProcess,
    produce_frames,
    wait_for_commits,
    watcher_consumer,
)
from rotation.broker import embedded_broker
from streams.admin import ensure_topics
from streams.codec import columnar_frame, encode
from streams.probe import BrokerError
from streams.records import Tick
from streams.topics import DEFAULT_TOPICS

SYMBOLS = 500
BAR_SECONDS = 1
TICKS_PER_SYMBOL_PER_BAR = 5
REPEAT = 3
RESTART_TIMEOUT_S = 300.0


class _Ts(msgspec.Struct):
    ts: int


_ts = msgspec.json.Decoder(_Ts)


class MetricsWatcher:
    """Reads ``rotation.metrics`` from the start; notes when each interval first arrived."""

    def __init__(self, bootstrap: str) -> None:
        self.first_at: dict[int, float] = {}  # interval end (µs) -> monotonic arrival
        self.consumer = watcher_consumer(
            bootstrap, DEFAULT_TOPICS.metrics.name, "bench-recovery-metrics"
        )

    async def wait_for(self, after_us: int, worker: WorkerProcess, timeout: float) -> float:
        """Monotonic arrival of the first metrics message with ``ts > after_us``."""
        deadline = time.monotonic() + timeout
        while True:
            batches = await self.consumer.getmany(timeout_ms=50, max_records=50_000)
            now = time.monotonic()
            for records in batches.values():
                for record in records:
                    self.first_at.setdefault(_ts.decode(record.value or b"{}").ts, now)
            later = [at for ts, at in self.first_at.items() if ts > after_us]
            if later:
                return min(later)
            stopping.check()
            worker.check()
            if now > deadline:
                raise WorkerFailed(
                    f"no metrics after interval {after_us} within {timeout:.0f} s "
                    f"(newest seen: {max(self.first_at, default=None)})"
                )


def next_interval(workload: Workload) -> list[tuple[int, bytes]]:
    """One interval after the history: a tick of every symbol in [final, final + bar),
    then per partition a closing tick one bar on, which closes that interval."""
    final = workload.final_watermark
    bar_us = workload.bar_seconds * 1_000_000
    last: dict[int, dict[str, Tick]] = {}
    for partition, ticks in workload.frames:
        seen = last.setdefault(partition, {})
        for tick in ticks[-SYMBOLS:]:
            seen[tick.symbol] = tick
    payloads = []
    for partition in sorted(last):
        ticks = [
            msgspec.structs.replace(tick, ts=final + 1 + i, source="bench-recovery")
            for i, tick in enumerate(sorted(last[partition].values(), key=lambda t: t.symbol))
        ]
        closing = msgspec.structs.replace(ticks[-1], ts=final + bar_us + 1)
        payloads.append((partition, encode(columnar_frame([*ticks, closing]))))
    return payloads


async def recovery_run(
    workload: Workload,
    extra: list[tuple[int, bytes]],
    config: Path,
    log_dir: Path,
    tag: str,
    snapshots: bool = True,
) -> dict[str, Any]:
    """One history written, caught up, killed and recovered from; its figures.
    ``snapshots``: the workers write snapshots with the shipped ``[snapshots]`` settings;
    off, they write none and the new worker replays the history."""
    payloads = workload.payloads
    final = workload.final_watermark
    load_before = os.getloadavg()
    with embedded_broker(log_path=log_dir / f"{tag}.broker.log") as (bootstrap, _broker):
        await ensure_topics(bootstrap)
        written = time.perf_counter()
        ends = await produce_frames(bootstrap, payloads)
        write_s = time.perf_counter() - written
        watcher = MetricsWatcher(bootstrap)
        await watcher.consumer.start()
        env = {"KAFKA_BOOTSTRAP": bootstrap, "ROTATION_APP_ID": tag, "PYTHONUNBUFFERED": "1"}
        if not snapshots:
            env |= {"ROTATION__SNAPSHOTS__EVERY_INTERVALS": "0"}
            env |= {"ROTATION__SNAPSHOTS__EVERY_SECONDS": "0"}
        first = WorkerProcess(config, env, log_dir / f"{tag}.worker1.log")
        second: WorkerProcess | None = None
        try:
            timeout = max(120.0, len(payloads) * 1000 / 2_000)
            caught_up_at = await watcher.wait_for(final - 1, first, timeout)
            # Killed in steady state: its input committed (as after any real run), so
            # the new worker must rebuild the state rather than process it all again.
            commits = await wait_for_commits(bootstrap, tag, ends, timeout=60.0)
            first.proc.kill()  # SIGKILL, this PID only
            killed_code = first.stop()
            second = WorkerProcess(config, env, log_dir / f"{tag}.worker2.log")
            await produce_frames(bootstrap, extra)
            metrics_at = await watcher.wait_for(final, second, RESTART_TIMEOUT_S)
        finally:
            first.stop()
            if second is not None:
                second.stop()
            await watcher.consumer.stop()
    assert second is not None
    rebuilt = [
        line
        for line in (log_dir / f"{tag}.worker2.log").read_text(errors="replace").splitlines()
        if "state rebuilt from" in line
    ]
    return {
        "snapshots": snapshots,
        "rebuilt_from_snapshots": sum("from the snapshot of offset" in x for x in rebuilt),
        "rebuilt_by_replay": sum("from the snapshot of offset" not in x for x in rebuilt),
        "ticks": workload.ticks,
        "bars": workload.bars,
        "frames": len(payloads),
        "history_write_s": write_s,
        "first_worker_ready_s": None
        if first.ready_at is None
        else first.ready_at - first.started_at,
        "catch_up_s": caught_up_at - first.started_at,
        "killed_exit_code": killed_code,
        "committed_before_kill": commits.get("complete", False),
        "restart_to_ready_s": None
        if second.ready_at is None
        else second.ready_at - second.started_at,
        "restart_to_metrics_s": metrics_at - second.started_at,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


MODES = options.RECOVERY_MODES
"""Recovery with the shipped snapshots, and by replaying the history (none written)."""


def _medians(size_runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "snapshots": size_runs[0]["snapshots"],
        "ticks": size_runs[0]["ticks"],
        "history_write_s": _median([r["history_write_s"] for r in size_runs]),
        "catch_up_s": _median([r["catch_up_s"] for r in size_runs]),
        "restart_to_ready_s": _median([r["restart_to_ready_s"] for r in size_runs]),
        "restart_to_metrics_s": _median([r["restart_to_metrics_s"] for r in size_runs]),
        "repeat": len(size_runs),
        "runs": size_runs,
    }


def summarize(runs: dict[int, dict[str, list[dict[str, Any]]]]) -> dict[str, dict[str, Any]]:
    """The ``recovery`` key: per history size (as text), the medians and every run of
    recovery with snapshots (when measured; else by replay), the replay's under
    ``without_snapshots`` beside them."""
    out: dict[str, dict[str, Any]] = {}
    for size, by_mode in runs.items():
        measured = {mode: _medians(r) for mode, r in by_mode.items() if r}
        row = measured.get("snapshots") or measured["replay"]
        if "snapshots" in measured and "replay" in measured:
            row["without_snapshots"] = measured["replay"]
        out[str(size)] = row
    return out


def format_table(recovery: dict[str, dict[str, Any]], load: tuple[float, ...]) -> str:
    def s(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f}"

    lines = [
        "recovery: medians in seconds; ready and metrics from the new worker's start",
        f"{'ticks':>12} {'recovery':>9} {'write':>8} {'catch-up':>9} {'to ready':>9} "
        f"{'to metrics':>11}",
    ]
    for size, top in recovery.items():
        rows = [top] + ([top["without_snapshots"]] if "without_snapshots" in top else [])
        for row in rows:
            mode = "snapshot" if row["snapshots"] else "replay"
            lines.append(
                f"{int(size):>12,} {mode:>9} {s(row['history_write_s']):>8} "
                f"{s(row['catch_up_s']):>9} {s(row['restart_to_ready_s']):>9} "
                f"{s(row['restart_to_metrics_s']):>11}"
            )
    lines.append("load average at the end: " + " ".join(f"{x:.2f}" for x in load))
    return "\n".join(lines)


async def _measure(
    sizes: list[int], repeat: int, seed: int, log_dir: Path, modes: tuple[str, ...]
) -> dict[int, dict[str, list[dict[str, Any]]]]:
    config = write_universe(log_dir, SYMBOLS, BAR_SECONDS)
    runs: dict[int, dict[str, list[dict[str, Any]]]] = {s: {m: [] for m in modes} for s in sizes}
    for size in sizes:
        _say(f"history of {size:,} ticks: making it")
        workload = make_workload(
            SYMBOLS,
            size,
            bar_seconds=BAR_SECONDS,
            ticks_per_symbol_per_bar=TICKS_PER_SYMBOL_PER_BAR,
            seed=seed,
        )
        extra = next_interval(workload)
        for rep in range(repeat):
            for mode in modes:  # alternated, so both see the same machine
                stopping.check()
                tag = f"recovery-{size}-{mode}-r{rep + 1}-{uuid.uuid4().hex[:6]}"
                run = await recovery_run(
                    workload, extra, config, log_dir, tag, snapshots=mode == "snapshots"
                )
                runs[size][mode].append(run)
                _say(
                    f"{size:,} ticks, {mode}, run {rep + 1}: written in "
                    f"{run['history_write_s']:.1f} s, "
                    f"caught up {run['catch_up_s']:.1f} s after start; restart: ready "
                    f"{run['restart_to_ready_s']:.2f} s, first metrics "
                    f"{run['restart_to_metrics_s']:.2f} s; partitions rebuilt from "
                    f"snapshots {run['rebuilt_from_snapshots']}, by replay "
                    f"{run['rebuilt_by_replay']} (load {os.getloadavg()[0]:.2f})"
                )
        del workload, extra
    return runs


async def _run(
    sizes: list[int], repeat: int, seed: int, log_dir: Path, modes: tuple[str, ...]
) -> dict[int, Any]:
    task = asyncio.current_task()
    assert task is not None
    stopping.install(asyncio.get_running_loop(), task)
    try:
        return await _measure(sizes, repeat, seed, log_dir, modes)
    except (asyncio.CancelledError, stopping.Interrupted):
        raise KeyboardInterrupt from None


def run(
    sizes: list[int],
    repeat: int = REPEAT,
    json_path: Path | None = None,
    log_dir: Path | None = None,
    seed: int = 7,
    modes: tuple[str, ...] = MODES,
) -> int:
    """Measure every size ``repeat`` times; print the table; write ``{"recovery": ...}``."""
    for name in ("aiokafka", "streams.admin"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))
    keep_logs = log_dir is not None
    logs = log_dir or Path(tempfile.mkdtemp(prefix="rotation-recovery-"))
    logs.mkdir(parents=True, exist_ok=True)
    failed = True
    started = time.monotonic()
    try:
        runs = asyncio.run(_run(sizes, repeat, seed, logs, modes))
        failed = False
    except KeyboardInterrupt:
        print("\ninterrupted; every process this run started has been stopped", file=sys.stderr)
        return 130
    except (WorkerFailed, BrokerError, TimeoutError) as exc:
        print(f"recovery benchmark: failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if failed and not keep_logs:
            print(f"logs kept in {logs}", file=sys.stderr)
        elif not keep_logs:
            shutil.rmtree(logs, ignore_errors=True)
    recovery = summarize(runs)
    load = os.getloadavg()
    print(format_table(recovery, load))
    if json_path is not None:
        results = {
            "recovery": recovery,
            "parameters": {
                "symbols": SYMBOLS,
                "bar_seconds": BAR_SECONDS,
                "ticks_per_symbol_per_bar": TICKS_PER_SYMBOL_PER_BAR,
                "sizes": sizes,
                "repeat": repeat,
                "modes": list(modes),
                "seed": seed,
                "wall_s": time.monotonic() - started,
            },
            "environment": {"cpus": os.cpu_count(), "load_average_at_end": load},
        }
        json_path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"results written to {json_path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.recovery",
        description="Seconds from a restarted worker's start to its first metrics, per "
        "history size, against the embedded broker.",
    )
    parser.add_argument(
        "--sizes",
        type=options.history_sizes,
        default=list(options.RECOVERY_SIZES),
        metavar="N,N,...",
        help="history sizes in ticks (default " + ",".join(map(str, options.RECOVERY_SIZES)) + ")",
    )
    parser.add_argument("--repeat", type=int, default=REPEAT, metavar="R", help="repetitions")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write {'recovery': ...} here")
    parser.add_argument("--seed", type=int, default=7, help="seed of the synthetic ticks")
    parser.add_argument("--log-dir", type=Path, metavar="DIR", help="keep every log here")
    parser.add_argument(
        "--modes",
        type=options.recovery_modes,
        default=MODES,
        metavar="M,M",
        help="recover from snapshots, by replay, or both (default snapshots,replay)",
    )
    return parser


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.repeat <= 0:
        parser.error(f"--repeat must be > 0, got {args.repeat}")
    return run(args.sizes, args.repeat, args.json, args.log_dir, args.seed, args.modes)


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
