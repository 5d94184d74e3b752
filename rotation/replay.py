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
import hashlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from rotation.config import Universe, load_universe
from rotation.tabular import InputError, Table, read_table
from streams.codec import encode
from streams.errors import RotationError
from streams.kafka import KafkaSecurity
from streams.partitioning import partitioner
from streams.records import MetricsSnapshot, Signal, Tick
from streams.topics import DEFAULT_TOPICS, TopicSpec

MICROS = 1_000_000
SOURCE = "replay"
OFFLINE_BLOCK_TICKS = 50_000
FLUSH_SECONDS = 0.02
CHECKPOINT_DIR = Path(".rotation") / "replay"

_METRICS_LINE = b'{"type":"metrics","data":'
_SIGNAL_LINE = b'{"type":"signal","data":'


class ReplayError(RotationError):
    """A replay that cannot run; the message says what to fix."""


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts / MICROS, UTC).isoformat().replace("+00:00", "Z")


def _note(text: str) -> None:
    print(f"note: {text}", file=sys.stderr, flush=True)


def infer_bar_seconds(table: Table, rows: np.ndarray) -> int | None:
    """The most common gap between consecutive bars of a symbol, in seconds (ties: the
    smallest), or None when no symbol has two bars."""
    codes, _ = pd.factorize(table.symbols[rows])
    ts = table.ts[rows]
    order = np.lexsort((ts, codes))
    codes, ts = codes[order], ts[order]
    gaps = np.diff(ts)[(codes[1:] == codes[:-1])]
    gaps = gaps[gaps > 0]
    if gaps.size == 0:
        return None
    values, counts = np.unique(gaps, return_counts=True)
    gap = int(values[np.argmax(counts)])
    if gap % MICROS:
        raise ReplayError(
            f"{table.path}: the most common gap between two bars of a symbol is {gap} us, "
            "not a whole number of seconds: pass --bar-seconds"
        )
    return gap // MICROS


def _check_bars(table: Table, rows: np.ndarray, bar_seconds: int) -> None:
    """Bars must lie on the pipeline's grid, one per symbol and interval."""
    bar_us = bar_seconds * MICROS
    off = rows[table.ts[rows] % bar_us != 0]
    if off.size:
        i = int(off[0])
        raise ReplayError(
            f"{table.where(i, 'timestamp')}: the bar starts at {_iso(int(table.ts[i]))}, off the "
            f"{bar_seconds} s grid counted from 1970-01-01 00:00 UTC on which the pipeline's bars "
            "start; check the bar interval (--bar-seconds)"
        )
    codes, _ = pd.factorize(table.symbols[rows])
    order = np.lexsort((table.ts[rows], codes))
    same = (codes[order][1:] == codes[order][:-1]) & (np.diff(table.ts[rows][order]) == 0)
    if same.any():
        k = int(np.flatnonzero(same)[0])
        first, second = int(rows[order][k]), int(rows[order][k + 1])
        raise ReplayError(
            f"{table.where(second, 'timestamp')}: a second {table.symbols[second]} bar at "
            f"{_iso(int(table.ts[second]))} (the first is row {int(table.rows[first])})"
        )


@dataclass
class ReplayPlan:
    """The ticks a time-sorted table turns into, in event-time order, by row range."""

    table: Table
    fed: np.ndarray
    bar_seconds: int
    ohlc: bool = field(init=False)
    boundaries: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.ohlc = self.table.kind == "bars" and any(
            col in self.table.values for col in ("open", "high", "low")
        )
        ts = self.table.ts
        # Rows with equal times form a group; blocks end between groups, so the ticks
        # of a block all precede those of the next one in event time.
        self.boundaries = np.append(np.flatnonzero(np.diff(ts) != 0) + 1, ts.size)

    @property
    def ticks_per_row(self) -> int:
        return 4 if self.ohlc else 1

    def tick_count(self, start: int = 0) -> int:
        return int(self.fed[start:].sum()) * self.ticks_per_row

    def bar_count(self, start: int = 0) -> int:
        """Bars the pipeline builds from rows ``start:``: distinct (symbol, interval)."""
        rows = start + np.flatnonzero(self.fed[start:])
        if rows.size == 0:
            return 0
        codes, _ = pd.factorize(self.table.symbols[rows])
        interval = self.table.ts[rows] // (self.bar_seconds * MICROS)
        return int(np.unique(codes.astype(np.int64) * (int(interval.max()) + 1) + interval).size)

    def blocks(self, start: int, target_ticks: int) -> Iterator[tuple[int, int]]:
        """Row ranges [lo, hi) from ``start`` of about ``target_ticks`` ticks each."""
        rows = max(1, target_ticks // self.ticks_per_row)
        lo, n = start, len(self.table)
        while lo < n:
            k = int(np.searchsorted(self.boundaries, lo + rows, side="left"))
            hi = int(self.boundaries[k]) if k < self.boundaries.size else n
            yield lo, hi
            lo = hi

    def ticks(self, lo: int, hi: int) -> list[Tick]:
        """The ticks of rows ``lo:hi`` (in-universe rows only), in event-time order."""
        idx = lo + np.flatnonzero(self.fed[lo:hi])
        if idx.size == 0:
            return []
        table, values = self.table, self.table.values
        ts = table.ts[idx]
        symbols = table.symbols[idx]
        if table.kind == "ticks":
            price = values["price"][idx]
            size = _or(values.get("size"), idx, 0.0)
            bid = _or(values.get("bid"), idx, np.nan)
            ask = _or(values.get("ask"), idx, np.nan)
            return [
                Tick(
                    symbol=s,
                    ts=t,
                    price=p,
                    size=z,
                    bid=None if b != b else b,
                    ask=None if a != a else a,
                    source=SOURCE,
                )
                for s, t, p, z, b, a in zip(
                    symbols.tolist(),
                    ts.tolist(),
                    price.tolist(),
                    size.tolist(),
                    bid.tolist(),
                    ask.tolist(),
                    strict=True,
                )
            ]
        close = values["close"][idx]
        legs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        if self.ohlc:
            for offset, col in enumerate(("open", "high", "low")):
                price = values.get(col)
                leg = close if price is None else np.where(np.isnan(price[idx]), close, price[idx])
                legs.append((ts + offset, leg, np.zeros(idx.size)))
        legs.append((ts + self.bar_seconds * MICROS - 1, close, _or(values.get("volume"), idx, 0)))
        all_ts = np.concatenate([leg[0] for leg in legs])
        order = np.argsort(all_ts, kind="stable")
        all_symbols = np.tile(symbols, len(legs))[order]
        all_price = np.concatenate([leg[1] for leg in legs])[order]
        all_size = np.concatenate([leg[2] for leg in legs])[order]
        return [
            Tick(symbol=s, ts=t, price=p, size=z, source=SOURCE)
            for s, t, p, z in zip(
                all_symbols.tolist(),
                all_ts[order].tolist(),
                all_price.tolist(),
                all_size.tolist(),
                strict=True,
            )
        ]


def _or(column: np.ndarray | None, idx: np.ndarray, default: float) -> np.ndarray:
    if column is None:
        return np.full(idx.size, default, dtype=np.float64)
    values = column[idx]
    return np.where(np.isnan(values), default, values)


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
            progress.update(task, advance=ticks, at=_iso(event_time)[:19].replace("T", " "))

        yield advance


# Offline.


@dataclass
class OfflineResult:
    ticks: int = 0
    snapshots: int = 0
    signals: int = 0
    late: int = 0


def replay_offline(
    plan: ReplayPlan,
    universe: Universe,
    out: IO[bytes],
    start: int = 0,
    advance: Callable[[int, int], None] | None = None,
) -> OfflineResult:
    """Run rows ``start:`` of the plan through the pipeline; write JSON lines to ``out``."""
    from agents.analytics.pipeline import Pipeline

    pipeline = Pipeline(universe, partitioner(universe.topics.ticks.partitions))
    result = OfflineResult()
    for lo, hi in plan.blocks(start, OFFLINE_BLOCK_TICKS):
        ticks = plan.ticks(lo, hi)
        if ticks:
            pipeline.apply_batch(ticks)
            result.ticks += len(ticks)
            _write_results(pipeline.snapshots, pipeline.signals, out, result)
            if advance is not None:
                advance(len(ticks), ticks[-1].ts)
    pipeline.finish()
    _write_results(pipeline.snapshots, pipeline.signals, out, result)
    result.late = len(pipeline.late)
    return result


def _write_results(
    snapshots: list[MetricsSnapshot], signals: list[Signal], out: IO[bytes], result: OfflineResult
) -> None:
    """Write and drop what the pipeline produced: each snapshot, then its interval's signals."""
    lines: list[bytes] = []
    i = 0
    for snapshot in snapshots:
        lines.append(_METRICS_LINE + encode(snapshot) + b"}\n")
        while i < len(signals) and signals[i].ts <= snapshot.ts:
            lines.append(_SIGNAL_LINE + encode(signals[i]) + b"}\n")
            i += 1
    lines.extend(_SIGNAL_LINE + encode(fired) + b"}\n" for fired in signals[i:])
    out.write(b"".join(lines))
    result.snapshots += len(snapshots)
    result.signals += len(signals)
    snapshots.clear()
    signals.clear()


# Kafka.


@dataclass
class Checkpoint:
    """How far a ``--kafka`` replay of one file got; see the module docstring."""

    path: Path
    file: str
    size: int
    rows: int
    kind: str
    bar_seconds: int
    next_row: int = 0
    skip_ticks: int = 0
    done: bool = False

    @staticmethod
    def default_path(file: str) -> Path:
        digest = hashlib.sha256(str(Path(file).resolve()).encode()).hexdigest()[:10]
        return CHECKPOINT_DIR / f"{Path(file).name}-{digest}.json"

    def save(self) -> None:
        body = {k: v for k, v in dataclasses.asdict(self).items() if k != "path"}
        body["updated"] = datetime.now(UTC).isoformat(timespec="seconds")
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            raise ReplayError(f"{self.path}: cannot write the checkpoint: {exc.strerror}") from None

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            body.pop("updated", None)
            return cls(path=path, **body)
        except FileNotFoundError:
            raise ReplayError(f"no checkpoint at {path}: nothing to resume") from None
        except (OSError, ValueError, TypeError) as exc:
            raise ReplayError(f"{path}: not a replay checkpoint ({exc})") from None

    def matches(self, other: Checkpoint) -> bool:
        keys = ("size", "rows", "kind", "bar_seconds")
        return all(getattr(self, k) == getattr(other, k) for k in keys)


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
        _check_bars(table, fed_rows, bar_seconds)
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
