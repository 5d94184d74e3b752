"""End to end through one worker: pre-produced tick frames, one ``rotation worker``.

Each run gets a fresh embedded broker (Tansu keeps everything in memory). The frames
are on ``quotes.ticks`` before the worker starts; the clock runs from the worker's
``worker ready`` line until every tick partition's watermark on ``rotation.bars``
has reached the workload's final watermark, which happens when the worker takes in
the last frame of that partition (see :mod:`benchmarks.synthetic`). The worker's
code is not touched: completion is read from its output topic, and its committed
offsets (consumer group = app id) are checked against the produced end offsets.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import psutil
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from benchmarks import stopping
from benchmarks.consume_decode import consume_and_decode
from benchmarks.profiling import ProfileRequest, PySpyRecorder
from benchmarks.raw import FETCH_BYTES, PARTITION_FETCH_BYTES
from benchmarks.synthetic import Workload
from rotation import processes
from rotation.broker import embedded_broker
from streams.admin import ensure_topics
from streams.tick_producer import TickProducer
from streams.topics import DEFAULT_TOPICS

READY_LINE = "worker ready in"
RSS_EVERY = 0.5
MB = 1024 * 1024


class WorkerFailed(RuntimeError):
    """The worker exited, or did not get ready or finish in time."""


class _Watermark(msgspec.Struct):
    """The two fields of a ``BarFrame`` the watcher needs; the bars are skipped."""

    partition: int
    watermark: int


_watermark = msgspec.json.Decoder(_Watermark)


class WorkerProcess:
    """``rotation worker`` (optionally under cProfile), its output copied to a log."""

    def __init__(
        self, config: Path, env: dict[str, str], log_path: Path, cprofile: Path | None = None
    ) -> None:
        args = ["worker", "--config", str(Path(config).resolve())]
        if cprofile is None:
            argv = processes.rotation_command(*args)
        else:
            argv = [sys.executable, "-m", "cProfile", "-o", str(cprofile), "-m", "rotation.cli"]
            argv += args
        self.ready_at: float | None = None
        self.ready_line = ""
        self._log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115
        self.started_at = time.monotonic()
        # In the log folder: Faust makes its data folder in the working directory.
        self.proc = processes.spawn(
            argv,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=log_path.resolve().parent,
        )
        self.ps = psutil.Process(self.proc.pid)
        self._pump = threading.Thread(target=self._copy_output, daemon=True)
        self._pump.start()

    def _copy_output(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            if self.ready_at is None and READY_LINE in line:
                self.ready_at = time.monotonic()
                self.ready_line = line.strip()
            self._log.write(line + "\n")
            self._log.flush()

    def check(self) -> None:
        code = self.proc.poll()
        if code is not None:
            raise WorkerFailed(f"worker exited with status {code}; see {self._log.name}")

    def stop(self) -> int:
        code = processes.stop(self.proc, timeout=20)
        self._pump.join(timeout=5)
        self._log.close()
        return code


def watcher_consumer(bootstrap: str, topic: str, client_id: str) -> AIOKafkaConsumer:
    """A consumer of ``topic`` from its start, outside any group, for large batches
    fetched at once: what the benchmarks' watchers read with."""
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        client_id=client_id,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_bytes=FETCH_BYTES,
        max_partition_fetch_bytes=PARTITION_FETCH_BYTES,
        fetch_max_wait_ms=20,
    )


class BarWatcher:
    """Reads ``rotation.bars`` and notes when every partition reached a watermark."""

    def __init__(self, bootstrap: str, partitions: list[int], final_watermark: int) -> None:
        self.partitions = partitions
        self.final = final_watermark
        self.marks: dict[int, int] = {}
        self.frames = 0
        self.first_at: float | None = None
        self.timeline: list[tuple[float, dict[int, int]]] = []
        self.consumer = watcher_consumer(bootstrap, DEFAULT_TOPICS.bars.name, "bench-bar-watcher")

    def complete(self) -> bool:
        return all(self.marks.get(p, -1) >= self.final for p in self.partitions)

    async def wait(self, worker: WorkerProcess, timeout: float) -> float:
        """Monotonic time at which the last partition reached the final watermark."""
        deadline = time.monotonic() + timeout
        while True:
            batches = await self.consumer.getmany(timeout_ms=100, max_records=10_000)
            now = time.monotonic()
            if batches and self.first_at is None:
                self.first_at = now
            advanced = False
            for records in batches.values():
                for record in records:
                    mark = _watermark.decode(record.value)
                    self.frames += 1
                    if mark.watermark > self.marks.get(mark.partition, -1):
                        self.marks[mark.partition] = mark.watermark
                        advanced = True
            if advanced:
                self.timeline.append((now, dict(self.marks)))
            if self.complete():
                return now
            stopping.check()
            worker.check()
            if now > deadline:
                raise WorkerFailed(
                    f"worker did not finish within {timeout:.0f} s; watermarks {self.marks}, "
                    f"expected {self.final} on partitions {self.partitions}"
                )


def steady_start(
    workload: Workload, timeline: list[tuple[float, dict[int, int]]], done_at: float
) -> tuple[float, int] | None:
    """When every tick partition had sent bars, and the ticks in by then.

    From then on no partition is at its start any more, where its first message may
    wait for the agent (a state rebuild, say). The ticks in are estimated as the
    ticks before each partition's watermark: an undercount of less than one bar per
    partition, so a rate from here can be high by at most that many ticks over the
    span. None when less than a tenth of the ticks remained.
    """
    for at, marks in timeline:
        if len(marks) == len(workload.partitions) and at < done_at:
            ticks_in = workload.ticks_before(marks)
            if workload.ticks - ticks_in < workload.ticks / 10:
                return None
            return at, ticks_in
    return None


@dataclass
class ResourceSampler:
    """RSS (MB) and CPU seconds of the worker every ``RSS_EVERY`` seconds."""

    process: psutil.Process
    samples: list[tuple[float, float, float]] = field(default_factory=list)

    def sample(self) -> float:
        rss = self.process.memory_info().rss / MB
        self.samples.append((time.monotonic(), rss, cpu_seconds(self.process)))
        return rss

    def cpu_since(self, at: float) -> tuple[float, float] | None:
        """(CPU seconds, wall seconds) from the first sample at or after ``at`` to the last."""
        later = [(t, cpu) for t, _rss, cpu in self.samples if t >= at]
        if len(later) < 2:
            return None
        return later[-1][1] - later[0][1], later[-1][0] - later[0][0]

    async def run(self) -> None:
        with contextlib.suppress(psutil.Error):
            while True:
                self.sample()
                await asyncio.sleep(RSS_EVERY)

    @property
    def peak(self) -> float:
        return max(rss for _, rss, _cpu in self.samples)


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


async def produce_frames(bootstrap: str, payloads: list[tuple[int, bytes]]) -> dict[int, int]:
    """Send every frame to its explicit partition with the feeds' producer, each frame
    acknowledged before this returns; return end offsets per partition."""
    producer = TickProducer(bootstrap, client_id="bench-frame-producer", acks=1)
    await producer.start()
    try:
        ends: dict[int, int] = {}
        for meta in await producer.send_frames(payloads):
            ends[meta.partition] = max(ends.get(meta.partition, 0), meta.offset + 1)
        return ends
    finally:
        await producer.stop()


async def committed_offsets(bootstrap: str, group: str, partitions: list[int]) -> dict[int, int]:
    """The group's committed offsets on ``quotes.ticks``.

    The partitions are named: Tansu answers an OffsetFetch for all of a group's
    topics (``partitions=None``) with a response aiokafka cannot decode.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-offsets")
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(
            group, partitions=[TopicPartition(DEFAULT_TOPICS.ticks.name, p) for p in partitions]
        )
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items()}


async def wait_for_commits(
    bootstrap: str, group: str, ends: dict[int, int], timeout: float = 5.0
) -> dict[str, Any]:
    """How long after completion the worker's committed offsets reached the end offsets."""
    started = time.monotonic()
    committed: dict[int, int] = {}
    try:
        while True:
            committed = await committed_offsets(bootstrap, group, sorted(ends))
            if all(committed.get(p, -1) >= end for p, end in ends.items()):
                return {"complete": True, "after_s": time.monotonic() - started}
            if time.monotonic() - started > timeout:
                break
            await asyncio.sleep(0.1)
    except Exception as exc:  # the check is informative; report, do not fail the run
        return {"complete": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"complete": False, "committed": committed, "end_offsets": ends}


async def run_worker(
    workload: Workload,
    config: Path,
    log_dir: Path,
    app_id: str,
    *,
    profile: ProfileRequest | None = None,
    ready_timeout: float = 90.0,
) -> dict[str, Any]:
    """One measured worker run on a fresh broker; returns its figures."""
    tag = app_id
    with embedded_broker(log_path=log_dir / f"{tag}.broker.log") as (bootstrap, broker_proc):
        await ensure_topics(bootstrap)
        produce_started = time.perf_counter()
        ends = await produce_frames(bootstrap, workload.payloads)
        produce_s = time.perf_counter() - produce_started
        # The same frames through a bare consumer plus decoding: the worker's floor cost.
        _decoded, bare_s = await consume_and_decode(bootstrap, len(workload.payloads))
        watcher = BarWatcher(bootstrap, workload.partitions, workload.final_watermark)
        await watcher.consumer.start()
        env = {
            "KAFKA_BOOTSTRAP": bootstrap,
            "ROTATION_APP_ID": app_id,
            "PYTHONUNBUFFERED": "1",
        }
        cprofile = profile.output if profile and profile.kind == "cprofile" else None
        worker = WorkerProcess(config, env, log_dir / f"{tag}.worker.log", cprofile)
        spy: PySpyRecorder | None = None
        sampler = ResourceSampler(worker.ps)
        sampling = asyncio.create_task(sampler.run())
        broker_ps = psutil.Process(broker_proc.pid)
        try:
            while worker.ready_at is None:
                stopping.check()
                worker.check()
                if time.monotonic() - worker.started_at > ready_timeout:
                    raise WorkerFailed(f"no '{READY_LINE}' line within {ready_timeout:.0f} s")
                await asyncio.sleep(0.01)
            ready_at = worker.ready_at
            worker_cpu0, broker_cpu0 = cpu_seconds(worker.ps), cpu_seconds(broker_ps)
            self_cpu0 = cpu_seconds(psutil.Process())
            rss_ready = sampler.sample()
            if profile and profile.kind == "py-spy":
                spy = PySpyRecorder(profile, worker.proc.pid, log_dir / f"{tag}.pyspy.log")
            done_at = await watcher.wait(worker, timeout=max(120.0, workload.ticks / 2_000))
            if spy is not None:
                spy.stop()
            worker_cpu = cpu_seconds(worker.ps) - worker_cpu0
            broker_cpu = cpu_seconds(broker_ps) - broker_cpu0
            self_cpu = cpu_seconds(psutil.Process()) - self_cpu0
            rss_final = sampler.sample()
            sampling.cancel()
            broker_rss = broker_ps.memory_info().rss / MB
            commits = await wait_for_commits(bootstrap, app_id, ends)
        finally:
            # Processes first, without an await in between: a second Ctrl-C may cancel
            # this task again at any await.
            if spy is not None:
                spy.stop()
            exit_code = worker.stop()
            sampling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampling
            await watcher.consumer.stop()
    seconds = done_at - ready_at
    steady = steady_start(workload, watcher.timeline, done_at)
    steady_cpu = sampler.cpu_since(steady[0]) if steady else None
    return {
        "app_id": app_id,
        "symbols": workload.symbols,
        "ticks": workload.ticks,
        "frames": len(workload.payloads),
        "seconds": seconds,
        "ticks_per_s": workload.ticks / seconds,
        "startup_s": ready_at - worker.started_at,
        "first_output_s": (watcher.first_at or done_at) - ready_at,
        "steady_ticks_per_s": (workload.ticks - steady[1]) / (done_at - steady[0])
        if steady
        else None,
        "steady_from_s": steady[0] - ready_at if steady else None,
        "steady_worker_cpu_per_wall_s": steady_cpu[0] / steady_cpu[1] if steady_cpu else None,
        "ready_line": worker.ready_line,
        "produce_s": produce_s,
        "bare_consume_decode_ticks_per_s": workload.ticks / bare_s,
        "rss_ready_mb": rss_ready,
        "rss_peak_mb": sampler.peak,
        "rss_final_mb": rss_final,
        "broker_rss_mb": broker_rss,
        "worker_cpu_per_wall_s": worker_cpu / seconds,
        "broker_cpu_per_wall_s": broker_cpu / seconds,
        "bench_cpu_per_wall_s": self_cpu / seconds,
        "bar_frames_seen": watcher.frames,
        "rss_samples_mb": [
            (round(at - worker.started_at, 2), round(rss, 1)) for at, rss, _cpu in sampler.samples
        ],
        "commits": commits,
        "worker_exit_code": exit_code,
        "profiled_with": profile.kind if profile else None,
    }
