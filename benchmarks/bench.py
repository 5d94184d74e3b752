"""``rotation bench`` (or ``python -m benchmarks.bench``): the end-to-end figures in one run.

Against embedded Tansu brokers on 127.0.0.1 that it starts and stops, in this order:

1. the raw ceiling: a bare aiokafka consumer reading single-tick messages
   (:func:`benchmarks.throughput.raw_ceiling`);
2. ``rotation up --headless``: seconds until a websocket client has the first metrics;
3. per universe size, a backlog drained through worker and gateway to a websocket
   client (ticks/s), and a bare consumer reading and decoding the very frames first
   (:mod:`benchmarks.consume_decode`, the ceiling of the path);
4. with more than one of ``--rates``: the paced feed alone at the highest rate, into
   a broker nobody reads (what the feed itself achieves);
5. per universe size, the paced feed at the first of ``--rates`` (``--rate``):
   tick-to-subscriber latency per interval, where it goes, RSS and CPU of worker,
   gateway and broker; then the pandas job over the same frames
   (:mod:`benchmarks.pandas_baseline`); and the other rates at the headline size;
6. when a rate falls behind (:mod:`benchmarks.keeping_up`): at most
   ``--search-steps`` more paced runs for the highest rate one worker keeps up with;
7. with ``--soak S``: the paced feed for S seconds, RSS over time.

Runs of the sizes alternate within each repetition; every figure is the median of
the repetitions. Progress goes to stderr, the table to stdout. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from agents.analytics.universe import Universe
from benchmarks import chaos, e2e, keeping_up, options, recovery, report, stopping
from benchmarks.paced import PacedFeed, PacedTicks
from benchmarks.pandas_baseline import run_baseline
from benchmarks.services import ServiceFailed
from benchmarks.subscriber import SubscriberFailed
from benchmarks.synthetic import make_workload, write_universe
from benchmarks.throughput import describe_environment, raw_ceiling
from benchmarks.worker import WorkerFailed
from rotation.config import ConfigError, load_universe
from streams.partitioning import partition_for
from streams.probe import BrokerError
from streams.topics import DEFAULT_TOPICS

DRAIN_BAR_SECONDS = 60
DRAIN_TICKS_PER_BAR = 5
FEED_ALONE_S = 5.0  # the paced feed into a broker alone, at the highest rate
EXTRA_DRAIN_S = 10.0  # wait for the last interval of a run at an extra rate
SEARCH_BELOW = 8  # the search goes down to the lowest rate / 8


def run(args: argparse.Namespace) -> int:
    """Run the benchmark for parsed ``args``; print the table; exit status."""
    args = options.resolve(args)
    if args.recovery:
        return recovery.run(
            args.recovery_sizes,
            args.repeat,
            args.json,
            args.log_dir,
            args.seed,
            args.recovery_modes,
        )
    if args.chaos:
        return chaos.run(args.chaos, args.seed, args.json, args.log_dir)
    # `rotation` logs at INFO by default; the clients' chatter would bury the progress.
    for name in ("aiokafka", "streams.admin"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))
    keep_logs = args.log_dir is not None
    log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="rotation-bench-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    failed = True
    started = time.monotonic()
    try:
        results = asyncio.run(_run(args, log_dir))
        failed = False
    except KeyboardInterrupt:
        print("\ninterrupted; every process this run started has been stopped", file=sys.stderr)
        return 130
    except (
        WorkerFailed,
        ServiceFailed,
        SubscriberFailed,
        BrokerError,
        ConfigError,
        TimeoutError,
    ) as exc:
        print(f"rotation bench: failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if failed and not keep_logs:
            print(f"logs kept in {log_dir}", file=sys.stderr)
        elif not keep_logs:
            shutil.rmtree(log_dir, ignore_errors=True)
    results["parameters"]["wall_s"] = time.monotonic() - started
    print()
    print(report.format_table(results))
    print(f"\n(took {results['parameters']['wall_s']:.0f} s)")
    if args.json:
        report.write_json(results, args.json)
        print(f"results written to {args.json}")
    return 0


async def _run(args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    task = asyncio.current_task()
    assert task is not None
    stopping.install(asyncio.get_running_loop(), task)
    try:
        return await _measure(args, log_dir)
    except (asyncio.CancelledError, stopping.Interrupted):
        raise KeyboardInterrupt from None


async def _measure(args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    environment = describe_environment()
    sizes: list[int] = args.symbols
    paced_dir, drain_dir = log_dir / "paced", log_dir / "drain"
    paced_dir.mkdir(exist_ok=True)
    drain_dir.mkdir(exist_ok=True)
    paced_configs = {s: write_universe(paced_dir, s, args.bar_seconds) for s in sizes}
    drain_configs = {s: write_universe(drain_dir, s, DRAIN_BAR_SECONDS) for s in sizes}
    universes = {s: load_universe(paced_configs[s]) for s in sizes}

    _say(f"raw ceiling: {args.raw_messages:,} single-tick messages")
    raw = await raw_ceiling(max(sizes), args.raw_messages, args.repeat, args.seed, log_dir)

    ready_runs = []
    for rep in range(args.repeat):
        stopping.check()
        run = await e2e.ready_run(log_dir, f"up-r{rep + 1}")
        ready_runs.append(run)
        _say(f"rotation up, run {rep + 1}: first metrics at the client {run['ready_s']:.2f} s")

    drain_runs: dict[int, list[dict[str, Any]]] = {s: [] for s in sizes}
    workloads = {}
    for size in sizes:
        workloads[size] = make_workload(
            size,
            args.drain_ticks,
            bar_seconds=DRAIN_BAR_SECONDS,
            ticks_per_symbol_per_bar=DRAIN_TICKS_PER_BAR,
            seed=args.seed,
        )
    for rep in range(args.repeat):
        for size in sizes:
            stopping.check()
            gc.collect()
            tag = f"drain-{size}-r{rep + 1}-{uuid.uuid4().hex[:6]}"
            run = await e2e.drain_run(workloads[size], drain_configs[size], log_dir, tag)
            drain_runs[size].append(run)
            _say(
                f"backlog {size} symbols, run {rep + 1}: {run['ticks']:,} ticks in "
                f"{run['seconds']:.2f} s = {run['ticks_per_s']:,.0f} ticks/s "
                f"(first metrics {run['first_metrics_after_ready_s']:.2f} s after ready; "
                f"bare consume + decode {run['consume_decode_ticks_per_s']:,.0f} ticks/s)"
            )
    del workloads

    head = sizes[0]
    extra_rates: list[float] = args.rates[1:]
    feed_alone = None
    if extra_rates:
        top = max(args.rates)
        stopping.check()
        slots = PacedTicks(head, top, event_speed=args.event_speed, seed=args.seed).premade(
            FEED_ALONE_S
        )
        feed_alone = await e2e.feed_alone_run(slots, log_dir, f"feed-alone-{uuid.uuid4().hex[:6]}")
        feed_alone["rate"] = top
        del slots
        _say(
            f"paced feed alone at {top:,.0f} ticks/s: {_rate(feed_alone['achieved_ticks_per_s'])} "
            f"ticks/s, {feed_alone['late_slots']} slots late"
        )

    latency_runs: dict[int, list[dict[str, Any]]] = {s: [] for s in sizes}
    extra_runs: dict[float, list[dict[str, Any]]] = {r: [] for r in extra_rates}
    for rep in range(args.repeat):
        for size in sizes:
            stopping.check()
            universe = universes[size]
            run, feed = await _paced(
                args, universe, paced_configs[size], size, args.rate, args.duration, rep, log_dir
            )
            stopping.check()
            assert feed.started_at is not None
            partitions = sorted(
                {partition_for(s, DEFAULT_TOPICS.ticks.partitions) for s in universe.symbols}
            )
            run["pandas"] = run_baseline(
                universe,
                feed.appended,
                partitions,
                every_s=args.pandas_every,
                warmup_until=feed.started_at + args.warmup,
            )
            del feed
            latency_runs[size].append(run)
            lat, pd_lat = run["latency_ms"], run["pandas"]["latency_ms"]
            _say(
                f"paced {size} symbols, run {rep + 1}: {run['achieved_ticks_per_s']:,.0f} ticks/s, "
                f"latency p50 {_ms(lat['p50'])} p99 {_ms(lat['p99'])} max {_ms(lat['max'])} "
                f"over {run['intervals']} intervals; pandas p50 {_ms(pd_lat['p50'])} "
                f"p99 {_ms(pd_lat['p99'])}"
            )
        for rate in extra_rates:
            stopping.check()
            run, _feed = await _paced(
                args,
                universes[head],
                paced_configs[head],
                head,
                rate,
                args.extra_duration,
                rep,
                log_dir,
                keep_data=False,
            )
            extra_runs[rate].append(run)
            _say_paced(head, rate, run, f"run {rep + 1}")

    tested = {args.rate: keeping_up.verdict(latency_runs[head], args.rate)["keeps_up"]}
    tested.update({r: keeping_up.verdict(runs, r)["keeps_up"] for r, runs in extra_runs.items()})
    search_runs: list[dict[str, Any]] = []
    for _step in range(args.search_steps if not all(tested.values()) else 0):
        known = keeping_up.sustained(tested)
        rate = keeping_up.next_rate(
            known["ticks_per_s"],
            known["falls_behind_at"],
            lowest=min(args.rates) / SEARCH_BELOW,
            highest=max(args.rates),
        )
        if rate is None or rate in tested:
            break
        stopping.check()
        run, _feed = await _paced(
            args,
            universes[head],
            paced_configs[head],
            head,
            rate,
            args.search_duration,
            len(search_runs),
            log_dir,
            keep_data=False,
        )
        search_runs.append(run)
        tested[rate] = not keeping_up.behind_reasons(run, rate)
        _say_paced(head, rate, run, "search")

    soak = None
    if args.soak:
        size = sizes[0]
        stopping.check()
        _say(
            f"soak: {size} symbols at {args.soak_rate:,.0f} ticks/s for {args.soak:.0f} s, "
            f"event time x{args.soak_event_speed:g}"
        )
        soak = await e2e.soak_run(
            universes[size],
            paced_configs[size],
            symbols=size,
            rate=args.soak_rate,
            seconds=args.soak,
            event_speed=args.soak_event_speed,
            seed=args.seed,
            log_dir=log_dir,
            tag=f"soak-{size}-{uuid.uuid4().hex[:6]}",
            progress=_say,
        )

    environment["load_average_at_end"] = os.getloadavg()
    parameters = {
        "symbols": sizes,
        "quick": args.quick,
        "repeat": args.repeat,
        "rate": args.rate,
        "rates": args.rates,
        "extra_duration": args.extra_duration,
        "search_steps": args.search_steps,
        "search_duration": args.search_duration,
        "duration": args.duration,
        "warmup": args.warmup,
        "event_speed": args.event_speed,
        "bar_seconds": args.bar_seconds,
        "drain_ticks": args.drain_ticks,
        "drain_bar_seconds": DRAIN_BAR_SECONDS,
        "raw_messages": args.raw_messages,
        "pandas_every_s": args.pandas_every,
        "soak_s": args.soak,
        "soak_rate": args.soak_rate,
        "soak_event_speed": args.soak_event_speed,
        "seed": args.seed,
    }
    return report.summarize(
        parameters=parameters,
        environment=environment,
        raw=raw,
        ready_runs=ready_runs,
        drain_runs=drain_runs,
        latency_runs=latency_runs,
        soak=soak,
        extra_runs=extra_runs,
        search_runs=search_runs,
        tested=tested,
        feed_alone=feed_alone,
    )


async def _paced(
    args: argparse.Namespace,
    universe: Universe,
    config: Path,
    size: int,
    rate: float,
    duration: float,
    rep: int,
    log_dir: Path,
    *,
    keep_data: bool = True,
) -> tuple[dict[str, Any], PacedFeed]:
    """One paced run of ``size`` symbols at ``rate`` for ``duration`` measured seconds."""
    ticks = PacedTicks(size, rate, event_speed=args.event_speed, seed=args.seed + rep)
    slots = ticks.premade(args.warmup + duration)
    gc.collect()
    tag = f"paced-{size}-{rate:.0f}-r{rep + 1}-{uuid.uuid4().hex[:6]}"
    run, feed = await e2e.latency_run(
        universe,
        config,
        slots,
        symbols=size,
        rate=rate,
        warmup_s=args.warmup,
        log_dir=log_dir,
        tag=tag,
        keep_data=keep_data,
        **({} if keep_data else {"drain_timeout": EXTRA_DRAIN_S}),
    )
    run["duration_s"] = duration
    return run, feed


def _say_paced(size: int, rate: float, run: dict[str, Any], label: str) -> None:
    lat = run["latency_ms"]
    reasons = keeping_up.behind_reasons(run, rate)
    lag = run.get("last_interval_lag_s")
    _say(
        f"paced {size} symbols at {rate:,.0f} ticks/s, {label}: "
        f"{_rate(run['achieved_ticks_per_s'])} ticks/s, latency p50 {_ms(lat['p50'])} "
        f"p99 {_ms(lat['p99'])}, last interval {'n/a' if lag is None else f'{lag:.2f} s'}: "
        + ("keeps up" if not reasons else "falls behind (" + "; ".join(reasons) + ")")
    )


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} ms"


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    return run(options.build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
