"""Per-symbol indicators of a whole universe, held in numpy arrays.

The same figures as :class:`agents.analytics.symbols.SymbolState` (same formulas,
same conventions: a symbol's indicators advance only on its own bars), for many
symbols at once: one call to :meth:`SymbolTable.on_bars` advances every symbol that
closed a bar in an interval by one vectorised step, instead of one Python call per
symbol (the column-at-a-time execution of "MonetDB/X100: Hyper-Pipelining Query
Execution", Boncz, Zukowski and Nes, CIDR 2005: one operation over a column of
values rather than one interpretation per value).

API::

    table = SymbolTable(params, size)         # symbols 0 .. size-1, no bars yet
    table.grow(new_size)                      # more symbols (new ones start empty)
    cols = table.on_bars(index, open, high, low, close, volume)
    stats = table.records(cols)               # list[SymbolStats], in the order of index
    state = table.to_state(i)                 # == SymbolState.to_state() of symbol i
    table.from_state(i, state)                # symbol i continues from that state

- ``index`` is an int array of symbol indices, each at most once per call (one bar
  per symbol per interval); the price and volume arguments are float arrays of the
  same length, row j being the bar of symbol ``index[j]``.
- Every row is validated first, as ``SymbolState.on_bar`` does (0 < low <= open,
  close <= high, all finite; volume finite and >= 0; plus the indices in range and
  distinct). If any row is bad, :class:`ValueError` names the first bad row and *no*
  symbol changes: the call is all or nothing.
- :class:`IndicatorColumns` holds the figures of the call as numpy arrays in row order.
  Where ``SymbolStats`` has ``None`` the float columns hold NaN and a mask says so:
  ``has_prev`` (``prev_close``, ``change_pct``, ``direction``), ``has_return``
  (``return_pct``), ``has_sma`` (``sma``, ``above_sma``). ``direction`` is int8
  (+1, -1, 0; 0 where ``has_prev`` is False).
- :meth:`SymbolTable.records` builds the wire records: the fields have the Python
  types ``SymbolState`` gives (float, int, bool, None).

A caller holding ``Bar`` records passes their fields as arrays, e.g.
``np.fromiter((b.close for b in bars), np.float64, len(bars))``, and puts
``records(cols)[j]`` into bar j's ``stats``.

Exactness. Every figure but the SMA is computed with the very floating-point
operations of ``SymbolState`` and is bit-identical. The SMA is ``sum(window) / n``
summed oldest first over a window kept in chronological order (shifted, not a ring),
so the same window always gives the same bits, whatever the symbol's history or the
other rows of the call, within a few ulps of ``math.fsum`` (relative error at most
about n * 2**-53). ``above_sma`` is decided as ``SymbolState._above_sma`` does,
exactly: where ``|close - sma|`` is clearly larger than that error the sign of
``close - sma`` is the sign of ``n * close - sum``; the few rows near a tie are
decided with ``math.fsum`` over the same ``2n`` terms.

Layout and cost. The windows are 2-D arrays, time-major: one row per slot, one column
per symbol, so a reduction over windows (``np.maximum.reduce(..., axis=0)``) runs
across contiguous symbols, several times faster in numpy than along short rows.
Closes, highs and lows are rings (a bar writes one slot per symbol; order does not
matter to a max, and closes are read at two slots). The highest high and lowest low
of each window are kept, so a bar costs O(1) per symbol there; a window is reduced
again only when the value that leaves it was its extreme. The SMA window is shifted
by one copy per bar. When ``index`` is an ascending run of consecutive symbols the
windows are used in place; otherwise the columns of ``index`` are gathered first.
Building the ``SymbolStats`` records costs more than the step itself
(``python -m benchmarks.symbol_table``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from agents.analytics.symbols import SymbolParams
from streams.records import SymbolStats

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

# The order of SymbolStats' fields, in which records() passes them positionally.
RECORD_FIELDS = (
    "close",
    "prev_close",
    "change_pct",
    "return_pct",
    "sma",
    "ema",
    "above_sma",
    "high_n",
    "low_n",
    "new_high",
    "new_low",
    "direction",
    "up_volume",
    "down_volume",
    "bars",
)
if SymbolStats.__struct_fields__ != RECORD_FIELDS:  # pragma: no cover - caught by tests
    raise ImportError(f"SymbolStats fields changed: {SymbolStats.__struct_fields__}")

_EPS = np.finfo(np.float64).eps


@dataclass(frozen=True, slots=True)
class IndicatorColumns:
    """The figures of one :meth:`SymbolTable.on_bars` call, one row per bar given.

    NaN stands for ``None`` in ``prev_close``, ``change_pct``, ``return_pct`` and
    ``sma``; the masks say the same (``has_prev`` also covers ``direction``,
    ``has_sma`` also ``above_sma``, whose value is False where it is None).
    """

    index: Ints
    close: Floats
    prev_close: Floats
    change_pct: Floats
    return_pct: Floats
    sma: Floats
    ema: Floats
    above_sma: Bools
    high_n: Floats
    low_n: Floats
    new_high: Bools
    new_low: Bools
    direction: npt.NDArray[np.int8]
    up_volume: Floats
    down_volume: Floats
    bars: Ints
    has_prev: Bools
    has_return: Bools
    has_sma: Bools

    def __len__(self) -> int:
        return len(self.index)


def _as_floats(name: str, values: npt.ArrayLike, rows: int) -> Floats:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (rows,):
        raise ValueError(f"{name} must be a 1-D array of {rows} values, got shape {array.shape}")
    return array


def optional_list(values: npt.NDArray[Any], present: Bools) -> list[Any]:
    """``values`` as Python objects, ``None`` where ``present`` is False."""
    if present.all():
        return values.tolist()
    objects = values.astype(object)
    objects[~present] = None
    return objects.tolist()


class SymbolTable:
    """The running indicators of symbols ``0 .. size-1`` (see the module docstring)."""

    def __init__(self, params: SymbolParams | None = None, size: int = 0) -> None:
        self.params = params = params or SymbolParams()
        self.alpha = 2.0 / (params.ema_bars + 1)  # as Ema.span
        self.size = 0
        self._capacity = 0
        # Windows are time-major: one row per slot, one column per symbol, so a max or
        # a sum over a window runs across the contiguous symbols of a row.
        # Rings (order does not matter to a max, and closes are read at two slots):
        # the n values held are the n slots before the head, cyclically; empty slots
        # hold NaN for closes, -inf for highs and +inf for lows (never a max or min).
        self._closes = np.empty((params.return_bars + 1, 0))
        self._highs = np.empty((params.high_low_bars, 0))
        self._lows = np.empty((params.high_low_bars, 0))
        # The SMA window in chronological order in rows 1..n (filled from the bottom);
        # row 0 takes the value that left, so moving the window on is one copy.
        self._sma = np.empty((params.sma_bars + 1, 0))
        self._ema = np.empty(0)  # NaN: no value yet
        # The highest high and lowest low held (-inf / +inf when none): a window's
        # extreme is looked for again only when the value that leaves it was it.
        self._top = np.empty(0)
        self._bottom = np.empty(0)
        self._bars = np.empty(0, dtype=np.int64)
        self._n_closes = np.empty(0, dtype=np.int64)  # values held
        self._n_sma = np.empty(0, dtype=np.int64)
        self._n_highs = np.empty(0, dtype=np.int64)
        self._n_lows = np.empty(0, dtype=np.int64)
        self._head_closes = np.empty(0, dtype=np.int64)  # next slot written
        self._head_highs = np.empty(0, dtype=np.int64)
        self._head_lows = np.empty(0, dtype=np.int64)
        self.grow(size)

    _ARRAYS = (
        "_closes",
        "_highs",
        "_lows",
        "_sma",
        "_ema",
        "_top",
        "_bottom",
        "_bars",
        "_n_closes",
        "_n_sma",
        "_n_highs",
        "_n_lows",
        "_head_closes",
        "_head_highs",
        "_head_lows",
    )

    # --- size -------------------------------------------------------------------

    def grow(self, size: int) -> None:
        """Hold ``size`` symbols; those added start with no bars. Capacity doubles, so
        adding symbols one at a time costs amortised O(1) copies each."""
        if size < self.size:
            raise ValueError(f"a symbol table cannot shrink: size {self.size}, asked {size}")
        if size > self._capacity:
            capacity = max(size, 2 * self._capacity, 16)
            for name in self._ARRAYS:
                old = getattr(self, name)
                new = np.empty((*old.shape[:-1], capacity), dtype=old.dtype)
                new[..., : self.size] = old[..., : self.size]
                setattr(self, name, new)
            self._capacity = capacity
        self._clear(slice(self.size, size))
        self.size = size

    def _clear(self, rows: slice | int) -> None:
        self._closes[:, rows] = np.nan
        self._sma[:, rows] = np.nan
        self._highs[:, rows] = -np.inf
        self._lows[:, rows] = np.inf
        self._ema[rows] = np.nan
        self._top[rows] = -np.inf
        self._bottom[rows] = np.inf
        for name in self._ARRAYS[7:]:
            getattr(self, name)[rows] = 0

    # --- bars -------------------------------------------------------------------

    def on_bars(
        self,
        index: npt.ArrayLike,
        open: npt.ArrayLike,
        high: npt.ArrayLike,
        low: npt.ArrayLike,
        close: npt.ArrayLike,
        volume: npt.ArrayLike,
    ) -> IndicatorColumns:
        """Add one closed bar to each symbol of ``index``; their figures at it.

        All or nothing: a bad row raises :class:`ValueError` (naming the first one)
        before any symbol changes. Fastest when ``index`` is an ascending run of
        consecutive symbols (such as every symbol in order): the windows are then
        used where they are instead of gathered.
        """
        idx = np.asarray(index)
        if idx.ndim != 1:
            raise ValueError(f"index must be a 1-D array of symbol indices, got shape {idx.shape}")
        k = len(idx)
        if k and not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"index must hold integers, got dtype {idx.dtype}")
        idx = idx.astype(np.int64, copy=False)
        o = _as_floats("open", open, k)
        h = _as_floats("high", high, k)
        lo = _as_floats("low", low, k)
        c = _as_floats("close", close, k)
        v = _as_floats("volume", volume, k)
        self._validate(idx, o, h, lo, c, v)
        p = self.params
        # The symbols' columns: a view when they are consecutive and in order, else a
        # gathered copy. Nothing below changes the table before the commit.
        cols: slice | Ints = idx
        if k and idx[-1] - idx[0] == k - 1 and bool(np.all(idx[1:] > idx[:-1])):
            cols = slice(int(idx[0]), int(idx[0]) + k)

        # Closes: the previous one before the new is written, the n-bar return base
        # (the oldest of the full ring) after.
        width = p.return_bars + 1
        n_closes = self._n_closes[cols]
        head_closes = self._head_closes[cols]
        has_prev = n_closes > 0
        prev_close = np.where(has_prev, self._closes[head_closes - 1, idx], np.nan)
        n_closes = np.minimum(n_closes + 1, width)
        has_return = n_closes == width
        next_closes = head_closes + 1
        next_closes[next_closes == width] = 0
        with np.errstate(over="ignore"):
            change_pct = (c / prev_close - 1.0) * 100.0
            base = self._closes[next_closes, idx]  # read before the write below
            return_pct = np.where(has_return, (c / base - 1.0) * 100.0, np.nan)

        # SMA over the window, summed in chronological order (oldest first, one row
        # at a time: the same window gives the same bits, whatever else is in the call).
        window = self._sma[:, cols]  # the new window is window[2:] and c
        n_sma = np.minimum(self._n_sma[cols] + 1, p.sma_bars)
        has_sma = n_sma == p.sma_bars
        older = window[2:]
        total = np.zeros(k)
        for row in older:
            total += row
        sma = np.where(has_sma, (total + c) / p.sma_bars, np.nan)
        above_sma = self._above_sma(c, sma, older, has_sma)

        # EMA seeded with the first close: EMA_t = EMA_{t-1} + alpha (C_t - EMA_{t-1}).
        ema = self._ema[cols]
        ema = np.where(np.isnan(ema), c, ema + self.alpha * (c - ema))

        # Highs and lows: the slot at the head is empty or holds the value that leaves.
        n_hl = p.high_low_bars
        n_highs, n_lows = self._n_highs[cols], self._n_lows[cols]
        head_highs, head_lows = self._head_highs[cols], self._head_lows[cols]
        prior_high, prior_low = self._top[cols], self._bottom[cols]  # -inf/+inf if none
        high_rest = self._rest(self._highs, idx, head_highs, prior_high, np.maximum, -np.inf)
        low_rest = self._rest(self._lows, idx, head_lows, prior_low, np.minimum, np.inf)
        full = n_highs == n_hl  # SymbolState asks the highs window for both
        new_high = full & (n_highs > 0) & (h > prior_high)
        new_low = full & (n_lows > 0) & (lo < prior_low)
        high_n = np.maximum(high_rest, h)
        low_n = np.minimum(low_rest, lo)

        direction = np.sign(c - prev_close)  # NaN where there is no previous close
        direction = np.where(has_prev, direction, 0.0).astype(np.int8)
        zero = np.zeros(k)
        up_volume = np.where(direction == 1, v, zero)
        down_volume = np.where(direction == -1, v, zero)
        bars = self._bars[cols] + 1

        # Commit.
        self._closes[head_closes, idx] = c
        self._head_closes[cols] = next_closes
        self._n_closes[cols] = n_closes
        self._sma[:-1, cols] = window[1:]
        self._sma[-1, cols] = c
        self._n_sma[cols] = n_sma
        self._ema[cols] = ema
        self._highs[head_highs, idx] = h
        self._lows[head_lows, idx] = lo
        self._top[cols] = high_n
        self._bottom[cols] = low_n
        self._head_highs[cols] = np.where(head_highs + 1 == n_hl, 0, head_highs + 1)
        self._head_lows[cols] = np.where(head_lows + 1 == n_hl, 0, head_lows + 1)
        self._n_highs[cols] = np.minimum(n_highs + 1, n_hl)
        self._n_lows[cols] = np.minimum(n_lows + 1, n_hl)
        self._bars[cols] = bars

        return IndicatorColumns(
            index=idx,
            close=c,
            prev_close=prev_close,
            change_pct=change_pct,
            return_pct=return_pct,
            sma=sma,
            ema=ema,
            above_sma=above_sma,
            high_n=high_n,
            low_n=low_n,
            new_high=new_high,
            new_low=new_low,
            direction=direction,
            up_volume=up_volume,
            down_volume=down_volume,
            bars=bars,
            has_prev=has_prev,
            has_return=has_return,
            has_sma=has_sma,
        )

    @staticmethod
    def _rest(
        ring: Floats,
        idx: Ints,
        head: Ints,
        extreme: Floats,
        pick: np.ufunc,
        empty: float,
    ) -> Floats:
        """The extreme (``pick`` = np.maximum or np.minimum) of each symbol's ring
        without the slot at its head, the value that leaves (or an empty slot).

        That is the extreme held unless the leaving value is it: only those symbols'
        rings (a few in most intervals) are gathered and reduced again. Exact, as
        max and min are: the same values as a reduction over every ring.
        """
        leaving = ring[head, idx]
        again = np.flatnonzero((leaving == extreme) & (leaving != empty))
        if not len(again):
            return extreme
        rest = extreme.copy()
        window = ring[:, idx[again]]
        window[head[again], np.arange(len(again))] = empty
        rest[again] = pick.reduce(window, axis=0)
        return rest

    def _validate(self, idx: Ints, o: Floats, h: Floats, lo: Floats, c: Floats, v: Floats) -> None:
        k = len(idx)
        if not k:
            return
        bad_index = (idx < 0) | (idx >= self.size)
        if bad_index.any():
            row = int(np.argmax(bad_index))
            raise ValueError(
                f"row {row}: symbol index {int(idx[row])} is not in 0..{self.size - 1}"
            )
        if int(np.bincount(idx, minlength=self.size).max()) > 1:
            first_row: dict[int, int] = {}
            for row, i in enumerate(idx.tolist()):
                if i in first_row:
                    raise ValueError(
                        f"row {row}: symbol index {i} has a bar already in row {first_row[i]}"
                        " (one bar per symbol per call)"
                    )
                first_row[i] = row
        with np.errstate(invalid="ignore"):
            prices_ok = (
                np.isfinite(o)
                & np.isfinite(h)
                & np.isfinite(lo)
                & np.isfinite(c)
                & (lo > 0)
                & (lo <= np.minimum(o, c))
                & (np.maximum(o, c) <= h)
            )
            volume_ok = np.isfinite(v) & (v >= 0)
        ok = prices_ok & volume_ok
        if ok.all():
            return
        row = int(np.argmin(ok))
        symbol = f"row {row} (symbol index {int(idx[row])}): "
        if not prices_ok[row]:
            raise ValueError(
                f"{symbol}bar prices must satisfy 0 < low <= open, close <= high; got "
                f"open={float(o[row])} high={float(h[row])} low={float(lo[row])} "
                f"close={float(c[row])}"
            )
        raise ValueError(f"{symbol}bar volume must be a finite number >= 0, got {float(v[row])}")

    def _above_sma(self, c: Floats, sma: Floats, older: Floats, has_sma: Bools) -> Bools:
        """C_t > SMA_n as ``SymbolState._above_sma`` decides it: n C_t - sum(window) > 0,
        the window being ``older`` (the n - 1 closes before C_t) and C_t.

        numpy's sum of n positive values is within about n ulps of the exact sum, so
        where ``|C_t - sma|`` exceeds a bound well above that error the rounded
        comparison has the exact sign; the rows within the bound are near ties and
        get the exact decision of ``math.fsum``.
        """
        n = self.params.sma_bars
        above = has_sma & (c > sma)
        rtol = max(1e-9, 16.0 * (n + 2) * _EPS)
        with np.errstate(invalid="ignore"):
            near = has_sma & (np.abs(c - sma) <= rtol * np.maximum(c, np.abs(sma)))
        for row in np.flatnonzero(near).tolist():
            close = float(c[row])
            window = [*older[:, row].tolist(), close]
            above[row] = math.fsum([close] * n + [-x for x in window]) > 0
        return above

    # --- records ----------------------------------------------------------------

    @staticmethod
    def records(columns: IndicatorColumns) -> list[SymbolStats]:
        """The wire records of ``columns``, in row order: the field types are those of
        ``SymbolState.on_bar`` (float, int, bool and None)."""
        has_prev, has_sma = columns.has_prev, columns.has_sma
        return list(
            map(
                SymbolStats,
                columns.close.tolist(),
                optional_list(columns.prev_close, has_prev),
                optional_list(columns.change_pct, has_prev),
                optional_list(columns.return_pct, columns.has_return),
                optional_list(columns.sma, has_sma),
                columns.ema.tolist(),
                optional_list(columns.above_sma, has_sma),
                columns.high_n.tolist(),
                columns.low_n.tolist(),
                columns.new_high.tolist(),
                columns.new_low.tolist(),
                optional_list(columns.direction, has_prev),
                columns.up_volume.tolist(),
                columns.down_volume.tolist(),
                columns.bars.tolist(),
            )
        )

    @staticmethod
    def record(columns: IndicatorColumns, row: int) -> SymbolStats:
        """The wire record of one row of ``columns``."""
        has_prev = bool(columns.has_prev[row])
        has_sma = bool(columns.has_sma[row])
        return SymbolStats(
            close=float(columns.close[row]),
            prev_close=float(columns.prev_close[row]) if has_prev else None,
            change_pct=float(columns.change_pct[row]) if has_prev else None,
            return_pct=float(columns.return_pct[row]) if columns.has_return[row] else None,
            sma=float(columns.sma[row]) if has_sma else None,
            ema=float(columns.ema[row]),
            above_sma=bool(columns.above_sma[row]) if has_sma else None,
            high_n=float(columns.high_n[row]),
            low_n=float(columns.low_n[row]),
            new_high=bool(columns.new_high[row]),
            new_low=bool(columns.new_low[row]),
            direction=int(columns.direction[row]) if has_prev else None,
            up_volume=float(columns.up_volume[row]),
            down_volume=float(columns.down_volume[row]),
            bars=int(columns.bars[row]),
        )

    # --- state ------------------------------------------------------------------

    def _check(self, i: int) -> int:
        if not 0 <= i < self.size:
            raise IndexError(f"symbol index {i} is not in 0..{self.size - 1}")
        return i

    def to_state(self, i: int) -> dict[str, Any]:
        """Symbol ``i``'s state in the format of ``SymbolState.to_state()`` (equal to it
        for the same bars)."""
        i = self._check(i)
        ema = float(self._ema[i])

        def ring(values: Floats, head: Ints, count: Ints) -> list[float]:
            start = int(head[i]) - int(count[i])
            slots = np.arange(start, start + int(count[i])) % values.shape[0]
            return values[slots, i].tolist()

        n_sma = int(self._n_sma[i])
        return {
            "bars": int(self._bars[i]),
            "closes": ring(self._closes, self._head_closes, self._n_closes),
            "sma": self._sma[self._sma.shape[0] - n_sma :, i].tolist() if n_sma else [],
            "ema": None if math.isnan(ema) else ema,
            "highs": ring(self._highs, self._head_highs, self._n_highs),
            "lows": ring(self._lows, self._head_lows, self._n_lows),
        }

    def from_state(self, i: int, state: dict[str, Any]) -> None:
        """Symbol ``i`` continues from ``state`` (of :meth:`to_state` or
        ``SymbolState.to_state()``, made with the same params), as
        ``SymbolState.from_state`` would; a state that cannot be read changes nothing."""
        i = self._check(i)
        p = self.params
        bars = int(state["bars"])
        # A deque of the window's length keeps the last values: so does the table.
        closes = [float(x) for x in state["closes"]][-(p.return_bars + 1) :]
        sma = [float(x) for x in state["sma"]][-p.sma_bars :]
        ema = None if state["ema"] is None else float(state["ema"])
        highs = [float(x) for x in state["highs"]][-p.high_low_bars :]
        lows = [float(x) for x in state["lows"]][-p.high_low_bars :]
        self._clear(i)
        self._bars[i] = bars
        self._ema[i] = np.nan if ema is None else ema
        for values, ring, count, head in (
            (closes, self._closes, self._n_closes, self._head_closes),
            (highs, self._highs, self._n_highs, self._head_highs),
            (lows, self._lows, self._n_lows, self._head_lows),
        ):
            ring[: len(values), i] = values
            count[i] = len(values)
            head[i] = len(values) % ring.shape[0]
        self._top[i] = max(highs, default=-math.inf)
        self._bottom[i] = min(lows, default=math.inf)
        if sma:
            self._sma[self._sma.shape[0] - len(sma) :, i] = sma
        self._n_sma[i] = len(sma)
