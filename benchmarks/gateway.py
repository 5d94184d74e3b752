"""Gateway fan-out: delivered messages per second and latency from Kafka to client.

    .venv/bin/python -m benchmarks.gateway                  # 100, 1000, 5000 clients
    .venv/bin/python -m benchmarks.gateway --clients 1000 --repeat 1 --duration 10

For each client count N it runs, with a fresh embedded broker and a fresh
``rotation gateway`` process each time: N clients subscribed to ``signals`` and
``metrics`` while a producer appends ``--rate`` records per second to each topic;
then the same with ``--slow-fraction`` of the N clients deliberately slow. Clients
live in ``--processes`` separate processes (``benchmarks.gateway_clients``). Latency
is receipt time minus the moment the producer handed the record to Kafka, so it
covers the Kafka append, the gateway's fetch, its fan-out and the client's own event
loop. Every figure is the median of ``--repeat`` runs; nothing here fails because a
figure is low. Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec
import psutil
from aiokafka import AIOKafkaProducer

from rotation import processes
from rotation.broker import embedded_broker
from streams.admin import ensure_topics
from streams.probe import free_port
from streams.records import MetricsSnapshot, PairStats, RRGStats, Signal
from streams.topics import DEFAULT_TOPICS

BUCKET = 1.01  # the clients' histogram: bucket k holds latencies in [1.01**k, 1.01**(k+1)) us
SUBJECTS = 20


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def raise_open_files_limit() -> int:
    """Raise this process's (and its children's) open-files limit to the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# The feed -------------------------------------------------------------------------------


def signal_record(n: int, now_us: int) -> Signal:
    subject = f"pair:S{n % SUBJECTS:04d}/SPY"
    return Signal(
        id=uuid.uuid4().hex,
        kind="rs_crossover",
        subject=subject,
        direction="up",
        score=0.5,
        window_start=now_us,
        window_end=now_us,
        ts=now_us,
        summary=f"{subject} crossed above its 50-bar SMA by 0.62%",
        evidence={"rs": 0.4123, "rs_sma": 0.4098, "hysteresis_pct": 0.5, "leader": "S0001"},
    )


def metrics_record(n: int, now_us: int) -> MetricsSnapshot:
    tail = [(100.0 + k / 10, 99.5 + k / 20) for k in range(8)]
    return MetricsSnapshot(
        subject=f"pair:S{n % SUBJECTS:04d}/SPY",
        kind="pair",
        ts=now_us,
        bar_seconds=60,
        bars=n,
        pair=PairStats(
            f"S{n % SUBJECTS:04d}",
            "SPY",
            "symbol_vs_benchmark",
            0.4123,
            rs_sma=0.4098,
            rs_vs_sma_pct=0.61,
            rs_change_pct=1.2,
            log_return=0.0012,
            zscore=1.1,
            streak=3,
            above_sma=True,
            rrg=RRGStats(100.8, 101.2, "leading", False, tail),
        ),
    )


async def feed(bootstrap: str, rate: float, until: float) -> int:
    """``rate`` records per second to each of rotation.signals and rotation.metrics,
    each stamped (``ts``) with the moment it is handed to the producer."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks=1)
    await producer.start()
    sent = 0
    try:
        loop = asyncio.get_running_loop()
        start = loop.time()
        while time.time() < until:
            for topic, make in (
                (DEFAULT_TOPICS.signals.name, signal_record),
                (DEFAULT_TOPICS.metrics.name, metrics_record),
            ):
                record = make(sent, time.time_ns() // 1000)
                await producer.send(topic, msgspec.json.encode(record), key=record.subject.encode())
            sent += 1
            await asyncio.sleep(max(0.0, start + sent / rate - loop.time()))
        await producer.flush()
    finally:
        await producer.stop()
    return sent * 2


# One run ---------------------------------------------------------------------------------


class Reader(threading.Thread):
    """Collects a child's stdout lines (JSON) so the main thread can wait for them."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        super().__init__(daemon=True)
        self.proc = proc
        self.lines: list[dict[str, Any]] = []

    def run(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            with contextlib.suppress(ValueError):
                self.lines.append(json.loads(raw))


def wait_healthy(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the gateway exited with status {proc.returncode}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r,
        ):
            if r.status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError("the gateway did not become healthy")


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def one_run(n: int, slow: int, args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    started: list[subprocess.Popen[bytes]] = []
    tag = f"{n}-{slow}-{uuid.uuid4().hex[:6]}"
    gateway_log = open(log_dir / f"gateway-{tag}.log", "wb")  # noqa: SIM115
    try:
        with embedded_broker(log_path=log_dir / f"broker-{tag}.log") as (bootstrap, broker):
            asyncio.run(ensure_topics(bootstrap))
            port = free_port()
            gateway = processes.spawn(
                processes.rotation_command(
                    "gateway",
                    "--port",
                    str(port),
                    "--max-connections",
                    str(n + 100),
                    "--max-connections-per-address",
                    "0",
                ),
                env={"KAFKA_BOOTSTRAP": bootstrap, "ROTATION_LOG_LEVEL": "WARNING"},
                stdout=gateway_log,
                stderr=gateway_log,
            )
            started.append(gateway)
            wait_healthy(port, gateway)
            parts = min(args.processes or min(4, math.ceil(n / 500)), n)
            readers = []
            for count, slow_count in zip(split(n, parts), split(slow, parts), strict=True):
                proc = processes.spawn(
                    [
                        sys.executable,
                        "-m",
                        "benchmarks.gateway_clients",
                        "--port",
                        str(port),
                        "--count",
                        str(count),
                        "--slow",
                        str(slow_count),
                        "--window-file",
                        str(log_dir / f"window-{tag}"),
                    ],
                    stdout=subprocess.PIPE,
                    stderr=gateway_log,
                )
                started.append(proc)
                reader = Reader(proc)
                reader.start()
                readers.append(reader)
            connect_started = time.monotonic()
            deadline = connect_started + 300
            while not all(r.lines for r in readers):
                if time.monotonic() > deadline or any(r.proc.poll() is not None for r in readers):
                    raise RuntimeError("the clients did not all connect")
                time.sleep(0.1)
            ready = sum(r.lines[0]["subscribed"] for r in readers)
            connect_seconds = time.monotonic() - connect_started
            window_start = time.time() + args.warmup
            window_end = window_start + args.duration
            (log_dir / f"window-{tag}").write_text(
                f"{int(window_start * 1e6)} {int(window_end * 1e6)}\n"
            )
            cpu: dict[str, float] = {}
            watched = {
                "gateway": [psutil.Process(gateway.pid)],
                "clients": [psutil.Process(r.proc.pid) for r in readers],
                "broker": [psutil.Process(broker.pid)],
            }

            def cpu_seconds() -> dict[str, float]:
                return {
                    name: sum(sum(p.cpu_times()[:2]) for p in procs)
                    for name, procs in watched.items()
                }

            async def produce_and_sample() -> int:
                feeder = asyncio.create_task(feed(bootstrap, args.rate, window_end + 1.0))
                await asyncio.sleep(max(0.0, window_start - time.time()))
                before = cpu_seconds()
                await asyncio.sleep(max(0.0, window_end - time.time()))
                after = cpu_seconds()
                for name in watched:
                    cpu[name] = (after[name] - before[name]) / args.duration
                cpu["rss_mb"] = watched["gateway"][0].memory_info().rss / 2**20
                cpu["load"] = os.getloadavg()[0]
                return await feeder

            produced = asyncio.run(produce_and_sample())
            deadline = time.monotonic() + 120
            while not all(len(r.lines) >= 2 for r in readers):
                if time.monotonic() > deadline:
                    raise RuntimeError("the clients did not report")
                time.sleep(0.1)
            results = [r.lines[1] for r in readers]
    finally:
        for proc in reversed(started):
            processes.stop(proc, timeout=10)
        gateway_log.close()
    histogram: Counter[int] = Counter()
    for result in results:
        histogram.update({int(k): v for k, v in result["histogram"].items()})
    closed: Counter[str] = Counter()
    for result in results:
        closed.update(result["closed"])
    messages = sum(r["messages"] for r in results)
    fast = n - slow
    return {
        "clients": n,
        "slow": slow,
        "processes": len(results),
        "ready": ready,
        "connect_s": connect_seconds,
        "produced": produced,
        "delivered_per_s": messages / args.duration,
        "expected_per_s": fast * 2 * args.rate,
        "p50_ms": percentile(histogram, 0.50),
        "p99_ms": percentile(histogram, 0.99),
        "max_ms": percentile(histogram, 1.0),
        "gaps": sum(r["gaps"] for r in results),
        "closed": dict(closed),
        "slow_closed_1013": closed.get("1013", 0),
        "gateway_cpu": cpu["gateway"],
        "clients_cpu": cpu["clients"],
        "broker_cpu": cpu["broker"],
        "load_average": cpu["load"],
        "gateway_rss_mb": cpu["rss_mb"],
        "failed_connects": sum(r["failed_connects"] for r in results),
    }


def percentile(histogram: Counter[int], q: float) -> float:
    """The ``q`` quantile of a histogram of 1 % buckets, in milliseconds (bucket middle)."""
    total = sum(histogram.values())
    if not total:
        return float("nan")
    rank = max(1, math.ceil(q * total))
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return BUCKET ** (bucket + 0.5) / 1000
    return float("nan")


# The table -------------------------------------------------------------------------------


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def report(rows: list[tuple[int, float, list[dict[str, Any]]]], args: argparse.Namespace) -> None:
    print(
        f"\nrotation gateway fan-out: {args.rate:g} msg/s per channel (signals + metrics), "
        f"{args.duration:g} s measured after {args.warmup:g} s warm-up, median of "
        f"{args.repeat}, {os.cpu_count()} CPUs\n"
    )
    print(
        f"{'clients':>7} {'slow':>5} {'procs':>5} {'delivered msg/s':>16} {'expected':>9} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'gaps':>5} {'1013':>5} "
        f"{'gw CPU':>6} {'gw RSS':>7} {'clients CPU':>11} {'connect s':>9}"
    )
    baseline: dict[int, float] = {}
    for n, fraction, runs in rows:
        p99 = median_of(runs, "p99_ms")
        if fraction == 0:
            baseline[n] = p99
        print(
            f"{n:>7} {fraction:>5.0%} {runs[0]['processes']:>5} "
            f"{median_of(runs, 'delivered_per_s'):>16,.0f} "
            f"{median_of(runs, 'expected_per_s'):>9,.0f} "
            f"{median_of(runs, 'p50_ms'):>7.1f} {p99:>7.1f} {median_of(runs, 'max_ms'):>7.1f} "
            f"{median_of(runs, 'gaps'):>5.0f} {median_of(runs, 'slow_closed_1013'):>5.0f} "
            f"{median_of(runs, 'gateway_cpu'):>6.2f} {median_of(runs, 'gateway_rss_mb'):>5.0f}MB "
            f"{median_of(runs, 'clients_cpu'):>11.2f} {median_of(runs, 'connect_s'):>9.1f}"
        )
    print()
    cores = os.cpu_count() or 1
    for n, fraction, runs in rows:
        p99s = ", ".join(f"{r['p99_ms']:.1f}" for r in runs)
        note = ""
        if fraction and n in baseline:
            change = median_of(runs, "p99_ms") / baseline[n] - 1
            note = f"; p99 of the others {change:+.0%} against no slow clients"
        print(f"  {n:>5} clients, {fraction:.0%} slow: p99 runs {p99s} ms{note}")
        busy = median_of(runs, "gateway_cpu") + median_of(runs, "clients_cpu")
        busy += median_of(runs, "broker_cpu")
        short = median_of(runs, "delivered_per_s") < 0.95 * median_of(runs, "expected_per_s")
        if short or busy > 0.8 * cores:
            delivered = median_of(runs, "delivered_per_s")
            per_message = median_of(runs, "clients_cpu") / delivered if delivered else 0.0
            print(
                f"        cannot run here: the machine is saturated; gateway, clients and broker "
                f"got {busy:.2f} of {cores} CPUs (load average "
                f"{median_of(runs, 'load_average'):.1f}), and at {per_message * 1e6:.0f} us of "
                f"client CPU per message the clients alone would need "
                f"{per_message * median_of(runs, 'expected_per_s'):.1f} CPUs for "
                f"{median_of(runs, 'expected_per_s'):,.0f} msg/s: the figures measure the "
                "machine, not the gateway"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Measure the websocket gateway's fan-out.", prog="python -m benchmarks.gateway"
    )
    parser.add_argument("--clients", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--rate", type=float, default=10.0, help="messages/s per channel")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--slow-fraction", type=float, default=0.1)
    parser.add_argument(
        "--processes",
        type=int,
        default=0,
        help="client processes (default: one per 500, at most 4)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write every run as JSON")
    parser.add_argument("--log-dir", help="keep the gateway and broker logs here")
    args = parser.parse_args(argv)
    limit = raise_open_files_limit()
    rows: list[tuple[int, float, list[dict[str, Any]]]] = []
    with contextlib.ExitStack() as stack:
        log_dir = (
            Path(args.log_dir)
            if args.log_dir
            else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        )
        log_dir.mkdir(parents=True, exist_ok=True)
        for n in args.clients:
            # The gateway holds n sockets; clients and broker need a few more.
            if n + 200 > limit:
                log(f"skipping {n} clients: the open-files limit is {limit} (ulimit -Hn)")
                continue
            for fraction in dict.fromkeys((0.0, args.slow_fraction)):
                runs = []
                for r in range(args.repeat):
                    log(f"{n} clients, {fraction:.0%} slow, run {r + 1}/{args.repeat} ...")
                    try:
                        result = one_run(n, round(n * fraction), args, log_dir)
                    except RuntimeError as exc:
                        log(f"  could not run: {exc} (logs: {log_dir})")
                        continue
                    log(
                        f"  delivered {result['delivered_per_s']:,.0f}/s of "
                        f"{result['expected_per_s']:,.0f}, p50 {result['p50_ms']:.1f} ms, "
                        f"p99 {result['p99_ms']:.1f} ms, CPU gateway {result['gateway_cpu']:.2f} "
                        f"clients {result['clients_cpu']:.2f} broker {result['broker_cpu']:.2f}"
                    )
                    runs.append(result)
                if runs:
                    rows.append((n, fraction, runs))
    report(rows, args)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                [{"clients": n, "slow_fraction": f, "runs": runs} for n, f, runs in rows], indent=2
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
