"""``rotation deadletter``: what landed on the dead-letter topic, and why.

Reads every partition of the dead-letter topic from the start (without a consumer
group: nothing is committed) up to its end, then shows the counts by reason and the
latest entries, as tables or as JSON; ``--follow`` goes on printing new entries.
The topic holds one record per refused input, so its counts are the counts of bad
input since the topic was created.

Tansu answers ListOffsets(latest) wrongly, so "the end" is the first poll that comes
back empty, as in :mod:`agents.topic_reader`.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, get_args

import msgspec

from streams.codec import decode_deadletter
from streams.records import DeadLetter, DeadLetterReason

REASONS: tuple[str, ...] = get_args(DeadLetterReason)
UNDECODABLE = "(undecodable)"
PREVIEW_CHARS = 80
IDLE_MS = 500
CAUGHT_UP_POLLS = 2


def preview(data: bytes, width: int = PREVIEW_CHARS) -> str:
    """A one-line, terminal-safe rendering of arbitrary bytes: UTF-8 where it decodes,
    escapes for anything else and for every control or invisible character."""
    if not data:
        return "(empty)"
    text = data[: width * 4].decode("utf-8", "backslashreplace")
    shown = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)
    if len(shown) > width or len(data) > width * 4:
        return shown[: width - 1] + "…"
    return shown


@dataclass(frozen=True)
class Entry:
    """One record of the dead-letter topic (``letter`` None if it does not decode)."""

    partition: int
    offset: int
    letter: DeadLetter | None
    raw: bytes

    @property
    def reason(self) -> str:
        return self.letter.reason if self.letter else UNDECODABLE

    def to_json(self) -> dict[str, Any]:
        base: dict[str, Any] = {
            "deadletter_partition": self.partition,
            "deadletter_offset": self.offset,
        }
        if self.letter is None:
            return {**base, "reason": UNDECODABLE, "preview": preview(self.raw)}
        letter = self.letter
        return {
            **base,
            "reason": letter.reason,
            "source": letter.source,
            "topic": letter.topic,
            "partition": letter.partition,
            "offset": letter.offset,
            "detail": letter.detail,
            "ts": letter.ts,
            "time": _time(letter.ts),
            "preview": preview(letter.original),
            "original": base64.b64encode(letter.original).decode(),
        }


def to_entry(partition: int, offset: int, value: bytes | None) -> Entry:
    raw = value or b""
    try:
        return Entry(partition, offset, decode_deadletter(raw), raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return Entry(partition, offset, None, raw)


@dataclass
class Report:
    """Counts by reason over every entry, and the latest entries that match a filter."""

    topic: str
    limit: int = 20
    reason: str | None = None
    total: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    sources: dict[str, Counter[str]] = field(default_factory=dict)
    last_seen: dict[str, int] = field(default_factory=dict)
    latest: list[Entry] = field(default_factory=list)

    def matches(self, entry: Entry) -> bool:
        return self.reason is None or entry.reason == self.reason

    def add(self, entry: Entry) -> None:
        self.total += 1
        self.counts[entry.reason] += 1
        if entry.letter is not None:
            self.sources.setdefault(entry.reason, Counter())[entry.letter.source] += 1
            self.last_seen[entry.reason] = max(self.last_seen.get(entry.reason, 0), entry.letter.ts)
        if self.limit and self.matches(entry):
            self.latest.append(entry)
            if len(self.latest) > self.limit:
                del self.latest[0]

    def to_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "total": self.total,
            "counts": dict(sorted(self.counts.items())),
            "reason": self.reason,
            "latest": [e.to_json() for e in reversed(self.latest)],
        }


def _time(ts: int) -> str:
    if ts <= 0:
        return ""
    return datetime.fromtimestamp(ts / 1e6, UTC).strftime("%Y-%m-%d %H:%M:%S")


def where_of(entry: Entry) -> str:
    letter = entry.letter
    return f"{letter.topic}[{letter.partition}]@{letter.offset}" if letter else ""


def render(report: Report, out: IO[str]) -> None:
    """The report as two tables (rich), every field shown as plain text."""
    from rich.console import Console, Group
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    console = Console(file=out, highlight=False)
    if not report.total:
        console.print(Text(f"No dead letters on {report.topic}."))
        return
    counts = Table(title=Text(f"Dead letters on {report.topic}: {report.total} in all"))
    for name, justify in (("reason", "left"), ("count", "right"), ("last (UTC)", "left")):
        counts.add_column(name, justify=justify)  # type: ignore[arg-type]  # 'left' or 'right', rich's JustifyMethod
    counts.add_column("sources", overflow="fold")
    for reason, count in sorted(report.counts.items(), key=lambda rc: (-rc[1], rc[0])):
        sources = report.sources.get(reason, Counter())
        top = ", ".join(f"{s} ({n})" for s, n in sources.most_common(3))
        if len(sources) > 3:
            top += f", +{len(sources) - 3} more"
        counts.add_row(
            Text(reason), str(count), Text(_time(report.last_seen.get(reason, 0))), Text(top)
        )
    console.print(counts)
    if not report.latest:
        return
    which = f"reason {report.reason}" if report.reason else "all reasons"
    console.print(Text(f"Latest {len(report.latest)} ({which}), newest first:", style="bold"))
    for entry in reversed(report.latest):
        letter = entry.letter
        head = Text()
        if letter is not None:
            head.append(_time(letter.ts) + "  ")
        head.append(entry.reason, style="bold")
        if letter is not None:
            head.append(f"  source {letter.source}  {where_of(entry)}")
        original = letter.original if letter else entry.raw
        lines = [Text(letter.detail, style="dim")] if letter is not None else []
        lines.append(Text("original: " + preview(original, 100)))
        console.print(head)
        console.print(Padding(Group(*lines), (0, 0, 0, 4), expand=False))


def line_of(entry: Entry) -> str:
    """One entry as one plain line (``--follow``)."""
    letter = entry.letter
    if letter is None:
        return f"{UNDECODABLE}  {preview(entry.raw)}"
    return (
        f"{_time(letter.ts)}  {letter.reason}  {letter.source}  {where_of(entry)}  "
        f"{letter.detail}  | {preview(letter.original, 60)}"
    )


async def read_topic(
    kafka_kwargs: dict[str, Any],
    topic: str,
    on_entry: Callable[[Entry], None],
    on_caught_up: Callable[[], None],
    follow: bool,
    stop: asyncio.Future[Any] | None = None,
) -> bool:
    """Feed every record of ``topic`` to ``on_entry``; call ``on_caught_up`` at the end;
    with ``follow`` go on until ``stop`` resolves. False if the topic does not exist."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        **kafka_kwargs,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id="rotation-deadletter",
    )
    try:
        await consumer.start()
        if topic not in await consumer.topics():
            on_caught_up()
            return False
        partitions = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        idle, caught_up = 0, False
        while True:
            if stop is not None and stop.done():
                return True
            batches = await consumer.getmany(*partitions, timeout_ms=IDLE_MS, max_records=5000)
            records = sorted(
                (r for rs in batches.values() for r in rs),
                key=lambda r: (r.timestamp, r.partition, r.offset),
            )
            for record in records:
                on_entry(to_entry(record.partition, record.offset, record.value))
            idle = 0 if records else idle + 1
            if not caught_up and idle >= CAUGHT_UP_POLLS:
                caught_up = True
                on_caught_up()
                if not follow:
                    return True
    finally:
        await consumer.stop()


def print_json(document: Any, out: IO[str], *, one_line: bool = False) -> None:
    out.write(json.dumps(document, indent=None if one_line else 2, ensure_ascii=False) + "\n")
    out.flush()
