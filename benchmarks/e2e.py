"""End to end: feed -> worker -> metrics/signals -> gateway -> websocket client, measured.

Each run gets a fresh embedded broker on 127.0.0.1 with the declared topics, then a
``rotation gateway`` on a free port with this process subscribed to it over a real
websocket, then one ``rotation worker``; every process is stopped on the way out
(also on Ctrl-C and errors, and the children die with this process if it is killed).

- :func:`drain_run`: ticks produced *before* the worker starts; the clock runs from
  the worker's ``worker ready`` line until the websocket client holds the metrics of
  the workload's last interval: the rate at which a backlog drains through the
  whole path. Before the worker starts, a bare consumer reads and decodes those
  frames: the physical ceiling of the path.
- :func:`latency_run`: the paced feed (:mod:`benchmarks.paced`) at a fixed rate;
  tick-to-subscriber latency per interval (:mod:`benchmarks.latency`), RSS and CPU of
  the worker, the gateway and the broker. Its frames are kept for the pandas baseline.
- :func:`feed_alone_run`: the paced feed into a broker with no reader: the feed's own
  ceiling.
- :func:`soak_run`: the paced feed at a moderate rate for a long time; RSS over time.
- :func:`ready_run`: ``rotation up --headless`` as a user runs it; seconds from the
  spawn until a websocket client receives the first metrics message.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from agents.analytics.universe import Universe
from benchmarks import stopping
from benchmarks.breakdown import breakdown, stage_times
from benchmarks.consume_decode import consume_and_decode
from benchmarks.keeping_up import early_latencies
from benchmarks.latency import causes, latencies_ms, summary, timeline
from benchmarks.paced import Frame, PacedFeed, PacedTicks
from benchmarks.services import ServiceFailed, ServiceProcess
from benchmarks.subscriber import Subscriber
from benchmarks.synthetic import Workload
from benchmarks.worker import (
    READY_LINE,
    ResourceSampler,
    WorkerFailed,
    WorkerProcess,
    cpu_seconds,
    produce_frames,
)
from rotation.broker import embedded_broker
from streams.admin import ensure_topics
from streams.partitioning import partition_for
from streams.probe import free_port
from streams.topics import DEFAULT_TOPICS
from streams.units import MICROS

MB = 1024 * 1024


@dataclass
class Stack:
    bootstrap: str
    broker: subprocess.Popen[bytes]
    gateway: ServiceProcess
    worker: WorkerProcess
    subscriber: Subscriber

    def check(self) -> None:
        self.worker.check()
        self.gateway.check()

    def samplers(self) -> dict[str, ResourceSampler]:
        return {
            "worker": ResourceSampler(self.worker.ps),
            "gateway": ResourceSampler(self.gateway.ps),
            "broker": ResourceSampler(psutil.Process(self.broker.pid)),
        }


@contextlib.asynccontextmanager
async def running_stack(
    config: Path,
    log_dir: Path,
    tag: str,
    *,
    preload: list[tuple[int, bytes]] | None = None,
    after_preload: Callable[[str], Awaitable[None]] | None = None,
    ready_timeout: float = 90.0,
) -> AsyncIterator[Stack]:
    """Broker, topics (and ``preload`` frames, then ``after_preload(bootstrap)``, before
    any other process starts), gateway, subscriber, worker: until exit."""
    with embedded_broker(log_path=log_dir / f"{tag}.broker.log") as (bootstrap, broker_proc):
        await ensure_topics(bootstrap)
        if preload:
            await produce_frames(bootstrap, preload)
        if after_preload is not None:
            await after_preload(bootstrap)
        env = {"KAFKA_BOOTSTRAP": bootstrap, "ROTATION_APP_ID": tag, "PYTHONUNBUFFERED": "1"}
        port = free_port()
        gateway: ServiceProcess | None = None
        worker: WorkerProcess | None = None
        listening: asyncio.Task[None] | None = None
        try:
            gateway = ServiceProcess(
                "gateway",
                ["gateway", "--port", str(port)],
                env,
                log_dir / f"{tag}.gateway.log",
                "listening on",
            )
            subscriber = Subscriber(f"ws://127.0.0.1:{port}/ws")
            listening = asyncio.create_task(subscriber.run(retry=gateway.check))
            while not subscriber.connected.is_set():
                stopping.check()
                if listening.done():
                    listening.result()  # raises why it ended
                    raise ServiceFailed("the subscriber ended before it subscribed")
                await asyncio.sleep(0.01)
            worker = WorkerProcess(config, env, log_dir / f"{tag}.worker.log")
            while worker.ready_at is None:
                stopping.check()
                worker.check()
                gateway.check()
                if time.monotonic() - worker.started_at > ready_timeout:
                    raise WorkerFailed(f"no '{READY_LINE}' line within {ready_timeout:.0f} s")
                await asyncio.sleep(0.01)
            yield Stack(bootstrap, broker_proc, gateway, worker, subscriber)
        finally:
            try:
                if worker is not None:
                    worker.stop()
                # Close the websocket before stopping the gateway: it waits for its
                # clients to close after its shutdown notice.
                await _end(listening)
            finally:  # also when a second Ctrl-C cancels the await above
                if gateway is not None:
                    gateway.stop()


async def _end(task: asyncio.Task[None] | None) -> None:
    """Cancel the subscriber (its websocket closes) and wait briefly for it."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await asyncio.wait_for(task, 3.0)


def _sampling(samplers: dict[str, ResourceSampler]) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(s.run()) for s in samplers.values()]


async def _stop_sampling(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _resources(
    samplers: dict[str, ResourceSampler], since: float, until: float | None = None
) -> dict[str, dict[str, float | None]]:
    """Per process: CPU cores (CPU s per wall s) from ``since`` to ``until`` (monotonic),
    RSS at the first sample from ``since``, peak and last."""
    out: dict[str, dict[str, float | None]] = {}
    for name, sampler in samplers.items():
        window = [
            (t, rss, cpu)
            for t, rss, cpu in sampler.samples
            if t >= since and (until is None or t <= until)
        ]
        cores = None
        if len(window) >= 2 and window[-1][0] > window[0][0]:
            cores = (window[-1][2] - window[0][2]) / (window[-1][0] - window[0][0])
        out[name] = {
            "cpu_cores": cores,
            "rss_start_mb": window[0][1] if window else None,
            "rss_peak_mb": max(rss for _t, rss, _c in window) if window else None,
            "rss_end_mb": window[-1][1] if window else None,
        }
    return out


async def drain_run(workload: Workload, config: Path, log_dir: Path, tag: str) -> dict[str, Any]:
    """A backlog of ``workload`` through worker and gateway to the websocket client;
    before the worker starts, a bare consumer reads and decodes the very frames it will
    read (:mod:`benchmarks.consume_decode`): the ceiling of this path."""
    final = workload.final_watermark
    bare: dict[str, float] = {}

    async def consume_decode(bootstrap: str) -> None:
        ticks, seconds = await consume_and_decode(bootstrap, len(workload.payloads))
        bare.update(ticks=ticks, seconds=seconds)

    async with running_stack(
        config, log_dir, tag, preload=workload.payloads, after_preload=consume_decode
    ) as stack:
        samplers = stack.samplers()
        tasks = _sampling(samplers)
        sub = stack.subscriber
        ready = stack.worker.ready_at
        assert ready is not None
        try:
            arrived = await sub.wait(
                lambda: final in sub.metrics,
                timeout=max(120.0, workload.ticks / 2_000),
                check=stack.check,
            )
            for sampler in samplers.values():
                with contextlib.suppress(psutil.Error):
                    sampler.sample()
        finally:
            await _stop_sampling(tasks)
        if not arrived:
            raise WorkerFailed(f"the last interval's metrics did not reach the client ({tag})")
        done = sub.metrics[final][1]
        first_ts = min(sub.metrics, key=lambda ts: sub.metrics[ts][1])
        first_at = sub.metrics[first_ts][1]
        ticks_in = workload.ticks_before(dict.fromkeys(workload.partitions, first_ts))
        resources = _resources(samplers, ready, done)
        received = dict(sub.types)
    steady = None
    if done > first_at and workload.ticks - ticks_in >= workload.ticks / 10:
        steady = (workload.ticks - ticks_in) / (done - first_at)
    return {
        "tag": tag,
        "symbols": workload.symbols,
        "ticks": workload.ticks,
        "bars": workload.bars,
        "seconds": done - ready,
        "ticks_per_s": workload.ticks / (done - ready),
        "steady_ticks_per_s": steady,
        "first_metrics_after_ready_s": first_at - ready,
        "consume_decode_ticks": int(bare["ticks"]),
        "consume_decode_ticks_per_s": bare["ticks"] / bare["seconds"],
        "worker_startup_s": ready - stack.worker.started_at,
        "intervals_received": len(sub.metrics),
        "messages": received,
        "resources": resources,
    }


async def latency_run(
    universe: Universe,
    config: Path,
    slots: list[list[Frame]],
    *,
    symbols: int,
    rate: float,
    warmup_s: float,
    log_dir: Path,
    tag: str,
    drain_timeout: float = 30.0,
    keep_data: bool = True,
) -> tuple[dict[str, Any], PacedFeed]:
    """The paced feed through the whole path; latency per interval, RSS and CPU.
    ``keep_data``: keep every frame's bytes in the returned feed (the pandas baseline
    replays them)."""
    interval = universe.bar_seconds * MICROS
    lateness = int(universe.allowed_lateness_seconds * MICROS)
    partitions = sorted(
        {partition_for(s, DEFAULT_TOPICS.ticks.partitions) for s in universe.symbols}
    )
    async with running_stack(config, log_dir, tag) as stack:
        samplers = stack.samplers()
        tasks = _sampling(samplers)
        feed = PacedFeed(stack.bootstrap, keep_data=keep_data)
        sub = stack.subscriber
        try:
            started_mono = time.monotonic()
            bench_cpu0 = cpu_now()
            feeding = asyncio.create_task(feed.run(slots))
            while not feeding.done():
                stack.check()
                await asyncio.wait({feeding}, timeout=0.5)
            feeding.result()
            fed_mono = time.monotonic()
            bench_cpu = cpu_now() - bench_cpu0
            with contextlib.suppress(psutil.Error):
                for sampler in samplers.values():
                    sampler.sample()
            cause = causes(feed.appended, interval, lateness, partitions)
            last = max(cause) if cause else None
            caught_up = await sub.wait(
                lambda: last is None or last in sub.metrics, drain_timeout, check=stack.check
            )
            with contextlib.suppress(psutil.Error):
                for sampler in samplers.values():
                    sampler.sample()
        finally:
            await _stop_sampling(tasks)
        bars_at, metrics_at = await stage_times(stack.bootstrap, partitions)
        assert feed.started_at is not None
        measured_from = feed.started_at + warmup_s
        resources = _resources(samplers, started_mono + warmup_s, fed_mono)
        arrivals = sub.arrival_wall()
        signals = {ts: wall for ts, (wall, _mono) in sub.signals.items()}
        emitted = dict(sub.emitted)
        received = dict(sub.types)
    measured = {e: c for e, c in cause.items() if c >= measured_from}
    latency = latencies_ms(measured, arrivals)
    everything = latencies_ms(cause, arrivals)
    early, early_to_last = early_latencies(measured, latency)
    last_lag = None
    if last is not None and last in arrivals:
        last_lag = arrivals[last] - cause[last]
    return {
        "tag": tag,
        "symbols": symbols,
        "rate": rate,
        "achieved_ticks_per_s": feed.achieved_rate(),
        "ticks": feed.ticks,
        "frames": len(feed.appended),
        "late_slots": feed.late_slots,
        "warmup_s": warmup_s,
        "intervals": len(measured),
        "missing_intervals": len([e for e in measured if e not in arrivals]),
        "latency_ms": summary(latency.values()),
        "latency_ms_including_warmup": summary(everything.values()),
        "early_latency_ms": summary(early),
        "early_to_last_s": early_to_last,
        "signal_latency_ms": summary(
            (signals[e] - c) * 1000 for e, c in measured.items() if e in signals
        ),
        "hops_ms": breakdown(measured, bars_at, metrics_at, emitted, arrivals),
        "latency_timeline_10s": timeline(measured, latency, measured_from, 10.0),
        "caught_up": caught_up,
        "drain_timeout_s": drain_timeout,
        "last_interval_lag_s": last_lag,
        "messages": received,
        "resources": resources,
        "bench_cpu_cores": bench_cpu / max(fed_mono - started_mono, 1e-9),
        "worker_startup_s": (stack.worker.ready_at or 0.0) - stack.worker.started_at,
    }, feed


async def feed_alone_run(slots: list[list[Frame]], log_dir: Path, tag: str) -> dict[str, Any]:
    """The paced feed into a broker with nobody reading: what the feed itself achieves."""
    with embedded_broker(log_path=log_dir / f"{tag}.broker.log") as (bootstrap, _proc):
        await ensure_topics(bootstrap)
        feed = PacedFeed(bootstrap)
        started, cpu0 = time.monotonic(), cpu_now()
        await feed.run(slots)
        wall, cpu = time.monotonic() - started, cpu_now() - cpu0
    return {
        "tag": tag,
        "seconds": len(slots) * feed.flush_s,
        "achieved_ticks_per_s": feed.achieved_rate(),
        "ticks": feed.ticks,
        "frames": len(feed.appended),
        "late_slots": feed.late_slots,
        "bench_cpu_cores": cpu / max(wall, 1e-9),
    }


async def soak_run(
    universe: Universe,
    config: Path,
    *,
    symbols: int,
    rate: float,
    seconds: float,
    event_speed: float,
    seed: int,
    log_dir: Path,
    tag: str,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The paced feed at ``rate`` for ``seconds``; RSS of worker, gateway and broker over time."""
    interval = universe.bar_seconds * MICROS
    lateness = int(universe.allowed_lateness_seconds * MICROS)
    partitions = sorted(
        {partition_for(s, DEFAULT_TOPICS.ticks.partitions) for s in universe.symbols}
    )
    ticks = PacedTicks(symbols, rate, event_speed=event_speed, seed=seed)
    async with running_stack(config, log_dir, tag) as stack:
        samplers = stack.samplers()
        tasks = _sampling(samplers)
        feed = PacedFeed(stack.bootstrap)
        try:
            started = time.monotonic()
            feeding = asyncio.create_task(feed.run(ticks.slots(seconds)))
            reported = started
            while not feeding.done():
                stack.check()
                await asyncio.wait({feeding}, timeout=0.5)
                if progress is not None and time.monotonic() - reported >= 60:
                    reported = time.monotonic()
                    rss = {name: s.samples[-1][1] for name, s in samplers.items() if s.samples}
                    progress(
                        f"soak {reported - started:.0f} s: RSS "
                        + ", ".join(f"{name} {mb:.0f} MB" for name, mb in rss.items())
                    )
            feeding.result()
            ended = time.monotonic()
            cause = causes(feed.appended, interval, lateness, partitions)
            last = max(cause) if cause else None
            sub = stack.subscriber
            await sub.wait(lambda: last is None or last in sub.metrics, 30.0, check=stack.check)
        finally:
            await _stop_sampling(tasks)
        arrivals = stack.subscriber.arrival_wall()
    latency = latencies_ms(cause, arrivals)
    memory = {name: rss_trend(s.samples, started, ended) for name, s in samplers.items()}
    assert feed.started_at is not None
    cpu = {name: cpu_timeline(s.samples, started, ended, 60.0) for name, s in samplers.items()}
    return {
        "tag": tag,
        "symbols": symbols,
        "rate": rate,
        "event_speed": event_speed,
        "seconds": seconds,
        "achieved_ticks_per_s": feed.achieved_rate(),
        "ticks": feed.ticks,
        "latency_ms": summary(latency.values()),
        "intervals": len(cause),
        "missing_intervals": len([e for e in cause if e not in arrivals]),
        "memory": memory,
        "latency_timeline_60s": timeline(cause, latency, feed.started_at, 60.0),
        "cpu_cores_timeline_60s": cpu,
    }


def cpu_timeline(
    samples: list[tuple[float, float, float]], started: float, ended: float, bucket_s: float
) -> list[float | None]:
    """CPU cores used in each whole ``bucket_s`` seconds of [started, ended]."""
    out: list[float | None] = []
    edge = started
    while edge + bucket_s <= ended + 1.0:
        inside = [(t, cpu) for t, _rss, cpu in samples if edge <= t <= min(edge + bucket_s, ended)]
        if len(inside) >= 2 and inside[-1][0] > inside[0][0]:
            out.append((inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0]))
        else:
            out.append(None)
        edge += bucket_s
    return out


def rss_trend(
    samples: list[tuple[float, float, float]], started: float, ended: float
) -> dict[str, Any]:
    """RSS at start, middle and end of [started, ended], and the slope (MB/min) of a
    least-squares line through the samples of the second half: bounded buffers fill in
    the first minutes (the gateway's history of 10,000 metrics takes about 4.4 minutes
    at 38 metrics a second), after which flat memory means a flat line."""
    window = [(t, rss) for t, rss, _cpu in samples if started <= t <= ended]
    if len(window) < 3:
        return {"start_mb": None, "middle_mb": None, "end_mb": None, "slope_mb_per_min": None}
    middle = started + (ended - started) / 2
    after = [(t, rss) for t, rss in window if t >= middle]
    t = np.array([p[0] for p in after]) - started
    rss = np.array([p[1] for p in after])
    slope = float(np.polyfit(t / 60, rss, 1)[0]) if len(after) >= 2 else None
    return {
        "start_mb": window[0][1],
        "middle_mb": min(window, key=lambda p: abs(p[0] - middle))[1],
        "end_mb": window[-1][1],
        "peak_mb": max(rss for _t, rss in window),
        "slope_mb_per_min": slope,
        "samples": [
            (round(t - started, 1), round(r, 1)) for t, r in window[:: max(1, len(window) // 120)]
        ],
    }


_UP_LINES = {
    "broker_s": re.compile(r"\[up\] broker \S+ ready after ([\d.]+) s"),
    "gateway_s": re.compile(r"\[up\] gateway ready ([\d.]+) s after start"),
    "worker_s": re.compile(r"\[up\] worker ready ([\d.]+) s after start"),
    "first_metrics_s": re.compile(r"\[up\] first metrics ([\d.]+) s after start"),
}


async def ready_run(log_dir: Path, tag: str, timeout: float = 60.0) -> dict[str, Any]:
    """``rotation up --headless`` with the shipped universe and the embedded broker:
    seconds from spawning it until a websocket client has the first metrics message."""
    port = free_port()
    # An empty KAFKA_BOOTSTRAP counts as unset: `rotation up` starts its own broker.
    env = {"KAFKA_BOOTSTRAP": "", "ROTATION_CONFIG": "", "PYTHONUNBUFFERED": "1"}
    args = ["up", "--headless", "--duration", str(timeout + 30), "--gateway-port", str(port)]
    args += ["--log-dir", str(log_dir / f"{tag}-logs")]
    up = ServiceProcess("up", args, env, log_dir / f"{tag}.log")
    subscriber = Subscriber(f"ws://127.0.0.1:{port}/ws")
    listening = asyncio.create_task(subscriber.run(connect_timeout=timeout, retry=up.check))
    try:
        arrived = await subscriber.wait(
            lambda: subscriber.first_metrics is not None,
            timeout,
            check=lambda: _check_task(up, listening),
        )
        if not arrived or subscriber.first_metrics is None:
            raise ServiceFailed(f"no metrics from `rotation up` within {timeout:.0f} s")
        ready_s = subscriber.first_metrics[1] - up.started_at
        await asyncio.sleep(0.2)  # its own "[up] first metrics" line
    finally:
        try:
            await _end(listening)
        finally:
            up.stop()
    reported: dict[str, float] = {}
    for _at, line in up.lines:
        for key, pattern in _UP_LINES.items():
            match = pattern.search(line)
            if match and key not in reported:
                reported[key] = float(match.group(1))
    return {"tag": tag, "ready_s": ready_s, "reported_by_up": reported}


def _check_task(up: ServiceProcess, task: asyncio.Task[None]) -> None:
    up.check()
    if task.done():
        task.result()


def cpu_now() -> float:
    """CPU seconds of this process so far."""
    return cpu_seconds(psutil.Process())
