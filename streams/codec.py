"""Bytes <-> records for every topic, with the reason when bytes cannot be used.

JSON everywhere (msgspec: decoding validates types and constraints in the same
pass). A message on ``quotes.ticks`` is a :class:`ColumnarTickFrame` (what every writer
of this project sends), a :class:`TickFrame` or a bare :class:`Tick`; its one decoder
is :func:`agents.analytics.tick_checks.decode_message`, which also says why any part
of it cannot be used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from streams.records import (
    BarFrame,
    BarListFrame,
    ColumnarTickFrame,
    DeadLetter,
    MetricsSnapshot,
    Signal,
    Tick,
)

_encoder = msgspec.json.Encoder()
_bar_frame = msgspec.json.Decoder(BarFrame)
_bar_list_frame = msgspec.json.Decoder(BarListFrame)
_metrics = msgspec.json.Decoder(MetricsSnapshot)
_signal = msgspec.json.Decoder(Signal)
_deadletter = msgspec.json.Decoder(DeadLetter)


def encode(record: Any) -> bytes:
    return _encoder.encode(record)


def decode_bar_frame(data: bytes) -> BarFrame:
    """A ``rotation.bars`` message: a :class:`BarFrame`, or a version 1
    :class:`BarListFrame` turned into one."""
    frame = _bar_frame.decode(data)
    if frame.symbol or frame.stats is not None or b'"bars"' not in data:
        return frame
    old = _bar_list_frame.decode(data)
    return BarFrame.of(old.partition, old.watermark, old.bars, old.source_offset, old.replay_from)


def decode_metrics(data: bytes) -> MetricsSnapshot:
    return _metrics.decode(data)


def decode_signal(data: bytes) -> Signal:
    return _signal.decode(data)


def decode_deadletter(data: bytes) -> DeadLetter:
    return _deadletter.decode(data)


def columnar_frame(ticks: Sequence[Tick]) -> ColumnarTickFrame:
    """The ticks as one :class:`ColumnarTickFrame` (order kept); ``source`` is the first
    tick's, and ``size``/``bid``/``ask`` columns are left out when no tick has a value."""
    index: dict[str, int] = {}
    symbol = [index.setdefault(t.symbol, len(index)) for t in ticks]
    sizes = [t.size for t in ticks]
    bids = [t.bid for t in ticks]
    asks = [t.ask for t in ticks]
    return ColumnarTickFrame(
        v=2,
        symbols=list(index),
        symbol=symbol,
        ts=[t.ts for t in ticks],
        price=[t.price for t in ticks],
        size=sizes if any(sizes) else None,
        bid=bids if any(b is not None for b in bids) else None,
        ask=asks if any(a is not None for a in asks) else None,
        source=ticks[0].source if ticks else "unknown",
    )


def frames_for(
    ticks: list[Tick], max_ticks: int, partitions: dict[str, int]
) -> list[tuple[int, bytes]]:
    """Encoded :class:`ColumnarTickFrame` messages per partition, time order kept, split
    at ``max_ticks`` and wherever the ticks' ``source`` changes (a frame has one)."""
    runs: dict[int, list[list[Tick]]] = {}
    for tick in ticks:
        part = runs.setdefault(partitions[tick.symbol], [])
        if not part or part[-1][-1].source != tick.source or len(part[-1]) >= max_ticks:
            part.append([tick])
        else:
            part[-1].append(tick)
    return [
        (partition, encode(columnar_frame(run)))
        for partition, part in sorted(runs.items())
        for run in part
    ]
