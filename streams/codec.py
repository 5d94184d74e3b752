"""Bytes <-> records for every topic, with the reason when bytes cannot be used.

JSON everywhere (msgspec: decoding validates types and constraints in the same
pass). A message on ``quotes.ticks`` is a :class:`TickFrame` or a bare :class:`Tick`;
its one decoder is :func:`agents.analytics.tick_checks.decode_message`, which also says
why any part of it cannot be used.
"""

from __future__ import annotations

from typing import Any

import msgspec

from streams.records import BarFrame, DeadLetter, MetricsSnapshot, Signal, Tick, TickFrame

_encoder = msgspec.json.Encoder()
_bar_frame = msgspec.json.Decoder(BarFrame)
_metrics = msgspec.json.Decoder(MetricsSnapshot)
_signal = msgspec.json.Decoder(Signal)
_deadletter = msgspec.json.Decoder(DeadLetter)


def encode(record: Any) -> bytes:
    return _encoder.encode(record)


def decode_bar_frame(data: bytes) -> BarFrame:
    return _bar_frame.decode(data)


def decode_metrics(data: bytes) -> MetricsSnapshot:
    return _metrics.decode(data)


def decode_signal(data: bytes) -> Signal:
    return _signal.decode(data)


def decode_deadletter(data: bytes) -> DeadLetter:
    return _deadletter.decode(data)


def frames_for(
    ticks: list[Tick], max_ticks: int, partitions: dict[str, int]
) -> list[tuple[int, bytes]]:
    """Encoded :class:`TickFrame` messages per partition, time order kept, split at max."""
    parts: dict[int, list[Tick]] = {}
    for tick in ticks:
        parts.setdefault(partitions[tick.symbol], []).append(tick)
    return [
        (partition, encode(TickFrame(ticks=part[i : i + max_ticks])))
        for partition, part in sorted(parts.items())
        for i in range(0, len(part), max_ticks)
    ]
