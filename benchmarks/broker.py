"""The broker's budget: what a fetch costs the embedded broker as it fills, per fetch wait.

``python -m benchmarks.broker [--quick] [--json PATH]`` starts its own embedded Tansu
broker (never a configured ``KAFKA_BOOTSTRAP``), then, level by level, fills it with
``--fill-batches`` record batches (cumulative: each level adds to the last) of
``--batch-records`` records of ``--record-bytes`` bytes, and at every level measures,
for every ``--waits`` fetch wait:

- a plain consumer's delay: a paced producer sends one record every ``--interval-ms``
  (each its own batch, as a hop of the system sends them) stamped with the send time;
  a plain ``AIOKafkaConsumer`` (no group) with ``fetch_max_wait_ms`` = the wait reads
  them; delay = receipt - send, one clock, p50 / p99 over ``--seconds``;
- the broker's CPU (psutil on its PID, user + system) per wall second and per Fetch
  request the consumer sent (counted at the consumer's client), and its RSS.

``--fill-where other`` fills another topic instead of the one read, to tell a cost of
the partition read from a cost of the whole broker. The Kafka Fetch request and its
``max_wait_ms`` are described at https://kafka.apache.org/protocol#The_Messages_Fetch.
Figures are measured, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from benchmarks import stopping
from benchmarks.latency import summary
from rotation.broker import embedded_broker

PROBE_TOPIC = "bench.broker.probe"
FILL_TOPIC = "bench.broker.fill"
PRODUCE_API_KEY, FETCH_API_KEY = 0, 1  # https://kafka.apache.org/protocol#protocol_api_keys
STAMP = struct.Struct(">d")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.broker",
        description="The embedded broker's cost per fetch and a consumer's delay as it fills.",
    )
    parser.add_argument("--quick", action="store_true", help="levels 0 4000 12000, 2 s per wait")
    parser.add_argument(
        "--fill-batches",
        type=int,
        nargs="+",
        help="batches held at each level (default 0 10000 30000 60000; quick 0 4000 12000)",
    )
    parser.add_argument("--batch-records", type=int, default=1, help="records per fill batch")
    parser.add_argument("--record-bytes", type=int, default=1000, help="bytes per fill record")
    parser.add_argument(
        "--fill-where",
        choices=("same", "other"),
        default="same",
        help="fill the partition the consumer reads (same) or another topic (other)",
    )
    parser.add_argument(
        "--waits", type=int, nargs="+", default=[5, 10, 50, 500], help="fetch waits, ms"
    )
    parser.add_argument("--interval-ms", type=float, default=20.0, help="paced send interval")
    parser.add_argument(
        "--seconds", type=float, help="measured seconds per wait (default 5; quick 2)"
    )
    parser.add_argument("--compression", default=None, help="compression of the fill (gzip ...)")
    parser.add_argument("--json", type=Path, help="also write every figure as JSON")
    parser.add_argument("--log-dir", type=Path, help="keep the broker's log here")
    args = parser.parse_args(argv)
    if args.fill_batches is None:
        args.fill_batches = [0, 4_000, 12_000] if args.quick else [0, 10_000, 30_000, 60_000]
    if args.seconds is None:
        args.seconds = 2.0 if args.quick else 5.0
    if sorted(args.fill_batches) != args.fill_batches or min(args.fill_batches) < 0:
        parser.error("--fill-batches: increasing counts >= 0 (each level adds to the last)")
    if min(args.waits) < 1 or args.interval_ms <= 0 or args.seconds <= 0:
        parser.error("--waits >= 1 ms, --interval-ms and --seconds > 0")
    return args


class Filler:
    """Sends record batches, each exactly one batch at the broker, and counts them."""

    def __init__(
        self, bootstrap: str, topic: str, records: int, size: int, compression: str | None
    ):
        self.topic = topic
        self.records = records
        self.payload = os.urandom(size // 2).hex().encode()[:size]
        self.batches = 0
        self.bytes = 0
        self.producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            client_id="bench-broker-fill",
            linger_ms=0,
            acks=1,
            compression_type=compression,
            max_batch_size=max(16384, records * (size + 64)),
        )

    async def fill_to(self, batches: int) -> float:
        """Send batches until ``batches`` are held; return the seconds it took."""
        started = time.perf_counter()
        pending: list[asyncio.Future[Any]] = []
        while self.batches < batches:
            stopping.check()
            batch = self.producer.create_batch()
            for _ in range(self.records):
                batch.append(key=None, value=self.payload, timestamp=None)
            batch.close()
            pending.append(await self.producer.send_batch(batch, self.topic, partition=0))
            self.batches += 1
            self.bytes += self.records * len(self.payload)
            if len(pending) >= 500:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        return time.perf_counter() - started


def _count_requests(client: Any, api_key: int) -> dict[str, int]:
    """Count the requests of ``api_key`` our own client sends (a wrapper on its send)."""
    count = {"n": 0}
    send = client.send

    async def counting_send(node_id: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(request, "API_KEY", None) == api_key:
            count["n"] += 1
        return await send(node_id, request, *args, **kwargs)

    client.send = counting_send
    return count


async def measure(
    bootstrap: str, broker: psutil.Process, wait_ms: int, interval_ms: float, seconds: float
) -> dict[str, Any]:
    """One paced producer, one plain consumer with ``wait_ms``: delays and broker CPU."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks=1)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=wait_ms,
        client_id=f"bench-broker-wait-{wait_ms}",
    )
    await producer.start()
    await consumer.start()
    fetches = _count_requests(consumer._client, FETCH_API_KEY)
    produces = _count_requests(producer.client, PRODUCE_API_KEY)
    tp = TopicPartition(PROBE_TOPIC, 0)
    first = await producer.send_and_wait(PROBE_TOPIC, STAMP.pack(time.perf_counter()), partition=0)
    consumer.assign([tp])
    consumer.seek(tp, first.offset + 1)
    delays: list[float] = []
    measuring = {"on": False}

    async def read() -> None:
        while True:
            got = await consumer.getmany(tp, timeout_ms=1000)
            now = time.perf_counter()
            if measuring["on"]:
                delays.extend((now - STAMP.unpack(r.value)[0]) * 1000 for r in got.get(tp, []))

    reader = asyncio.create_task(read())
    try:
        warmup = 0.5
        end = time.perf_counter() + warmup + seconds
        cpu = fetched = produced = started = None
        tick = time.perf_counter()
        while tick < end:
            stopping.check()
            if cpu is None and tick >= end - seconds:
                measuring["on"] = True
                cpu, started = broker.cpu_times(), time.perf_counter()
                fetched, produced = fetches["n"], produces["n"]
            await producer.send(PROBE_TOPIC, STAMP.pack(time.perf_counter()), partition=0)
            tick += interval_ms / 1000
            await asyncio.sleep(max(0.0, tick - time.perf_counter()))
        await asyncio.sleep(max(0.1, 2 * wait_ms / 1000))  # the last records arrive
        assert cpu is not None and started is not None
        assert fetched is not None and produced is not None
        after, wall = broker.cpu_times(), time.perf_counter() - started
        measuring["on"] = False
        used = (after.user - cpu.user) + (after.system - cpu.system)
        n, p = fetches["n"] - fetched, produces["n"] - produced
        stats = summary(delays)
        return {
            "wait_ms": wait_ms,
            "delay_ms": stats,
            "fetches": n,
            "fetches_per_s": n / wall,
            "broker_cpu_cores": used / wall,
            "produces": p,
            "broker_cpu_us_per_request": used / (n + p) * 1e6 if n + p else None,
            "sent": round(seconds * 1000 / interval_ms),
        }
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await consumer.stop()
        await producer.stop()


async def run(args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    results: dict[str, Any] = {
        "parameters": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "levels": [],
    }
    with embedded_broker(log_path=log_dir / "broker.log") as (bootstrap, proc):
        broker = psutil.Process(proc.pid)
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-broker-admin")
        await admin.start()
        try:
            topics = [NewTopic(PROBE_TOPIC, 1, 1)]
            if args.fill_where == "other":
                topics.append(NewTopic(FILL_TOPIC, 1, 1))
            await admin.create_topics(topics)
        finally:
            await admin.close()
        filler = Filler(
            bootstrap,
            PROBE_TOPIC if args.fill_where == "same" else FILL_TOPIC,
            args.batch_records,
            args.record_bytes,
            args.compression,
        )
        await filler.producer.start()
        try:
            for level in args.fill_batches:
                took = await filler.fill_to(level)
                if level:
                    print(
                        f"filled to {level:,} batches in {took:.1f} s "
                        f"({(level - filler_prev(results)) / max(took, 1e-9):,.0f} batches/s)",
                        file=sys.stderr,
                        flush=True,
                    )
                row: dict[str, Any] = {
                    "fill_batches": filler.batches,
                    "fill_mb": filler.bytes / 1e6,
                    "broker_rss_mb": broker.memory_info().rss / 1e6,
                    "by_wait": [],
                }
                for wait in args.waits:
                    got = await measure(bootstrap, broker, wait, args.interval_ms, args.seconds)
                    print(f"  {_line(row, got)}", file=sys.stderr, flush=True)
                    row["by_wait"].append(got)
                row["broker_rss_mb_after"] = broker.memory_info().rss / 1e6
                results["levels"].append(row)
        finally:
            await filler.producer.stop()
    return results


def filler_prev(results: dict[str, Any]) -> int:
    return results["levels"][-1]["fill_batches"] if results["levels"] else 0


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _line(row: dict[str, Any], got: dict[str, Any]) -> str:
    delay = got["delay_ms"]
    per_request = got["broker_cpu_us_per_request"]
    received = got["delay_ms"]["count"]
    return (
        f"{row['fill_batches']:>9,} {row['fill_mb']:>8,.0f} {row['broker_rss_mb']:>7,.0f} "
        f"{got['wait_ms']:>6} {_ms(delay['p50']):>9} {_ms(delay['p99']):>9} "
        f"{got['fetches_per_s']:>9,.0f} {got['broker_cpu_cores']:>7.2f} "
        f"{'-' if per_request is None else f'{per_request:,.0f}':>9} "
        f"{received:>5}/{got['sent']:<5}"
    )


HEADER = (
    f"{'batches':>9} {'fill MB':>8} {'RSS MB':>7} {'wait':>6} {'p50 ms':>9} {'p99 ms':>9} "
    f"{'fetches/s':>9} {'CPU':>7} {'us/req':>9} {'received':>11}"
)


def report(results: dict[str, Any], args: argparse.Namespace, took: float) -> str:
    load = os.getloadavg()[0]
    lines = [
        f"broker budget: embedded Tansu on 127.0.0.1, {os.cpu_count()} CPUs, load average "
        f"{load:.1f} at start; fill batches of {args.batch_records} x {args.record_bytes} B "
        f"in the {'partition read' if args.fill_where == 'same' else 'other topic'}; "
        f"one record every {args.interval_ms:g} ms, {args.seconds:g} s per wait",
        "",
        HEADER,
    ]
    for row in results["levels"]:
        lines.extend(_line(row, got) for got in row["by_wait"])
    lines += [
        "",
        "batches: record batches the broker holds; RSS: the broker's resident memory; wait:",
        "the consumer's fetch_max_wait_ms; p50/p99: send -> receipt; CPU: the broker's CPU",
        "seconds per wall second; us/req: its CPU per request (the consumer's Fetch and",
        "the paced producer's Produce); received: paced records read in the measured span.",
        f"(took {took:.0f} s)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    load = os.getloadavg()[0]
    with contextlib.ExitStack() as stack:
        log_dir = args.log_dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        log_dir.mkdir(parents=True, exist_ok=True)
        loop = asyncio.new_event_loop()
        task = loop.create_task(run(args, log_dir))
        stopping.install(loop, task)
        try:
            results = loop.run_until_complete(task)
        except (asyncio.CancelledError, stopping.Interrupted):
            print("interrupted", file=sys.stderr)
            return 130
        finally:
            loop.close()
    took = time.perf_counter() - started
    results["environment"] = {"cpus": os.cpu_count(), "load_average_at_start": load}
    print(report(results, args, took))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
