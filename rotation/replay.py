"""``rotation replay``: files of historical bars or ticks through the analytics.

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

The input is one file (long format, or the bars of one symbol named by the file or
``--symbol``; :mod:`rotation.tabular`), a folder of such files, or several paths:
files of a folder or several paths are read whole and merged in time order, those
that cannot be read listed at the end (:mod:`rotation.replay_source`).

Bad bars (high below the open or close, low above them: :mod:`rotation.bad_bars`)
are not replayed: each gets a note on stderr (the first :data:`NOTED_BAD_BARS`, then
a count), and with ``--kafka`` a dead letter with the reason ``bad_bar`` and the row as
written, sent once the rows before it were sent; the summary line counts them.

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
import hashlib
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rotation.bad_bars import REASON as BAD_BAR
from rotation.bad_bars import number, why_bad
from rotation.config import Universe, load_universe
from rotation.replay_checkpoint import CHECKPOINT_DIR, Checkpoint
from rotation.replay_errors import ReplayError
from rotation.replay_frames import frames_from_columns
from rotation.replay_offline import replay_offline
from rotation.replay_plan import SOURCE, ReplayPlan, check_bars, infer_bar_seconds
from rotation.replay_source import Chunk, Merged, Tally, TimeOrdered
from rotation.tabular import ADJ_CLOSE, CHUNK_ROWS, InputError, Table, concat
from streams.kafka import KafkaSecurity
from streams.partitioning import partitioner
from streams.topics import DEFAULT_TOPICS, TopicSpec
from streams.units import MICROS, iso_from_micros

FLUSH_SECONDS = 0.02
NOTED_BAD_BARS = 20
"""Bad bars noted one by one on stderr; the rest are counted."""


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
    rows_sent: Callable[[int], Awaitable[None]] | None = None,
) -> KafkaResult:
    """Send rows ``checkpoint.next_row:`` (less its ``skip_ticks``) of the plans (each
    with the time-ordered index of its first row, in order) to ``quotes.ticks``;
    ``rows_sent(end)`` is awaited once every row before ``end`` is sent, before the
    checkpoint moves past them."""
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
                if rows_sent is not None:
                    await rows_sent(offset + hi)
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
    tally = Tally(frozenset(universe.symbols), 0)
    source = _source(args, tally.universe)
    if isinstance(source, Merged):
        tally.outside.update(source.dropped)
    chunks = iter(source)
    bad_bars = BadBars(tally)

    def fed_rows(table: Table) -> np.ndarray:
        """The rows replayed: in the universe, and not bad bars."""
        return tally.in_universe(table) & ~table.bad

    # The bar interval is inferred from the first chunk(s): held until it is known.
    held: list[tuple[Chunk, np.ndarray]] = []
    for chunk in chunks:
        held.append((chunk, fed_rows(chunk.table)))
        if chunk.table.kind == "ticks" or args.bar_seconds is not None:
            break
        if infer_bar_seconds(concat([c.table for c, _ in held]), _fed_rows(held)) is not None:
            break
    first = held[0][0].table
    if not tally.inside and isinstance(source, Merged):
        raise _not_in_universe(first, ", ".join(sorted(tally.outside)[:10]), universe)
    if first.layout == "one symbol" and len(first.origins) == 1 and not tally.inside:
        raise _not_in_universe(first, str(first.symbols[0]), universe)
    if first.time_format.startswith(("epoch", "compact")):
        _note(f"timestamps read as {first.time_format}")
    _layout_notes(first, args)
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
                got = chunk, fed_rows(chunk.table)
            chunk, fed = got
            table = chunk.table
            if table.kind == "bars":
                check_bars(table, np.flatnonzero(fed), bar_seconds, universe.calendar)
            first_counted = min(max(0, start - chunk.offset), len(table))
            tally.add(table, fed, first_counted)
            bad_bars.found(chunk, first_counted)
            yield chunk.offset, ReplayPlan(table, fed, bar_seconds, universe.calendar)
        held.clear()

    start = args.start_row or 0
    total = source.total_rows()
    if start > total:
        raise ReplayError(f"--start-row {start} is past the end of {first.path} ({total} rows)")
    show = not args.quiet and sys.stderr.isatty()
    label = Path(first.path).name
    if args.kafka:
        return _run_kafka(
            args, plans, first, bar_seconds, universe, tally, source, start, started, show, bad_bars
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
    bad_bars.done()
    _after(first, tally, universe, source, start, kafka=False)
    print(
        f"replayed {first.path}: {source.rows - start} rows, {result.ticks} ticks, "
        f"{tally.bars} bars, {result.snapshots} snapshots, {result.signals} signals, "
        f"{result.late} late ticks, {tally.bad} bad bars in {time.monotonic() - started:.2f} s"
        + (f" -> {args.out}" if args.out else ""),
        file=sys.stderr,
        flush=True,
    )
    return 0


def _source(args: argparse.Namespace, universe: frozenset[str]) -> TimeOrdered | Merged:
    """One file read in chunks, or several (a folder, several paths) read whole."""
    inputs = list(getattr(args, "files", None) or [args.file])
    symbol = getattr(args, "symbol", None)
    adjusted = bool(getattr(args, "adjusted", False))
    if len(inputs) == 1 and not Path(inputs[0]).is_dir():
        return TimeOrdered(
            inputs[0],
            bool(getattr(args, "sort", False)),
            getattr(args, "chunk_rows", None) or CHUNK_ROWS,
            _note,
            symbol=symbol,
            adjusted=adjusted,
        )
    if symbol is not None:
        raise ReplayError(
            "--symbol names the symbol of one file; the files of a folder or of several "
            "paths are named by their file names"
        )
    return Merged.read(
        inputs, adjusted, _note, universe, getattr(args, "chunk_rows", None) or CHUNK_ROWS
    )


def _layout_notes(table: Table, args: argparse.Namespace) -> None:
    """Say how the file was read where a user could expect otherwise."""
    if table.layout == "one symbol" and len(table.origins) == 1:
        named = (
            "--symbol" if getattr(args, "symbol", None) else "the file's name (--symbol sets it)"
        )
        _note(
            f"{table.path} has no 'symbol' column: its rows are the {table.kind} of "
            f"{table.symbols[0] if len(table) else '?'}, named by {named}"
        )
    adj = [o for o in table.origins if any(k in o.names for k in ADJ_CLOSE)]
    if getattr(args, "adjusted", False):
        _note(
            "close prices from 'Adj Close' (--adjusted), open, high and low scaled by "
            "Adj Close / Close"
        )
    elif adj:
        _note(
            f"close prices from 'Close', not 'Adj Close' ({len(adj)} file(s) have both); "
            "--adjusted replays 'Adj Close' (adjusted for dividends too)"
        )


def _not_in_universe(table: Table, found: str, universe: Universe) -> ReplayError:
    named = (
        f" (it has no 'symbol' column: its rows are read as the bars of {found}, named by "
        "the file; rename it or pass --symbol)"
        if table.layout == "one symbol" and len(table.origins) == 1
        else ""
    )
    return ReplayError(
        f"{table.path}: none of its symbols ({found}) is in the universe {universe.source}; "
        f"pick another with --config{named}"
    )


def _fed_rows(held: list[tuple[Chunk, np.ndarray]]) -> np.ndarray:
    return np.flatnonzero(np.concatenate([fed for _, fed in held]))


@dataclass
class BadBars:
    """The bad bars of the replayed rows: noted on stderr, kept for the dead-letter topic."""

    tally: Tally
    pending: dict[int, tuple[str, str, int, bytes]] = dataclasses.field(default_factory=dict)
    """Time-ordered row -> (file, detail, row, row as written), until dead-lettered."""
    keep: bool = False
    """Keep them for the dead-letter topic (``--kafka``)."""

    def found(self, chunk: Chunk, first: int) -> None:
        """Note the bad bars of universe symbols in rows ``first:`` of a chunk."""
        table = chunk.table
        mask = table.bad.copy()
        mask[:first] = False
        rows = np.flatnonzero(mask)
        if rows.size:
            rows = rows[np.isin(table.symbols[rows], list(self.tally.universe))]
        for i in rows.tolist():
            self.tally.bad += 1
            detail = _bad_bar(table, i)
            if self.tally.bad <= NOTED_BAD_BARS:
                _note(detail)
            if self.keep:
                source = table.source_of(i).path
                self.pending[chunk.offset + i] = (
                    source,
                    detail,
                    int(table.rows[i]),
                    table.original(i),
                )

    def done(self) -> None:
        if self.tally.bad > NOTED_BAD_BARS:
            _note(
                f"{self.tally.bad - NOTED_BAD_BARS} more bad bars not used (not noted one by one)"
            )

    def due(self, end: int) -> list[tuple[str, str, int, bytes]]:
        """The pending bad bars of rows before ``end``, in row order; forgets them."""
        rows = sorted(r for r in self.pending if r < end)
        return [self.pending.pop(r) for r in rows]


def _bad_bar(table: Table, i: int) -> str:
    """``FILE, row R (line L): bad bar of IWM at 2026-01-05 00:00:00 not used: high 9 is
    below close 10 (open 9.5, high 9, low 9.2, close 10)``."""
    values = table.values
    bar = tuple(
        float(values[k][i]) if k in values else float("nan")
        for k in ("open", "high", "low", "close")
    )
    o, h, low, c = bar
    shown = ", ".join(
        f"{k} {number(v)}"
        for k, v in zip(("open", "high", "low", "close"), bar, strict=True)
        if v == v
    )
    return (
        f"{table.where(i)}: bad bar of {table.symbols[i]} at "
        f"{iso_from_micros(int(table.ts[i]))[:19].replace('T', ' ')} not used: "
        f"{why_bad(o, h, low, c)} ({shown})"
    )


def _after(
    table: Table,
    tally: Tally,
    universe: Universe,
    source: TimeOrdered | Merged,
    start: int,
    *,
    kafka: bool,
) -> None:
    """What the whole input turned out to hold: errors and notes known only at its end."""
    rows = source.rows
    if start > rows:
        raise ReplayError(f"--start-row {start} is past the end of {table.path} ({rows} rows)")
    for _, why in source.unreadable:
        _note(f"not read: {why}")
    if not tally.inside:
        raise _not_in_universe(table, ", ".join(sorted(tally.outside)[:10]), universe)
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
    source: TimeOrdered | Merged,
    start: int,
    started: float,
    show: bool,
    bad_bars: BadBars,
) -> int:
    from aiokafka import AIOKafkaProducer
    from aiokafka.errors import KafkaError

    from agents.deadletters import dead_letter
    from rotation.environment import settings_from_env
    from streams.admin import ensure_topics
    from streams.kafka import kafka_client_kwargs
    from streams.probe import api_versions_probe

    settings = settings_from_env(args.bootstrap)
    TICKS = universe.topics.ticks
    DEADLETTER = universe.topics.deadletter
    bootstrap = settings.bootstrap
    files = source.files
    if args.checkpoint:
        path = Path(args.checkpoint)
    elif len(source.inputs) == 1:
        path = Checkpoint.default_path(source.inputs[0])
    else:
        digest = hashlib.sha256(
            "\n".join(str(Path(f).resolve()) for f in source.inputs).encode()
        ).hexdigest()[:10]
        name = f"{Path(source.inputs[0]).name}+{len(source.inputs) - 1}-{digest}.json"
        path = CHECKPOINT_DIR / name
    size = sum(Path(f).stat().st_size for f in files)
    rows = source.total_rows()
    bad_bars.keep = True
    fresh = Checkpoint(
        path,
        ", ".join(str(Path(f).resolve()) for f in files),
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
    # Made on the first bad bar: a replay without any opens no second connection.
    producers: list[AIOKafkaProducer] = []

    async def rows_sent(end: int) -> None:
        """Dead letters for the bad bars before row ``end``, acknowledged."""
        due = bad_bars.due(end)
        if not due:
            return
        try:
            if not producers:
                producers.append(
                    AIOKafkaProducer(**kafka_client_kwargs(bootstrap, settings.security))
                )
                await producers[0].start()
            pending = [
                await producers[0].send(
                    DEADLETTER.name,
                    key=BAD_BAR.encode(),
                    value=dead_letter(BAD_BAR, detail, file, 0, row, original, SOURCE),
                )
                for file, detail, row, original in due
            ]
            await asyncio.gather(*pending)
        except KafkaError as exc:
            raise ReplayError(
                f"sending {len(due)} bad bars to {DEADLETTER.name} at {bootstrap} failed: "
                f"{exc}; continue with --resume (checkpoint {path})"
            ) from None

    async def main() -> KafkaResult:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await ensure_topics(bootstrap, universe.topics, settings.security)
        except KafkaError as exc:
            raise ReplayError(f"cannot create the topics on {bootstrap}: {exc}") from None
        try:
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
                    rows_sent=rows_sent,
                )
        finally:
            for producer in producers:
                with contextlib.suppress(Exception):
                    await producer.stop()

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
    bad_bars.done()
    _after(table, tally, universe, source, first_row, kafka=True)
    resumed = f" (from row {first_row} +{first_skip} ticks)" if first_row or first_skip else ""
    print(
        f"sent {table.path} to {TICKS.name} at {bootstrap}{resumed}: "
        f"{source.rows - first_row} rows, {result.ticks} ticks, {tally.bars} bars, "
        f"{result.frames} frames, {tally.bad} bad bars to {DEADLETTER.name} in {seconds:.2f} s",
        file=sys.stderr,
        flush=True,
    )
    return 0
