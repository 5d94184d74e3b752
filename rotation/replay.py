"""``rotation replay``: a file of historical bars or ticks through the analytics.

Offline (the default), the rows run through the same analytics core as the worker
(:class:`agents.analytics.pipeline.Pipeline`) in this process, with no broker, and
every metrics snapshot and signal is written as a JSON line::

    {"type": "metrics", "data": {...MetricsSnapshot...}}
    {"type": "signal", "data": {...Signal...}}

With ``--kafka`` the same ticks go to ``quotes.ticks`` of a running system instead,
as columnar frames per partition, written by the producer every feed uses
(:class:`streams.tick_producer.TickProducer`), paced by event time at ``--speed`` event
seconds per wall second (0: as fast as possible).

Bars become ticks that rebuild the same bar in the pipeline. Each row is placed in
its bar on the sessions of the universe's ``[calendar]`` (:mod:`streams.sessions`):
a bar [start, end) gives::

    open   at start
    high   at start + 1 us
    low    at start + 2 us
    close  at end - 1 us     (carries the bar's volume)

A file without open/high/low columns gives the close tick alone; an empty open,
high or low cell takes the close. The interval I is the most common gap between
two consecutive bars of a symbol (daily data: 86400 s, weekends and holidays aside)
unless ``--bar-seconds`` gives it; it replaces the universe's ``[bars] seconds`` for
an offline run. Daily bars (I of a day or more) may be stamped at any time of their
session's date: the date alone (00:00 UTC), midnight New York, the open, the close;
each row is its session's bar, from its open to its close. A row on a date without
a session (a weekend, a holiday) is refused with its file and row. Intraday bars
must start at a session's open plus whole intervals (on XNYS with 3600 s bars:
09:30, 10:30, ... New York time). Without a calendar (``[calendar] exchange =
"24/7"``) bars start on the interval's grid counted from 1970-01-01 00:00 UTC and
end one interval later.

Rows are replayed in timestamp order (rows with equal times keep their file order).
A file in time order is read in chunks, so memory is bounded by the universe, not
the file; one whose first chunk is not is read whole and sorted in memory
(:mod:`rotation.replay_source`). Row numbers of ``--start-row`` count rows in that
order, from 0.

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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rotation.config import Universe, load_universe
from rotation.replay_checkpoint import Checkpoint
from rotation.replay_errors import ReplayError
from rotation.replay_frames import frames_from_columns
from rotation.replay_offline import replay_offline
from rotation.replay_plan import SOURCE, ReplayPlan, check_bars, infer_bar_seconds
from rotation.replay_source import Chunk, Tally, TimeOrdered
from rotation.tabular import CHUNK_ROWS, InputError, Table, concat, file_rows
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
    plans: Iterable[tuple[int, ReplayPlan]],
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
    """Send rows ``checkpoint.next_row:`` (less its ``skip_ticks``) of the plans (each
    with the time-ordered index of its first row, in order) to ``quotes.ticks``."""
    from aiokafka.errors import KafkaError

    from streams.tick_producer import TickProducer, TicksNotWritten, ticks_between

    batch = max_ticks * ticks_topic.partitions
    producer = TickProducer(bootstrap, topic=ticks_topic, security=security, max_ticks=max_ticks)
    result = KafkaResult()
    origin: tuple[int, float] | None = None
    try:
        await producer.start()
        checkpoint.save()
        for offset, plan in plans:
            first = checkpoint.next_row - offset
            if first >= len(plan.table):
                continue
            for lo, hi in plan.blocks(max(first, 0), batch):
                columns = plan.columns(lo, hi)
                ts = columns.ts
                pos = checkpoint.skip_ticks if offset + lo == checkpoint.next_row else 0
                checkpoint.next_row, checkpoint.skip_ticks = offset + lo, pos
                while pos < len(columns):
                    if stop.is_set():
                        result.interrupted = True
                        return result
                    end = min(pos + batch, len(columns))
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
                    part = columns.take(np.arange(pos, end))
                    frames = frames_from_columns(part, max_ticks, producer.partition_of, SOURCE)
                    what = ticks_between(end - pos, int(ts[pos]), int(ts[end - 1]))
                    await producer.send_frames(frames, end - pos, what)
                    result.ticks += end - pos
                    result.frames += len(frames)
                    pos = checkpoint.skip_ticks = end
                    checkpoint.save()
                    if speed > 0:
                        await asyncio.sleep(FLUSH_SECONDS)
                checkpoint.next_row, checkpoint.skip_ticks = offset + hi, 0
                checkpoint.save()
                if advance is not None:
                    advance(hi - lo, int(plan.table.ts[hi - 1]))
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
    source = TimeOrdered(args.file, args.sort, args.chunk_rows or CHUNK_ROWS, _note)
    chunks = iter(source)
    tally = Tally(frozenset(universe.symbols), 0)
    # The bar interval is inferred from the first chunk(s): held until it is known.
    held: list[tuple[Chunk, np.ndarray]] = []
    for chunk in chunks:
        held.append((chunk, tally.in_universe(chunk.table)))
        if chunk.table.kind == "ticks" or args.bar_seconds is not None:
            break
        if infer_bar_seconds(concat([c.table for c, _ in held]), _fed_rows(held)) is not None:
            break
    first = held[0][0].table
    if first.time_format.startswith(("epoch", "compact")):
        _note(f"timestamps read as {first.time_format}")
    bar_seconds = _bar_seconds(args, first, held, universe)
    tally.bar_us = bar_seconds * MICROS
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

    def plans(start: int) -> Iterator[tuple[int, ReplayPlan]]:
        """Every chunk as a plan, in time order; rows ``start:`` are counted."""
        pending = iter(held)
        while True:
            got = next(pending, None)
            if got is None:
                chunk = next(chunks, None)
                if chunk is None:
                    break
                got = chunk, tally.in_universe(chunk.table)
            chunk, fed = got
            table = chunk.table
            if table.kind == "bars":
                check_bars(table, np.flatnonzero(fed), bar_seconds, universe.calendar)
            tally.add(table, fed, min(max(0, start - chunk.offset), len(table)))
            yield chunk.offset, ReplayPlan(table, fed, bar_seconds, universe.calendar)
        held.clear()

    start = args.start_row or 0
    total = file_rows(args.file)
    if start > total:
        raise ReplayError(f"--start-row {start} is past the end of {first.path} ({total} rows)")
    show = not args.quiet and sys.stderr.isatty()
    label = Path(first.path).name
    if args.kafka:
        return _run_kafka(
            args, plans, first, bar_seconds, universe, tally, source, start, started, show
        )

    try:
        out_file = open(args.out, "wb") if args.out else None  # noqa: SIM115
    except OSError as exc:
        raise ReplayError(f"{args.out}: cannot write: {exc.strerror}") from None
    out = out_file or sys.stdout.buffer
    try:
        with _progress(total - start, label, show) as advance:
            result = replay_offline(plans(start), universe, out, start, advance)
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
    _after(first, tally, universe, source.rows, start, kafka=False)
    print(
        f"replayed {first.path}: {source.rows - start} rows, {result.ticks} ticks, "
        f"{tally.bars} bars, {result.snapshots} snapshots, {result.signals} signals, "
        f"{result.late} late ticks in {time.monotonic() - started:.2f} s"
        + (f" -> {args.out}" if args.out else ""),
        file=sys.stderr,
        flush=True,
    )
    return 0


def _fed_rows(held: list[tuple[Chunk, np.ndarray]]) -> np.ndarray:
    return np.flatnonzero(np.concatenate([fed for _, fed in held]))


def _after(
    table: Table, tally: Tally, universe: Universe, rows: int, start: int, *, kafka: bool
) -> None:
    """What the whole file turned out to hold: errors and notes known only at its end."""
    if start > rows:
        raise ReplayError(f"--start-row {start} is past the end of {table.path} ({rows} rows)")
    if not tally.inside:
        found = ", ".join(sorted(tally.outside)[:10])
        raise ReplayError(
            f"{table.path}: none of its symbols ({found}) is in the universe {universe.source}; "
            "pick another with --config"
        )
    if tally.outside:
        outside = pd.Series(tally.outside).sort_values(ascending=False, kind="stable")
        names = ", ".join(f"{s} ({n})" for s, n in list(outside.items())[:10])
        more = f" and {outside.size - 10} more" if outside.size > 10 else ""
        _note(
            f"{int(outside.sum())} rows of {outside.size} symbol(s) not in the universe were "
            f"skipped: {names}{more}"
        )
    missing = sorted(set(universe.symbols) - tally.present)
    if missing:
        _note(
            f"universe symbols without rows in {table.path}: {', '.join(missing)} "
            "(pairs and groups that need them get no metrics)"
        )
    TICKS = universe.topics.ticks
    home = partitioner(TICKS.partitions)
    idle = {home(s) for s in universe.symbols} - {home(s) for s in tally.present}
    if kafka and idle:
        _note(
            f"partition(s) {', '.join(map(str, sorted(idle)))} of {TICKS.name} got no ticks from "
            "this file, so a worker with this universe never completes an interval: use a "
            "--config (for the worker too) whose symbols all have rows in the file"
        )


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
    if args.chunk_rows is not None and args.chunk_rows < 1:
        raise ReplayError(f"--chunk-rows must be >= 1, got {args.chunk_rows}")
    if args.start_row is not None and args.start_row < 0:
        raise ReplayError(f"--start-row must be >= 0, got {args.start_row}")


def _bar_seconds(
    args: argparse.Namespace,
    table: Table,
    held: list[tuple[Chunk, np.ndarray]],
    universe: Universe,
) -> int:
    if args.bar_seconds is not None:
        return int(args.bar_seconds)
    if table.kind == "ticks":
        return universe.bar_seconds
    inferred = infer_bar_seconds(concat([c.table for c, _ in held]), _fed_rows(held))
    if inferred is None:
        raise ReplayError(
            f"{table.path}: cannot infer the bar interval (no symbol has two bars): "
            "pass --bar-seconds"
        )
    return inferred


def _run_kafka(
    args: argparse.Namespace,
    plans: Callable[[int], Iterator[tuple[int, ReplayPlan]]],
    table: Table,
    bar_seconds: int,
    universe: Universe,
    tally: Tally,
    source: TimeOrdered,
    start: int,
    started: float,
    show: bool,
) -> int:
    from aiokafka.errors import KafkaError

    from rotation.environment import settings_from_env
    from streams.admin import ensure_topics
    from streams.probe import api_versions_probe

    settings = settings_from_env(args.bootstrap)
    TICKS = universe.topics.ticks
    bootstrap = settings.bootstrap
    path = Path(args.checkpoint) if args.checkpoint else Checkpoint.default_path(table.path)
    size = Path(table.path).stat().st_size
    rows = file_rows(table.path)
    fresh = Checkpoint(
        path,
        str(Path(table.path).resolve()),
        size,
        rows,
        table.kind,
        bar_seconds,
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
        with _progress(rows - first_row, Path(table.path).name, show) as advance:
            return await replay_kafka(
                plans(first_row),
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
    _after(table, tally, universe, source.rows, first_row, kafka=True)
    resumed = f" (from row {first_row} +{first_skip} ticks)" if first_row or first_skip else ""
    print(
        f"sent {table.path} to {TICKS.name} at {bootstrap}{resumed}: "
        f"{source.rows - first_row} rows, {result.ticks} ticks, {tally.bars} bars, "
        f"{result.frames} frames in {seconds:.2f} s",
        file=sys.stderr,
        flush=True,
    )
    return 0
