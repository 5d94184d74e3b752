"""Bytes <-> records for every topic, with the reason when bytes cannot be used.

JSON everywhere (msgspec: decoding validates types and constraints in the same
pass). A message on ``quotes.ticks`` is a :class:`TickFrame` or a bare :class:`Tick`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from streams.errors import RotationError
from streams.records import BarFrame, DeadLetter, MetricsSnapshot, Signal, Tick, TickFrame

_encoder = msgspec.json.Encoder()
_frame = msgspec.json.Decoder(TickFrame)
_tick = msgspec.json.Decoder(Tick)
_bar_frame = msgspec.json.Decoder(BarFrame)
_metrics = msgspec.json.Decoder(MetricsSnapshot)
_signal = msgspec.json.Decoder(Signal)
_deadletter = msgspec.json.Decoder(DeadLetter)


class RejectedMessage(RotationError, ValueError):
    """Bytes that cannot be used; ``reason`` is the dead-letter reason code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def encode(record: Any) -> bytes:
    return _encoder.encode(record)


def decode_ticks(data: bytes) -> list[Tick]:
    """The ticks of one ``quotes.ticks`` message, or :class:`RejectedMessage`."""
    try:
        try:
            return _frame.decode(data).ticks
        except msgspec.ValidationError as exc:
            if str(exc) != "Object missing required field `ticks`":
                raise
        return [_tick.decode(data)]
    except msgspec.ValidationError as exc:
        raise RejectedMessage("invalid", str(exc)) from None
    except msgspec.DecodeError as exc:
        raise RejectedMessage("malformed", str(exc)) from None


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
