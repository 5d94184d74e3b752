"""``rotation replay``: a file of historical bars or ticks through the analytics.

Offline (the default), the rows run through the same analytics core as the worker
(:class:`agents.analytics.pipeline.Pipeline`) in this process, with no broker, and
every metrics snapshot and signal is written as a JSON line::

    {"type": "metrics", "data": {...MetricsSnapshot...}}
    {"type": "signal", "data": {...Signal...}}

With ``--kafka`` the same ticks go to ``quotes.ticks`` of a running system instead,
as :class:`TickFrame` messages per partition, written by the producer every feed uses
(:class:`streams.tick_producer.TickProducer`), paced by event time at ``--speed`` event
seconds per wall second (0: as fast as possible).

Bars become ticks that rebuild the same bar in the pipeline. A bar of interval I
starting at t gives::

    open   at t
    high   at t + 1 us
    low    at t + 2 us
    close  at t + I - 1 us   (carries the bar's volume)

A file without open/high/low columns gives the close tick alone; an empty open,
high or low cell takes the close. The interval I is the most common gap between
two consecutive bars of a symbol (daily data: 86400 s) unless ``--bar-seconds``
gives it; it replaces the universe's ``[bars] seconds`` for an offline run. Bars
must start on the interval's grid counted from 1970-01-01 00:00 UTC, as the
pipeline's bars do (every date, and every intraday bar that starts on the clock).

Rows are replayed in timestamp order (a stable sort: rows with equal times keep
their file order). Row numbers of ``--start-row`` count rows in that order, from 0.

Resuming a ``--kafka`` replay: after every batch the broker acknowledged, the
position (the row where the current group of equal-time rows began and how many of
its ticks were sent) is written to a checkpoint file, by default
``.rotation/replay/<file name>-<hash of its absolute path>.json`` under the current
directory (``--checkpoint PATH`` picks another). ``--resume`` continues from it
without resending a tick; after Ctrl-C or SIGTERM the replay stops after the batch
in flight and says how to continue.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rotation.config import Universe, load_universe
from rotation.replay_checkpoint import Checkpoint
from rotation.replay_errors import ReplayError
from rotation.replay_offline import replay_offline
from rotation.replay_plan import ReplayPlan, check_bars, infer_bar_seconds
from rotation.tabular import InputError, Table, read_table
from streams.kafka import KafkaSecurity
from streams.partitioning import partitioner
from streams.topics import DEFAULT_TOPICS, TopicSpec
from streams.units import MICROS, iso_from_micros

FLUSH_SECONDS = 0.02


def _note(text: str) -> None:
    print(f"note: {text}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _progress(total: int, label: str, enabled: bool) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr; yields ``advance(ticks, event_time)``."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("ticks  {task.fields[at]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not enabled,
    ) as progress:
        task = progress.add_task(label, total=total, at="")

        def advance(ticks: int, event_time: int) -> None:
            progress.update(
                task, advance=ticks, at=iso_from_micros(event_time)[:19].replace("T", " ")
            )

        yield advance


# Offline.


# Kafka.


@dataclass
class KafkaResult:
    ticks: int = 0
    frames: int = 0
    interrupted: bool = False


async def replay_kafka(
    plan: ReplayPlan,
    bootstrap: str,
    checkpoint: Checkpoint,
    *,
    speed: float,
    max_ticks: int,
    stop: asyncio.Event,
    advance: Callable[[int, int], None] | None = None,
    ticks_topic: TopicSpec = DEFAULT_TOPICS.ticks,
    security: KafkaSecurity | None = None,
) -> KafkaResult:
    """Send rows ``checkpoint.next_row:`` (less its ``skip_ticks``) to ``quotes.ticks``."""
    from aiokafka.errors import KafkaError

    from streams.tick_producer import TickProducer, TicksNotWritten

    batch = max_ticks * ticks_topic.partitions
    producer = TickProducer(bootstrap, topic=ticks_topic, security=security, max_ticks=max_ticks)
    result = KafkaResult()
    origin: tuple[int, float] | None = None
    try:
        await producer.start()
        checkpoint.save()
        for lo, hi in plan.blocks(checkpoint.next_row, batch):
            ticks = plan.ticks(lo, hi)
            ts = np.fromiter((t.ts for t in ticks), dtype=np.int64, count=len(ticks))
            pos = checkpoint.skip_ticks if lo == checkpoint.next_row else 0
            checkpoint.next_row, checkpoint.skip_ticks = lo, pos
            while pos < len(ticks):
                if stop.is_set():
                    result.interrupted = True
                    return result
                end = min(pos + batch, len(ticks))
                if speed > 0:
                    if origin is None:
                        origin = (int(ts[pos]), time.monotonic())
                    due = origin[0] + (time.monotonic() - origin[1]) * speed * MICROS
                    end = min(end, int(np.searchsorted(ts, due, side="right")))
                    if end <= pos:
                        wait = (ts[pos] - due) / MICROS / speed
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(min(max(wait, 0.001), 0.2)):
                                await stop.wait()
                        continue
                frames = await producer.send(ticks[pos:end])
                result.ticks += end - pos
                result.frames += len(frames)
                if advance is not None:
                    advance(end - pos, int(ts[end - 1]))
                pos = checkpoint.skip_ticks = end
                checkpoint.save()
                if speed > 0:
                    await asyncio.sleep(FLUSH_SECONDS)
            checkpoint.next_row, checkpoint.skip_ticks = hi, 0
            checkpoint.save()
        checkpoint.done = True
        checkpoint.save()
        return result
    except (KafkaError, TicksNotWritten) as exc:
        raise ReplayError(
            f"sending to {bootstrap} failed at row {checkpoint.next_row}: {exc}; "
            f"continue with --resume (checkpoint {checkpoint.path})"
        ) from None
    finally:
        await producer.stop()


# The command.


def run_replay(args: argparse.Namespace) -> int:
    """``rotation replay FILE``; returns the exit status."""
    try:
        return _run(args)
    except InputError as exc:
        raise ReplayError(str(exc)) from None


def _run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    _check_flags(args)
    universe = load_universe(args.config)
    table = read_table(args.file).sorted_by_time()
    in_universe = np.array([s in universe.symbols for s in table.symbols], dtype=bool)
    fed_rows = np.flatnonzero(in_universe)
    if fed_rows.size == 0:
        found = ", ".join(sorted(set(table.symbols.tolist()))[:10])
        raise ReplayError(
            f"{table.path}: none of its symbols ({found}) is in the universe {universe.source}; "
            "pick another with --config"
        )
    outside = pd.Series(table.symbols[~in_universe]).value_counts()
    if outside.size:
        names = ", ".join(f"{s} ({n})" for s, n in list(outside.items())[:10])
        more = f" and {outside.size - 10} more" if outside.size > 10 else ""
        _note(
            f"{int(outside.sum())} rows of {outside.size} symbol(s) not in the universe are "
            f"skipped: {names}{more}"
        )
    present = set(table.symbols[fed_rows].tolist())
    missing = sorted(set(universe.symbols) - present)
    if missing:
        _note(
            f"universe symbols without rows in {table.path}: {', '.join(missing)} "
            "(pairs and groups that need them get no metrics)"
        )
    TICKS = universe.topics.ticks
    home = partitioner(TICKS.partitions)
    idle = {home(s) for s in universe.symbols} - {home(s) for s in present}
    if args.kafka and idle:
        _note(
            f"partition(s) {', '.join(map(str, sorted(idle)))} of {TICKS.name} get no ticks from "
            "this file, so a worker with this universe never completes an interval: use a "
            "--config (for the worker too) whose symbols all have rows in the file"
        )
    if table.time_format.startswith(("epoch", "compact")):
        _note(f"timestamps read as {table.time_format}")

    bar_seconds = _bar_seconds(args, table, fed_rows, universe)
    if table.kind == "bars":
        check_bars(table, fed_rows, bar_seconds)
    if bar_seconds != universe.bar_seconds:
        if args.kafka:
            _note(
                f"the file's bars are {bar_seconds} s, {universe.source} says "
                f"{universe.bar_seconds} s: the worker builds bars of its own config's interval"
            )
        else:
            origin = "from the file" if args.bar_seconds is None else "--bar-seconds"
            _note(
                f"bar interval {bar_seconds} s ({origin}) replaces the "
                f"{universe.bar_seconds} s of {universe.source} for this run"
            )
            universe = dataclasses.replace(universe, bar_seconds=bar_seconds)
    plan = ReplayPlan(table, in_universe, bar_seconds)
    start = args.start_row or 0
    if start > len(table):
        raise ReplayError(
            f"--start-row {start} is past the end of {table.path} ({len(table)} rows)"
        )
    show = not args.quiet and sys.stderr.isatty()
    label = Path(table.path).name
    if args.kafka:
        return _run_kafka(args, plan, universe, start, started, show, label)

    try:
        out_file = open(args.out, "wb") if args.out else None  # noqa: SIM115
    except OSError as exc:
        raise ReplayError(f"{args.out}: cannot write: {exc.strerror}") from None
    out = out_file or sys.stdout.buffer
    try:
        with _progress(plan.tick_count(start), label, show) as advance:
            result = replay_offline(plan, universe, out, start, advance)
        out.flush()
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not an error of the replay.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        raise ReplayError(f"{args.out or 'stdout'}: cannot write: {exc.strerror}") from None
    finally:
        if out_file is not None:
            out_file.close()
    print(
        f"replayed {table.path}: {len(table) - start} rows, {result.ticks} ticks, "
        f"{plan.bar_count(start)} bars, {result.snapshots} snapshots, {result.signals} signals, "
        f"{result.late} late ticks in {time.monotonic() - started:.2f} s"
        + (f" -> {args.out}" if args.out else ""),
        file=sys.stderr,
        flush=True,
    )
    return 0


def _check_flags(args: argparse.Namespace) -> None:
    if args.kafka:
        if args.out:
            raise ReplayError(
                "--out is for offline replays; with --kafka the worker publishes the results "
                "on rotation.metrics and rotation.signals"
            )
        if args.resume and args.start_row is not None:
            raise ReplayError("--resume and --start-row exclude each other: pick one")
    else:
        for flag, value in (
            ("--bootstrap", args.bootstrap),
            ("--speed", args.speed),
            ("--resume", args.resume or None),
            ("--checkpoint", args.checkpoint),
        ):
            if value is not None:
                raise ReplayError(f"{flag} applies to --kafka replays only")
    if args.bar_seconds is not None and args.bar_seconds <= 0:
        raise ReplayError(f"--bar-seconds must be > 0, got {args.bar_seconds}")
    if args.speed is not None and not args.speed >= 0:
        raise ReplayError(f"--speed must be >= 0 (0: as fast as possible), got {args.speed}")
    if args.start_row is not None and args.start_row < 0:
        raise ReplayError(f"--start-row must be >= 0, got {args.start_row}")


def _bar_seconds(
    args: argparse.Namespace, table: Table, rows: np.ndarray, universe: Universe
) -> int:
    if args.bar_seconds is not None:
        return int(args.bar_seconds)
    if table.kind == "ticks":
        return universe.bar_seconds
    inferred = infer_bar_seconds(table, rows)
    if inferred is None:
        raise ReplayError(
            f"{table.path}: cannot infer the bar interval (no symbol has two bars): "
            "pass --bar-seconds"
        )
    return inferred


def _run_kafka(
    args: argparse.Namespace,
    plan: ReplayPlan,
    universe: Universe,
    start: int,
    started: float,
    show: bool,
    label: str,
) -> int:
    from aiokafka.errors import KafkaError

    from rotation.environment import settings_from_env
    from streams.admin import ensure_topics
    from streams.probe import api_versions_probe

    settings = settings_from_env(args.bootstrap)
    TICKS = universe.topics.ticks
    bootstrap = settings.bootstrap
    table = plan.table
    path = Path(args.checkpoint) if args.checkpoint else Checkpoint.default_path(table.path)
    size = Path(table.path).stat().st_size
    fresh = Checkpoint(
        path,
        str(Path(table.path).resolve()),
        size,
        len(table),
        table.kind,
        plan.bar_seconds,
        next_row=start,
    )
    if args.resume:
        checkpoint = Checkpoint.load(path)
        if not checkpoint.matches(fresh):
            raise ReplayError(
                f"{path} is the checkpoint of another file or bar interval "
                f"({checkpoint.file}, {checkpoint.rows} rows, {checkpoint.bar_seconds} s bars)"
            )
        if checkpoint.done:
            print(f"{table.path}: already replayed completely (checkpoint {path})", file=sys.stderr)
            return 0
    else:
        if args.start_row is None and path.exists():
            previous = Checkpoint.load(path)
            if not previous.done and previous.matches(fresh):
                raise ReplayError(
                    f"an earlier replay of {table.path} stopped at row {previous.next_row} "
                    f"(checkpoint {path}): add --resume to continue it, or --start-row 0 to "
                    "send the file again from the start"
                )
        checkpoint = fresh
    try:
        # A plain-text probe; a TLS listener would not answer it (the client says why).
        if not settings.security.uses_tls:
            api_versions_probe(bootstrap, timeout=5.0)
    except OSError as exc:
        raise ReplayError(f"no Kafka broker answers at {bootstrap}: {exc}") from None
    remaining = plan.tick_count(checkpoint.next_row) - checkpoint.skip_ticks
    first_row, first_skip = checkpoint.next_row, checkpoint.skip_ticks

    async def main() -> KafkaResult:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await ensure_topics(bootstrap, universe.topics, settings.security)
        except KafkaError as exc:
            raise ReplayError(f"cannot create the topics on {bootstrap}: {exc}") from None
        with _progress(remaining, label, show) as advance:
            return await replay_kafka(
                plan,
                bootstrap,
                checkpoint,
                speed=args.speed or 0.0,
                max_ticks=universe.simulator.frame_max_ticks,
                stop=stop,
                advance=advance,
                ticks_topic=TICKS,
                security=settings.security,
            )

    result = asyncio.run(main())
    seconds = time.monotonic() - started
    if result.interrupted:
        print(
            f"interrupted after {result.ticks} ticks in {result.frames} frames to {bootstrap}; "
            f"checkpoint {path} stands at row {checkpoint.next_row} (+{checkpoint.skip_ticks} "
            "ticks): run the same command with --resume to continue",
            file=sys.stderr,
            flush=True,
        )
        return 130
    resumed = f" (from row {first_row} +{first_skip} ticks)" if first_row or first_skip else ""
    print(
        f"sent {table.path} to {TICKS.name} at {bootstrap}{resumed}: "
        f"{len(table) - first_row} rows, {result.ticks} ticks, {plan.bar_count(first_row)} bars, "
        f"{result.frames} frames in {seconds:.2f} s",
        file=sys.stderr,
        flush=True,
    )
    return 0
