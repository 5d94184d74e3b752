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
   (``late``), as are exact repeats (``duplicate``) and ticks outside every trading
   session of the calendar (``off_session``): :mod:`agents.analytics.bars`.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from agents.analytics.tick_columns import TickColumns
from streams.records import Tick, TickFrame
from streams.units import MICROS

MAX_SOURCE = 64
MAX_SYMBOL = 32  # streams.records.Symbol
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


class _Version(msgspec.Struct):
    v: int = 1


class _Columns(msgspec.Struct):
    """A version 2 frame as decoded, before the checks of each tick."""

    v: int
    symbols: list[str]
    symbol: list[int]
    ts: list[int]
    price: list[float]
    size: list[float] | None = None
    bid: list[float | None] | None = None
    ask: list[float | None] | None = None
    source: str = UNKNOWN_SOURCE


_frame = msgspec.json.Decoder(TickFrame)
_columns = msgspec.json.Decoder(_Columns)
_version = msgspec.json.Decoder(_Version)
_loose = msgspec.json.Decoder(_LooseFrame)
_tick = msgspec.json.Decoder(Tick)
_any = msgspec.json.Decoder()
_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9.\-^=/]*$")  # streams.records.Symbol


def _source_in(document: Any) -> str | None:
    """The ``source`` field of a tick, or of a frame, or of the first tick of a frame."""
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
    """The ticks of one message, as columns, and the parts of it that could not be decoded.

    A refused tick is named by its ``row``: its position in the message.
    """

    data: bytes
    columns: TickColumns
    rejected: list[Rejection]
    producer: str
    source: str = UNKNOWN_SOURCE
    """The frame's ``source`` (version 2 frames)."""
    kind: str = "columns"
    """``columns`` (version 2), ``frame`` (version 1) or ``bare`` (one tick object)."""
    raw: list[bytes] | None = None
    """Version 1 frames: each tick's own JSON text, by row (read when first needed)."""
    sources: list[str] | None = None
    """Version 1 frames: each tick's own ``source``, by row."""

    @property
    def ticks(self) -> list[Tick]:
        """The decoded ticks as records (one object per tick: for tests and reports)."""
        return [self.tick(int(row), i) for i, row in enumerate(self.columns.row)]

    def tick(self, row: int, i: int | None = None) -> Tick:
        columns = self.columns
        i = int(np.searchsorted(columns.row, row)) if i is None else i
        return columns.tick(i, self._own_source(row))

    def _own_source(self, row: int) -> str:
        return self.sources[row] if self.sources is not None else self.source

    def source_of(self, row: int) -> str:
        """The tick's own ``source`` (or its frame's), else the producer's."""
        own = self._own_source(row)
        return own if own != UNKNOWN_SOURCE else self.producer

    def original_of(self, row: int) -> bytes:
        """The bytes the tick at ``row`` came in: the whole message for a bare tick, the
        tick's own JSON text inside a version 1 frame, the tick as a version 1 ``Tick``
        object for a columnar frame (whose bytes hold no text of one tick)."""
        if self.kind == "bare":
            return self.data
        if self.kind == "frame":
            if self.raw is None:
                self.raw = [bytes(raw) for raw in _loose.decode(self.data).ticks]
            return self.raw[row]
        return msgspec.json.encode(self.tick(row))

    def rejection(self, row: int, reason: str, detail: str) -> Rejection:
        return Rejection(reason, detail, self.original_of(row), self.source_of(row))


def decode_message(data: bytes | None, producer: str = UNKNOWN_SOURCE) -> DecodedMessage:
    """Decode one ``quotes.ticks`` message; never raises.

    ``producer`` is the source to name when the bytes name none (e.g. a ``source``
    header of the Kafka message).
    """
    if not data:
        return _refused(b"", "malformed", "empty message (no value)", producer, producer)
    data = bytes(data)
    try:
        return _decode(data, producer)
    except RecursionError:
        detail = "JSON nested too deeply to be a tick or a frame"
        return _refused(data, "malformed", detail, producer, producer)
    except Exception as exc:  # bad input must never stop the bar stage
        detail = f"cannot be decoded ({type(exc).__name__}: {exc})"
        return _refused(data, "malformed", detail, producer, producer)


def _refused(data: bytes, reason: str, detail: str, source: str, producer: str) -> DecodedMessage:
    return DecodedMessage(
        data, TickColumns.empty(), [Rejection(reason, detail, data, source)], producer
    )


def _decode(data: bytes, producer: str) -> DecodedMessage:
    try:
        return _decode_columns(data, _columns.decode(data), producer)
    except msgspec.ValidationError as exc:
        columns_error = str(exc)
    except msgspec.DecodeError as exc:
        return _undecodable(data, str(exc), producer)
    try:
        version = _version.decode(data).v
    except msgspec.ValidationError:
        version = 1
    except msgspec.DecodeError as exc:
        return _undecodable(data, str(exc), producer)
    if version == 2:
        detail = f"not a columnar tick frame (v=2): {columns_error}"
        return _whole(data, "invalid", detail, producer)
    try:
        return _from_ticks(data, _frame.decode(data).ticks, None, producer)
    except msgspec.ValidationError as exc:
        frame_error = str(exc)
    if frame_error == "Object missing required field `ticks`":
        try:
            tick = _tick.decode(data)
        except msgspec.ValidationError as exc:
            return _whole(data, "invalid", f"not a valid tick: {exc}", producer)
        decoded = _from_ticks(data, [tick], None, producer)
        decoded.kind = "bare"
        return decoded
    try:
        loose = _loose.decode(data)
    except msgspec.ValidationError:
        return _whole(data, "invalid", f"not a tick frame: {frame_error}", producer)
    if loose.v not in (1, 2):
        detail = f"unknown frame version v={loose.v} (expected 1 or 2)"
        return _whole(data, "invalid", detail, producer)
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
    decoded = _from_ticks(data, ticks, raws, producer)
    decoded.rejected = rejected
    return decoded


def _from_ticks(
    data: bytes, ticks: list[Tick], raws: list[bytes] | None, producer: str
) -> DecodedMessage:
    return DecodedMessage(
        data,
        TickColumns.from_ticks(ticks),
        [],
        producer,
        kind="frame",
        raw=raws,
        sources=[t.source for t in ticks],
    )


def _decode_columns(data: bytes, frame: _Columns, producer: str) -> DecodedMessage:
    """Checks of a version 2 frame: the frame as a whole, then each tick, vectorised."""
    n = len(frame.symbol)
    if frame.v != 2:
        return _whole(data, "invalid", f"unknown frame version v={frame.v} (expected 2)", producer)
    if n == 0:
        return _whole(data, "invalid", "the frame holds no ticks", producer)
    if n > MAX_FRAME_TICKS:
        detail = f"the frame holds {n} ticks, more than {MAX_FRAME_TICKS}"
        return _whole(data, "invalid", detail, producer)
    if len(frame.source) > MAX_SOURCE:
        detail = f"source is longer than {MAX_SOURCE} characters"
        return _whole(data, "invalid", detail, producer)
    lengths = {
        name: len(column)
        for name, column in (
            ("symbol", frame.symbol),
            ("ts", frame.ts),
            ("price", frame.price),
            ("size", frame.size),
            ("bid", frame.bid),
            ("ask", frame.ask),
        )
        if column is not None
    }
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name} {length}" for name, length in lengths.items())
        detail = f"the columns must have one entry per tick; lengths: {listed}"
        return _whole(data, "invalid", detail, producer)
    try:
        ts = np.array(frame.ts, dtype=np.int64)
        symbol = np.array(frame.symbol, dtype=np.int64)
    except OverflowError:
        detail = "an event time or symbol index is out of range (a 64-bit integer)"
        return _whole(data, "invalid", detail, producer)
    price = np.array(frame.price, dtype=np.float64)
    size = np.zeros(n) if frame.size is None else np.array(frame.size, dtype=np.float64)
    bid = None if frame.bid is None else np.array(frame.bid, dtype=np.float64)
    ask = None if frame.ask is None else np.array(frame.ask, dtype=np.float64)
    columns = TickColumns(
        frame.symbols, symbol, ts, price, size, np.arange(n, dtype=np.int64), bid, ask
    )
    source = frame.source or UNKNOWN_SOURCE
    decoded = DecodedMessage(data, columns, [], producer, source=source)
    bad = _bad_rows(frame.symbols, symbol, ts, price, size, bid, ask)
    if bad is None:
        return decoded
    rejected = [
        Rejection(
            "invalid",
            f"tick {row + 1} of {n}: {_what_is_wrong(frame, row)}",
            _encode_row(frame, row),
            source if source != UNKNOWN_SOURCE else producer,
        )
        for row in np.flatnonzero(bad).tolist()
    ]
    decoded.columns = columns.take(~bad)
    decoded.rejected = rejected
    return decoded


@functools.lru_cache(maxsize=1 << 16)
def _is_symbol(text: str) -> bool:
    return 0 < len(text) <= MAX_SYMBOL and _SYMBOL.match(text) is not None


def _bad_symbols(symbols: list[str]) -> npt.NDArray[np.bool_]:
    """Per symbol (and one more for an index out of range): not a ticker symbol."""
    return np.array([not _is_symbol(s) for s in symbols] + [True], dtype=bool)


def _bad_rows(
    symbols: list[str],
    symbol: npt.NDArray[np.int64],
    ts: npt.NDArray[np.int64],
    price: npt.NDArray[np.float64],
    size: npt.NDArray[np.float64],
    bid: npt.NDArray[np.float64] | None,
    ask: npt.NDArray[np.float64] | None,
) -> npt.NDArray[np.bool_] | None:
    """Mask of the ticks that break the ``Tick`` record's constraints (None: none does)."""
    inf = math.inf
    if (
        symbol.min() >= 0
        and symbol.max() < len(symbols)
        and ts.min() >= 0
        and price.min() > 0  # NaN compares False: the mask below finds it
        and price.max() < inf
        and size.min() >= 0
        and size.max() < inf
        and all(q is None or _quotes_fine(q) for q in (bid, ask))
        and all(map(_is_symbol, symbols))
    ):
        return None
    out_of_range = (symbol < 0) | (symbol >= len(symbols))
    bad = out_of_range | (ts < 0) | ~(price > 0) | ~np.isfinite(price)
    bad |= ~(size >= 0) | ~np.isfinite(size)
    if not all(map(_is_symbol, symbols)):
        bad |= _bad_symbols(symbols)[np.where(out_of_range, len(symbols), symbol)]
    for quote in (bid, ask):
        if quote is not None:
            given = ~np.isnan(quote)
            bad |= given & (~(quote > 0) | ~np.isfinite(quote))
    return bad if bad.any() else None


def _quotes_fine(quote: npt.NDArray[np.float64]) -> bool:
    """Every given bid or ask (NaN: not given) is finite and > 0."""
    given = quote[~np.isnan(quote)]
    return not len(given) or bool(given.min() > 0 and given.max() < math.inf)


def _what_is_wrong(frame: _Columns, row: int) -> str:
    index = frame.symbol[row]
    if not 0 <= index < len(frame.symbols):
        return f"symbol index {index} is not an index of symbols (0..{len(frame.symbols) - 1})"
    symbol = frame.symbols[index]
    if not _is_symbol(symbol):
        return f"symbol {symbol!r} is not a ticker symbol (upper case, 1-{MAX_SYMBOL} characters)"
    if frame.ts[row] < 0:
        return f"ts {frame.ts[row]} must be >= 0 (microseconds since the epoch)"
    price = frame.price[row]
    if not (math.isfinite(price) and price > 0):
        return f"price {price} must be a finite number > 0"
    if frame.size is not None and not (math.isfinite(frame.size[row]) and frame.size[row] >= 0):
        return f"size {frame.size[row]} must be a finite number >= 0"
    for name, quote in (("bid", frame.bid), ("ask", frame.ask)):
        value = None if quote is None else quote[row]
        if value is not None and not (math.isfinite(value) and value > 0):
            return f"{name} {value} must be a finite number > 0"
    return "invalid"


def _encode_row(frame: _Columns, row: int) -> bytes:
    """One tick of a columnar frame as a JSON object, the way a version 1 frame holds it."""
    index = frame.symbol[row]
    document: dict[str, Any] = {
        "symbol": frame.symbols[index] if 0 <= index < len(frame.symbols) else index,
        "ts": frame.ts[row],
        "price": frame.price[row],
    }
    for name, column in (("size", frame.size), ("bid", frame.bid), ("ask", frame.ask)):
        if column is not None:
            document[name] = column[row]
    document["source"] = frame.source
    try:
        return msgspec.json.encode(document)
    except (TypeError, ValueError, OverflowError):  # a price out of float range: inf
        return json.dumps(document).encode()


def _whole(data: bytes, reason: str, detail: str, producer: str) -> DecodedMessage:
    return _refused(data, reason, detail, _source_of(data, producer), producer)


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
        return _refused(data, "malformed", f"not JSON: {error}", producer, producer)
    detail = (
        f"{' and '.join(sorted(set(constants)))} is not a JSON number (a price must be finite)"
        if constants
        else error
    )
    return _refused(data, "invalid", detail, _source_in(document) or producer, producer)


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


_PASS, _UNKNOWN, _ELSEWHERE, _FUTURE, _PAST = range(5)
_REASONS = {
    _UNKNOWN: "unknown_symbol",
    _ELSEWHERE: "wrong_partition",
    _FUTURE: "future",
    _PAST: "past",
}


class TickGate:
    """The checks 3-6 for one partition; remembers the newest event time it let through.

    The checks run on whole columns: the symbol checks once per distinct symbol of a
    message, the time checks as array comparisons. Only a message in which a tick is
    beyond the limit set by the ticks before it is checked tick by tick (the limit
    moves with every tick that passes).
    """

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
        self._verdicts: dict[str, int] = {}

    def restore(self, watermark: int) -> None:
        """After a restart: the partition's event time had reached at least ``watermark``."""
        self.newest = max(self.newest, watermark)

    def _verdict(self, symbol: str) -> int:
        verdict = self._verdicts.get(symbol)
        if verdict is None:
            if symbol not in self.symbols:
                verdict = _UNKNOWN
            elif self.partition_of(symbol) != self.partition:
                verdict = _ELSEWHERE
            else:
                verdict = _PASS
            self._verdicts[symbol] = verdict
        return verdict

    def check(
        self, message: DecodedMessage, reference_us: int
    ) -> tuple[TickColumns, list[Rejection]]:
        """The ticks of ``message`` that pass, and a rejection for each other one.

        ``reference_us``: when the message was produced (microseconds since the epoch).
        """
        columns = message.columns
        if not len(columns):
            return columns, []
        ahead_us = int(self.rules.max_ahead_seconds * MICROS)
        age_us = int(self.rules.max_age_seconds * MICROS)
        try:
            verdicts = np.fromiter(
                map(self._verdicts.__getitem__, columns.symbols), np.int8, len(columns.symbols)
            )
        except KeyError:
            verdicts = np.array([self._verdict(s) for s in columns.symbols], dtype=np.int8)
        codes = verdicts[columns.symbol]
        ts = columns.ts
        if age_us:
            codes[(codes == _PASS) & (ts < reference_us - age_us)] = _PAST
        limit = self._limit(self.newest, reference_us, ahead_us)
        beyond = (ts > limit) & ((codes == _PASS) | (codes == _PAST))
        if beyond.any():
            codes = self._sequential(ts, codes, reference_us, ahead_us)
        passed = codes == _PASS
        kept = columns if passed.all() else columns.take(passed)
        rejections = [
            message.rejection(
                int(columns.row[i]),
                _REASONS[int(codes[i])],
                self._detail(int(codes[i]), columns, int(i), reference_us),
            )
            for i in np.flatnonzero(~passed).tolist()
        ]
        if len(kept):
            self.newest = max(self.newest, int(kept.ts.max()))
        return kept, rejections

    @staticmethod
    def _limit(newest: int, reference_us: int, ahead_us: int) -> int:
        if not ahead_us:
            return MAX_EVENT_TIME
        return min(max(newest, reference_us) + ahead_us, MAX_EVENT_TIME)

    def _sequential(
        self,
        ts: npt.NDArray[np.int64],
        codes: npt.NDArray[np.int8],
        reference_us: int,
        ahead_us: int,
    ) -> npt.NDArray[np.int8]:
        """The future check tick by tick: each tick that passes moves the limit."""
        codes = codes.copy()
        newest = self.newest
        limit = self._limit(newest, reference_us, ahead_us)
        for i, (stamp, code) in enumerate(zip(ts.tolist(), codes.tolist(), strict=True)):
            if code in (_UNKNOWN, _ELSEWHERE):
                continue
            if stamp > limit:
                codes[i] = _FUTURE
            elif code == _PASS and stamp > newest:
                newest = stamp
                limit = self._limit(newest, reference_us, ahead_us)
        return codes

    def _detail(self, code: int, columns: TickColumns, i: int, reference_us: int) -> str:
        symbol, ts = columns.symbols[int(columns.symbol[i])], int(columns.ts[i])
        if code == _UNKNOWN:
            return f"{symbol} is not a symbol of the universe"
        if code == _ELSEWHERE:
            home = self.partition_of(symbol)
            return f"{symbol} belongs to partition {home}, not {self.partition}"
        if code == _FUTURE:
            if ts > MAX_EVENT_TIME:
                return (
                    f"{symbol} tick at {when(ts)} is beyond the last event time the wire "
                    f"carries, 2**53 us"
                )
            ahead = _seconds(self.rules.max_ahead_seconds)
            return (
                f"{symbol} tick at {when(ts)} is more than {ahead} s ahead of the "
                f"partition's newest event time {when(self.newest)} and of the time it "
                f"was produced {when(reference_us)} (max_ahead_seconds)"
            )
        age = _seconds(self.rules.max_age_seconds)
        return (
            f"{symbol} tick at {when(ts)} is more than {age} s older than the time it "
            f"was produced {when(reference_us)} (max_age_seconds)"
        )
