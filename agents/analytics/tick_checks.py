"""Checks of incoming tick messages: which ticks the bar stage may use, and why not the others.

Pure: bytes and ticks in, verdicts out; no Kafka, no clock (the caller passes the
reference time). Each refused input becomes a :class:`Rejection` with a dead-letter
reason code, its original bytes and its source. The checks, in order (the first
that fails names the reason):

1. The message. Empty or not JSON: ``malformed``. JSON with ``NaN``/``Infinity``
   (not JSON numbers) or that is neither a frame ``{"ticks": [...]}`` of at least one
   tick nor a bare tick: ``invalid``.
2. Each tick of a frame on its own, against the :class:`~streams.records.Tick` record:
   a missing field, a wrong type, a price <= 0 or out of range (infinite), a negative
   size: ``invalid``. The frame's other ticks go on.
3. A symbol not in the universe: ``unknown_symbol``.
4. A symbol that belongs to another partition of the ticks topic: ``wrong_partition``.
5. Event time too far ahead: ``future``, when
   ``ts > max(newest, reference) + max_ahead_seconds``, where ``newest`` is the
   newest event time this partition accepted (restored from the watermark after a
   restart) and ``reference`` the time the message was produced (its Kafka
   timestamp; the worker's clock when it has none). The partition's own event time
   lets a simulator or a replay run ahead of the wall clock, the reference lets a
   live feed resume after a long pause; a tick in the year 2100, or in nanoseconds
   where microseconds belong, fails both. An event time of 2**53 us (the year 2255)
   or later is always ``future``: the wire keeps times exact in a JavaScript number.
6. Event time too old: ``past``, when ``max_age_seconds`` > 0 and
   ``ts < reference - max_age_seconds`` (off by default: a replay of history is old
   on purpose). Ticks of intervals already closed are found by the bar stage
   (``late``), as are exact repeats (``duplicate``): :mod:`agents.analytics.bars`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from streams.records import Tick, TickFrame
from streams.units import MICROS

MAX_SOURCE = 64
MAX_FRAME_TICKS = 100_000  # streams.records.TickFrame
MAX_EVENT_TIME = 2**53  # times stay exact in a JavaScript number (streams.records): year 2255
UNKNOWN_SOURCE = "unknown"


@dataclass(frozen=True)
class TickRules:
    """The configurable bounds of the checks (``[ticks]`` of the configuration)."""

    max_ahead_seconds: float = 7 * 86_400.0
    max_age_seconds: float = 0.0

    def __post_init__(self) -> None:
        for name in ("max_ahead_seconds", "max_age_seconds"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be >= 0 (0: no limit), got {value}")


@dataclass(frozen=True)
class Rejection:
    """Input the bar stage does not use: why, and what exactly."""

    reason: str
    detail: str
    original: bytes
    source: str


class _LooseFrame(msgspec.Struct):
    ticks: list[msgspec.Raw]
    v: int = 1


_frame = msgspec.json.Decoder(TickFrame)
_loose = msgspec.json.Decoder(_LooseFrame)
_tick = msgspec.json.Decoder(Tick)
_any = msgspec.json.Decoder()


def _source_in(document: Any) -> str | None:
    """The ``source`` field of a tick, or of the first tick of a frame."""
    if isinstance(document, dict):
        source = document.get("source")
        if isinstance(source, str) and source:
            return source[:MAX_SOURCE]
        ticks = document.get("ticks")
        if isinstance(ticks, list) and ticks:
            return _source_in(ticks[0])
    return None


def _source_of(data: bytes, fallback: str) -> str:
    try:
        document = _any.decode(data)
    except RecursionError:
        return fallback
    except (msgspec.DecodeError, msgspec.ValidationError):
        try:  # Python's json also reads NaN, Infinity and numbers out of float range
            document = json.loads(data)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return fallback
    return _source_in(document) or fallback


@dataclass
class DecodedMessage:
    """The ticks of one message and the parts of it that could not be decoded."""

    data: bytes
    ticks: list[Tick]
    rejected: list[Rejection]
    producer: str
    bare: bool = False
    _raw: list[bytes] | None = None
    _index: dict[int, int] | None = None

    def source_of(self, tick: Tick) -> str:
        """The tick's own ``source``, else the producer's."""
        return tick.source if tick.source != UNKNOWN_SOURCE else self.producer

    def original_of(self, tick: Tick) -> bytes:
        """The bytes ``tick`` came in: the whole message for a bare tick, else the
        tick's own JSON text inside the frame."""
        if self.bare:
            return self.data
        if self._raw is None or self._index is None:
            self._raw = [bytes(raw) for raw in _loose.decode(self.data).ticks]
            self._index = {id(t): i for i, t in enumerate(self.ticks)}
        index = self._index.get(id(tick))
        return self._raw[index] if index is not None else msgspec.json.encode(tick)

    def rejection(self, tick: Tick, reason: str, detail: str) -> Rejection:
        return Rejection(reason, detail, self.original_of(tick), self.source_of(tick))


def decode_message(data: bytes | None, producer: str = UNKNOWN_SOURCE) -> DecodedMessage:
    """Decode one ``quotes.ticks`` message; never raises.

    ``producer`` is the source to name when the bytes name none (e.g. a ``source``
    header of the Kafka message).
    """
    if not data:
        return DecodedMessage(
            b"", [], [Rejection("malformed", "empty message (no value)", b"", producer)], producer
        )
    data = bytes(data)
    try:
        return _decode(data, producer)
    except RecursionError:
        detail = "JSON nested too deeply to be a tick or a frame"
        return DecodedMessage(data, [], [Rejection("malformed", detail, data, producer)], producer)
    except Exception as exc:  # bad input must never stop the bar stage
        detail = f"cannot be decoded ({type(exc).__name__}: {exc})"
        return DecodedMessage(data, [], [Rejection("malformed", detail, data, producer)], producer)


def _decode(data: bytes, producer: str) -> DecodedMessage:
    try:
        return DecodedMessage(data, _frame.decode(data).ticks, [], producer)
    except msgspec.ValidationError as exc:
        frame_error = str(exc)
    except msgspec.DecodeError as exc:
        return _undecodable(data, str(exc), producer)
    if frame_error == "Object missing required field `ticks`":
        try:
            return DecodedMessage(data, [_tick.decode(data)], [], producer, bare=True)
        except msgspec.ValidationError as exc:
            return _whole(data, "invalid", f"not a valid tick: {exc}", producer)
    try:
        loose = _loose.decode(data)
    except msgspec.ValidationError:
        return _whole(data, "invalid", f"not a tick frame: {frame_error}", producer)
    if loose.v != 1:
        return _whole(data, "invalid", f"unknown frame version v={loose.v} (expected 1)", producer)
    if not loose.ticks:
        return _whole(data, "invalid", "the frame holds no ticks", producer)
    if len(loose.ticks) > MAX_FRAME_TICKS:
        detail = f"the frame holds {len(loose.ticks)} ticks, more than {MAX_FRAME_TICKS}"
        return _whole(data, "invalid", detail, producer)
    ticks: list[Tick] = []
    raws: list[bytes] = []
    rejected: list[Rejection] = []
    for i, raw in enumerate(loose.ticks):
        original = bytes(raw)
        try:
            ticks.append(_tick.decode(original))
            raws.append(original)
        except msgspec.ValidationError as exc:
            detail = f"tick {i + 1} of {len(loose.ticks)}: {exc}"
            rejected.append(Rejection("invalid", detail, original, _source_of(original, producer)))
    index = {id(t): i for i, t in enumerate(ticks)}
    return DecodedMessage(data, ticks, rejected, producer, _raw=raws, _index=index)


def _whole(data: bytes, reason: str, detail: str, producer: str) -> DecodedMessage:
    rejection = Rejection(reason, detail, data, _source_of(data, producer))
    return DecodedMessage(data, [], [rejection], producer)


def _undecodable(data: bytes, error: str, producer: str) -> DecodedMessage:
    # Python's json accepts NaN and Infinity, which are no JSON numbers: such a message
    # is JSON-shaped but holds an impossible value, so it is `invalid`, not `malformed`.
    constants: list[str] = []

    def constant(name: str) -> float:
        constants.append(name)
        return math.nan

    try:
        document = json.loads(data, parse_constant=constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        detail = f"not JSON: {error}"
        return DecodedMessage(data, [], [Rejection("malformed", detail, data, producer)], producer)
    detail = (
        f"{' and '.join(sorted(set(constants)))} is not a JSON number (a price must be finite)"
        if constants
        else error
    )
    source = _source_in(document) or producer
    return DecodedMessage(data, [], [Rejection("invalid", detail, data, source)], producer)


def when(us: int) -> str:
    """An event time for people: ISO 8601 UTC with the microseconds it stands for."""
    if us < 0:
        return "none"
    try:
        text = datetime.fromtimestamp(us / MICROS, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except (OverflowError, OSError, ValueError):
        return f"{us} us (beyond the year 9999)"
    return f"{text} ({us})"


def _seconds(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:g}"


class TickGate:
    """The checks 3-6 for one partition; remembers the newest event time it let through."""

    def __init__(
        self,
        partition: int,
        partition_of: Callable[[str], int],
        symbols: Collection[str],
        rules: TickRules | None = None,
    ) -> None:
        self.partition = partition
        self.partition_of = partition_of
        self.symbols = frozenset(symbols)
        self.rules = rules or TickRules()
        self.newest = -1

    def restore(self, watermark: int) -> None:
        """After a restart: the partition's event time had reached at least ``watermark``."""
        self.newest = max(self.newest, watermark)

    def check(
        self, message: DecodedMessage, reference_us: int
    ) -> tuple[list[Tick], list[Rejection]]:
        """The ticks of ``message`` that pass, and a rejection for each other one.

        ``reference_us``: when the message was produced (microseconds since the epoch).
        """
        ahead, age = _seconds(self.rules.max_ahead_seconds), _seconds(self.rules.max_age_seconds)
        ahead_us = int(self.rules.max_ahead_seconds * MICROS)
        age_us = int(self.rules.max_age_seconds * MICROS)
        oldest = reference_us - age_us if age_us else None
        limit = (
            min(max(self.newest, reference_us) + ahead_us, MAX_EVENT_TIME)
            if ahead_us
            else MAX_EVENT_TIME
        )
        symbols, partition, partition_of = self.symbols, self.partition, self.partition_of
        passed: list[Tick] = []
        refused: list[Rejection] = []
        for tick in message.ticks:
            symbol, ts = tick.symbol, tick.ts
            if symbol not in symbols:
                detail = f"{symbol} is not a symbol of the universe"
                refused.append(message.rejection(tick, "unknown_symbol", detail))
            elif (home := partition_of(symbol)) != partition:
                detail = f"{symbol} belongs to partition {home}, not {partition}"
                refused.append(message.rejection(tick, "wrong_partition", detail))
            elif ts > limit:
                detail = (
                    f"{symbol} tick at {when(ts)} is more than {ahead} s ahead of the "
                    f"partition's newest event time {when(self.newest)} and of the time it "
                    f"was produced {when(reference_us)} (max_ahead_seconds)"
                    if ts <= MAX_EVENT_TIME
                    else f"{symbol} tick at {when(ts)} is beyond the last event time the wire "
                    f"carries, 2**53 us"
                )
                refused.append(message.rejection(tick, "future", detail))
            elif oldest is not None and ts < oldest:
                detail = (
                    f"{symbol} tick at {when(ts)} is more than {age} s older than the time it "
                    f"was produced {when(reference_us)} (max_age_seconds)"
                )
                refused.append(message.rejection(tick, "past", detail))
            else:
                passed.append(tick)
                if ts > self.newest:
                    self.newest = ts
                    if ahead_us:
                        limit = min(max(ts, reference_us) + ahead_us, MAX_EVENT_TIME)
        return passed, refused
