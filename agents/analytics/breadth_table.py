"""Breadth of many groups at once: array operations over a membership table.

:class:`BreadthTable` gives, per interval and per group, the same
:class:`~streams.records.GroupStats` as one :class:`~agents.analytics.breadth.GroupBreadth`
per group (every formula and convention is stated in :mod:`agents.analytics.breadth`),
but holds the groups as a membership table over one symbol universe and every
running figure (A/D line, McClellan EMAs, summation index, Zweig EMA and window,
index bases, last closes) as arrays over the groups, so an interval costs a few
numpy passes over the memberships instead of Python work per member and group.

API::

    table = BreadthTable(groups, symbols, params, caps)   # groups: name -> members
    columns = table.columns(metrics)                      # dict symbol -> SymbolStats
    stats = table.on_interval(columns)                    # list[GroupStats], in groups' order
    state = table.to_state()                              # JSON-able
    table = BreadthTable.from_state(groups, symbols, params, state, caps)

- ``symbols`` is the universe: every member of every group must be in it; a
  symbol's position in it is its column (``table.positions``). Symbols outside it
  are ignored by :meth:`BreadthTable.columns`, as non-members are by ``GroupBreadth``.
- :class:`IntervalColumns` is one interval as arrays over the symbols that have a
  bar in it: their positions (distinct), close, direction with a ``has_direction``
  mask (False: the symbol's first bar, ``direction`` None), ``above_sma`` with a
  ``has_sma`` mask (False while its SMA warms up), new high, new low, up and down
  volume. Build it directly from arrays, or with :meth:`BreadthTable.columns` /
  :meth:`IntervalColumns.from_stats` from ``SymbolStats``.
- Every call of :meth:`BreadthTable.on_interval` is one interval for every group.
- ``caps`` (symbol -> cap > 0) must cover every member of every group when given;
  without caps the cap-weight index is the equal-weight index, as in ``GroupBreadth``.
- ``to_state()`` is ``{"groups": {name: state}}`` where each ``state`` is exactly
  what ``GroupBreadth.to_state()`` holds for that group, so states convert both
  ways: ``GroupBreadth.from_state(members, params, state["groups"][name], caps)``
  continues a table's group, and a table can be restored from the ``to_state()`` of
  one ``GroupBreadth`` per group (their saved closes must agree where groups overlap).

Layout. The table is kept sparse, as a list of memberships (group-major: each
group's member positions in the group's order, like the CSR layout of a sparse
matrix) with the group of each membership. Per interval:

- the integer counts come from one ``np.bincount`` over the memberships of a code
  per symbol (no bar, or direction none/up/down/unchanged x SMA none/above/below x
  new high x new low: 49 codes); the groups x codes table times a 0/1 matrix of
  which code has which figure gives reporting, A, D, Un, above and below SMA, new
  highs and new lows: exact integers;
- volumes and the index sums are ``np.add.reduceat`` over the memberships' values.

Measured alternatives (``python -m benchmarks.breadth_table``; benchmarks/README.md,
"Breadth of many groups"): a dense groups x symbols 0/1 float64 matrix times the
(N x 10) matrix of the same per-symbol figures is as fast for 500 symbols but,
from 5,000 on, OpenBLAS runs that small-by-large product with threads that compete
on a busy 2-core machine (4-16 ms instead of 0.1-0.3 ms); ten matrix-vector
products, ten weighted ``np.bincount`` and ten masked row sums of a boolean matrix
were 1.7-10 times slower than the coded count. A dense matrix also costs G x N
memory and touches every non-member; the membership list costs only the memberships.

Equality with ``GroupBreadth``. Every figure is computed with the same IEEE-754
operations in the same order, hence bit-identical, except four sums: ``up_volume``,
``down_volume`` and the equal- and cap-weight indices are numpy's pairwise sums
(``np.add.reduceat``) where ``GroupBreadth`` uses ``math.fsum`` (correctly rounded).
For the nonnegative terms they add (volumes; price relatives and weights, all > 0)
the relative difference is bounded by about (log2(n) + 11) x 2**-53 for n members
(numpy adds blocks of up to 128 values in 8 accumulators, then pairwise): about
3e-15 for 10,000 members; ``up_volume_pct`` and ``trin`` inherit it. A sum
of nonnegative terms is 0 in any order exactly when every term is 0, so which
figures are None is the same. Integers, booleans and None-ness are identical.

Input checks ``GroupBreadth`` does not make, each a one-line ``ValueError``:
positions in range and distinct, directions in {-1, 0, +1}, closes finite and > 0
(a close of 0 as an index base would divide by zero), volumes finite and >= 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from agents.analytics.breadth import BreadthParams, cap_weights
from streams.records import GroupStats, SymbolStats

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Positions = npt.NDArray[np.intp]
Flags = npt.NDArray[np.bool_]

# A symbol's code per interval: 0 = no bar; else 1 + dir + 4 (sma + 3 (high + 2 low))
# with dir 0 none, 1 up, 2 down, 3 unchanged and sma 0 none, 1 above, 2 below.
_CODES = 1 + 4 * 3 * 2 * 2
# Direction code by the direction's byte (int8 viewed as uint8): -1 for invalid ones.
_DIRECTION_CODE = np.full(256, -1, dtype=np.intp)
_DIRECTION_CODE[[1, 255, 0]] = [1, 2, 3]
# Code -> (no bar, advancing, declining, unchanged, above SMA, below SMA, high, low).
_PROJECTION = np.zeros((_CODES, 8), dtype=np.int64)
_PROJECTION[0, 0] = 1
for _code in range(1, _CODES):
    _direction, _sma = (_code - 1) % 4, (_code - 1) // 4 % 3
    if _direction:
        _PROJECTION[_code, _direction] = 1
    if _sma:
        _PROJECTION[_code, 3 + _sma] = 1
    _PROJECTION[_code, 6] = (_code - 1) // 12 % 2
    _PROJECTION[_code, 7] = (_code - 1) // 24


@dataclass(frozen=True)
class IntervalColumns:
    """One interval's figures of the symbols with a bar in it, one array each.

    ``index`` holds their positions in the table's ``symbols`` (distinct); the other
    arrays are aligned with it. ``direction`` counts only where ``has_direction``
    (False: a first bar), ``above_sma`` only where ``has_sma``. Arrays are converted
    to the dtypes below on construction.
    """

    index: Positions
    close: Floats
    direction: npt.NDArray[np.int8]
    has_direction: Flags
    above_sma: Flags
    has_sma: Flags
    new_high: Flags
    new_low: Flags
    up_volume: Floats
    down_volume: Floats

    def __post_init__(self) -> None:
        dtypes = {
            "index": np.intp,
            "close": np.float64,
            "direction": np.int8,
            "has_direction": np.bool_,
            "above_sma": np.bool_,
            "has_sma": np.bool_,
            "new_high": np.bool_,
            "new_low": np.bool_,
            "up_volume": np.float64,
            "down_volume": np.float64,
        }
        n = None
        for name, dtype in dtypes.items():
            array: npt.NDArray[Any] = np.asarray(getattr(self, name), dtype=dtype)
            if array.ndim != 1:
                raise ValueError(f"interval column {name} must be one-dimensional")
            if n is None:
                n = len(array)
            elif len(array) != n:
                raise ValueError(f"interval column {name} has {len(array)} values, index has {n}")
            object.__setattr__(self, name, array)

    def __len__(self) -> int:
        return len(self.index)

    @classmethod
    def from_stats(
        cls, metrics: Mapping[str, SymbolStats], positions: Mapping[str, int]
    ) -> IntervalColumns:
        """Columns of the symbols of ``metrics`` that have a position (others ignored)."""
        rows = [
            (
                at,
                s.close,
                math.nan if s.direction is None else s.direction,
                math.nan if s.above_sma is None else s.above_sma,
                s.new_high,
                s.new_low,
                s.up_volume,
                s.down_volume,
            )
            for symbol, s in metrics.items()
            if (at := positions.get(symbol)) is not None
        ]
        table = np.array(rows, dtype=np.float64).reshape(len(rows), 8)
        direction, above = table[:, 2], table[:, 3]
        has_direction = ~np.isnan(direction)
        return cls(
            index=table[:, 0].astype(np.intp),
            close=table[:, 1],
            # Clipped into int8 so that any direction but -1, 0, +1 stays one the
            # table refuses.
            direction=np.where(has_direction, direction, 0).clip(-2, 2).astype(np.int8),
            has_direction=has_direction,
            above_sma=above == 1,
            has_sma=~np.isnan(above),
            new_high=table[:, 4] != 0,
            new_low=table[:, 5] != 0,
            up_volume=table[:, 6],
            down_volume=table[:, 7],
        )


def _ema(value: Floats, alpha: float, x: Floats) -> Floats:
    """EMA_t = EMA_{t-1} + alpha (x_t - EMA_{t-1}), the operations of ``Ema.update``."""
    return value + alpha * (x - value)


class BreadthTable:
    """Running breadth of every group of a universe; feed it every complete interval."""

    def __init__(
        self,
        groups: Mapping[str, Sequence[str]],
        symbols: Sequence[str],
        params: BreadthParams | None = None,
        caps: Mapping[str, float] | None = None,
    ) -> None:
        self.symbols = tuple(symbols)
        self.positions = {symbol: i for i, symbol in enumerate(self.symbols)}
        if len(self.positions) != len(self.symbols):
            raise ValueError("the universe's symbols must be distinct")
        if not groups:
            raise ValueError("a breadth table needs at least one group")
        self.params = params = params or BreadthParams()
        self.names = tuple(groups)
        self.members: dict[str, tuple[str, ...]] = {}
        for name, given in groups.items():
            members = tuple(given)
            if not members or len(set(members)) != len(members):
                raise ValueError(f"a group needs distinct members, got {members!r}")
            unknown = [m for m in members if m not in self.positions]
            if unknown:
                raise ValueError(f"group {name!r} has members outside the universe: {unknown}")
            self.members[name] = members
        self.sizes: Ints = np.array([len(m) for m in self.members.values()], dtype=np.int64)
        self.offsets: Positions = np.concatenate(([0], np.cumsum(self.sizes)[:-1])).astype(np.intp)
        # Memberships, group-major: the member's symbol position and its group.
        self.flat: Positions = np.array(
            [self.positions[m] for members in self.members.values() for m in members],
            dtype=np.intp,
        )
        count = len(self.names)
        self.group_of: Positions = np.repeat(np.arange(count, dtype=np.intp), self.sizes)
        self.weights: Floats | None = None
        if caps is not None:
            weights: list[float] = []
            for members in self.members.values():
                weights += cap_weights(members, caps).values()
            self.weights = np.array(weights, dtype=np.float64)

        self.alpha_fast = 2.0 / (params.mcclellan_fast + 1)
        self.alpha_slow = 2.0 / (params.mcclellan_slow + 1)
        self.alpha_zweig = 2.0 / (params.zweig_span + 1)
        self.ad_line: Ints = np.zeros(count, dtype=np.int64)
        self.summation_index: Floats = np.full(count, params.summation_start)
        # McClellan on net advances and on RANA * 1000: columns fast (T10), slow (T5).
        self.mcclellan: Floats = np.zeros((count, 2))
        self.ratio_adjusted: Floats = np.zeros((count, 2))
        self.zweig_ema: Floats = np.full(count, np.nan)
        self.zweig_seeded: Flags = np.zeros(count, dtype=np.bool_)
        # The Zweig window: ring buffer per group (+inf in unused slots), next slot, fill.
        self.zweig_recent: Floats = np.full((count, params.zweig_window), np.inf)
        self.zweig_next: Ints = np.zeros(count, dtype=np.int64)
        self.zweig_filled: Ints = np.zeros(count, dtype=np.int64)
        self.last_close: Floats = np.full(len(self.symbols), np.nan)
        self.has_close: Flags = np.zeros(len(self.symbols), dtype=np.bool_)
        # The chained indices (see ``agents.analytics.breadth``): per membership the
        # close it joined at (NaN: not in the index yet) and its units in each index;
        # per group and index (equal, cap weight) the level (NaN: not started) and the
        # value of its units at the last interval.
        self.base: Floats = np.full(len(self.flat), np.nan)
        self.units: Floats = np.zeros((2, len(self.flat)))
        self.level: Floats = np.full((2, count), np.nan)
        self.value: Floats = np.full((2, count), np.nan)
        self.index_members: Ints = np.zeros(count, dtype=np.int64)
        self.caps: Floats = (
            np.ones(len(self.flat))
            if caps is None
            else np.array(
                [float(caps[m]) for members in self.members.values() for m in members],
                dtype=np.float64,
            )
        )
        self._code: Positions = np.zeros(len(self.symbols), dtype=np.intp)
        self._seen: Flags = np.zeros(len(self.symbols), dtype=np.bool_)
        self._volume: Floats = np.zeros((2, len(self.symbols)))
        self._bins: Positions = self.group_of * _CODES

    def columns(self, metrics: Mapping[str, SymbolStats]) -> IntervalColumns:
        """The interval's columns from its symbols' ``SymbolStats``."""
        return IntervalColumns.from_stats(metrics, self.positions)

    def _codes(self, c: IntervalColumns) -> Positions:
        """Each reporting symbol's code; a one-line ValueError for malformed columns."""
        n = len(self.symbols)
        if not len(c):
            return np.zeros(0, dtype=np.intp)
        if c.index.min() < 0 or c.index.max() >= n:
            raise ValueError(f"interval positions must be distinct and in [0, {n})")
        seen = self._seen
        seen[:] = False
        seen[c.index] = True
        if int(np.count_nonzero(seen)) != len(c):
            raise ValueError(f"interval positions must be distinct and in [0, {n})")
        # NaN fails both comparisons: min and max propagate it.
        if not (c.close.min() > 0 and c.close.max() < math.inf):
            raise ValueError("interval closes must be finite and > 0")
        if not (
            c.up_volume.min() >= 0
            and c.down_volume.min() >= 0
            and c.up_volume.max() < math.inf
            and c.down_volume.max() < math.inf
        ):
            raise ValueError("interval volumes must be finite and >= 0")
        direction = np.where(c.has_direction, _DIRECTION_CODE[c.direction.view(np.uint8)], 0)
        if direction.min() < 0:
            raise ValueError("interval directions must be -1, 0 or +1")
        sma = np.where(c.has_sma, 2 - c.above_sma.view(np.int8), 0)
        code: Positions = 1 + direction + 4 * (sma + 3 * (c.new_high + 2 * c.new_low))
        return code

    def on_interval(self, columns: IntervalColumns) -> list[GroupStats]:
        """Add one complete interval; one GroupStats per group, in the groups' order."""
        c = columns
        count, p = len(self.names), self.params

        # Integer counts: one bincount of (group, symbol code) over the memberships,
        # then each figure as a sum over the codes that have it.
        code = self._code
        code[:] = 0
        code[c.index] = self._codes(c)
        table = np.bincount(self._bins + code[self.flat], minlength=count * _CODES)
        counts = table.reshape(count, _CODES) @ _PROJECTION
        reporting = self.sizes - counts[:, 0]
        advancers, decliners, unchanged = counts[:, 1], counts[:, 2], counts[:, 3]
        above, with_sma = counts[:, 4], counts[:, 4] + counts[:, 5]
        new_highs, new_lows = counts[:, 6], counts[:, 7]

        volume = self._volume
        volume[:] = 0.0
        volume[0, c.index] = c.up_volume
        volume[1, c.index] = c.down_volume
        # np.take along the rows: fancy indexing of a 2-D array's columns is ~10x slower.
        up_volume, down_volume = np.add.reduceat(
            np.take(volume, self.flat, axis=1), self.offsets, axis=1
        )

        net = advancers - decliners
        decided = advancers + decliners
        has_decided = decided > 0
        has_decliners = decliners > 0
        all_volume = up_volume + down_volume
        has_trin = has_decliners & (advancers > 0) & (up_volume != 0) & (down_volume != 0)
        # Where a figure has no value its denominator is replaced by 1 (no warnings);
        # those values are masked to None below.
        safe_decliners = np.where(has_decliners, decliners, 1)
        safe_decided = np.where(has_decided, decided, 1)
        ad_ratio = advancers / safe_decliners
        ad_percent = net / safe_decided
        pct_above = 100.0 * above / np.where(with_sma > 0, with_sma, 1)
        up_pct = up_volume / np.where(all_volume != 0, all_volume, 1.0)
        volume_ratio = up_volume / np.where(has_trin, down_volume, 1.0)
        trin = ad_ratio / np.where(has_trin, volume_ratio, 1.0)
        share = advancers / safe_decided

        self.ad_line += net
        mc, ra = self.mcclellan, self.ratio_adjusted
        x = net.astype(np.float64)
        mc[:, 0] = _ema(mc[:, 0], self.alpha_fast, x)
        mc[:, 1] = _ema(mc[:, 1], self.alpha_slow, x)
        oscillator = mc[:, 0] - mc[:, 1]
        self.summation_index += oscillator
        rana = np.where(has_decided, ad_percent * 1000.0, 0.0)
        ra[:, 0] = _ema(ra[:, 0], self.alpha_fast, rana)
        ra[:, 1] = _ema(ra[:, 1], self.alpha_slow, rana)
        ratio_adjusted = ra[:, 0] - ra[:, 1]

        ema = self.zweig_ema
        ema[:] = np.where(
            has_decided,
            np.where(self.zweig_seeded, _ema(ema, self.alpha_zweig, share), share),
            ema,
        )
        seeded = self.zweig_seeded = self.zweig_seeded | has_decided
        recent_low = self.zweig_recent.min(axis=1)
        thrust = seeded & (ema > p.zweig_high) & (recent_low < p.zweig_low)
        rows = np.flatnonzero(seeded)
        self.zweig_recent[rows, self.zweig_next[rows]] = ema[rows]
        self.zweig_next[rows] = (self.zweig_next[rows] + 1) % p.zweig_window
        self.zweig_filled[rows] = np.minimum(self.zweig_filled[rows] + 1, p.zweig_window)

        equal, cap = self._indices(c)

        # One list per group of its integers, and of its floats with None for no value.
        integers = np.stack(
            [
                self.sizes,
                reporting,
                advancers,
                decliners,
                unchanged,
                net,
                self.ad_line,
                new_highs,
                new_lows,
                new_highs - new_lows,
                self.index_members,
            ]
        )
        floats = np.stack(
            [
                ad_ratio,
                ad_percent,
                pct_above,
                up_volume,
                down_volume,
                up_pct,
                trin,
                oscillator,
                ratio_adjusted,
                self.summation_index,
                ema,
                equal,
                cap,
            ]
        ).astype(object)  # holds Python floats, and None where a figure has no value
        never = np.zeros(count, dtype=np.bool_)
        floats[
            np.stack(
                [
                    ~has_decliners,
                    ~has_decided,
                    with_sma == 0,
                    never,
                    never,
                    all_volume == 0,
                    ~has_trin,
                    never,
                    never,
                    never,
                    ~seeded,
                    np.isnan(equal),
                    np.isnan(cap),
                ]
            )
        ] = None
        stats = []
        for ints, values, zt in zip(
            integers.T.tolist(),
            floats.T.tolist(),
            thrust.tolist(),
            strict=True,
        ):
            size, rep, adv, dec, unch, na, adl, nh, nl, nh_nl, in_index = ints
            ratio, rana_, pct, uv, dv, uv_pct, trin_, osc, ra_osc, si, zweig, eq, cw = values
            stats.append(
                GroupStats(
                    members=size,
                    reporting=rep,
                    advancers=adv,
                    decliners=dec,
                    unchanged=unch,
                    net_advances=na,
                    ad_line=adl,
                    ad_ratio=ratio,
                    ad_percent=rana_,
                    pct_above_sma=pct,
                    new_highs=nh,
                    new_lows=nl,
                    nh_nl=nh_nl,
                    up_volume=uv,
                    down_volume=dv,
                    up_volume_pct=uv_pct,
                    trin=trin_,
                    mcclellan_oscillator=osc,
                    mcclellan_ratio_adjusted=ra_osc,
                    summation_index=si,
                    zweig_ema=zweig,
                    zweig_thrust=zt,
                    equal_weight_index=eq,
                    cap_weight_index=cw,
                    index_members=in_index,
                )
            )
        return stats

    def weights_of(self, g: int) -> Floats | None:
        """Group ``g``'s configured cap weights, by member (None without caps)."""
        if self.weights is None:
            return None
        return self.weights[int(self.offsets[g]) : int(self.offsets[g] + self.sizes[g])]

    def _indices(self, c: IntervalColumns) -> tuple[Floats, Floats]:
        """Carry the closes forward, add members that have their first close to the
        indices; (equal, cap weight) per group, NaN where an index has not started."""
        self.last_close[c.index] = c.close
        self.has_close[c.index] = True
        close = self.last_close[self.flat]
        held = ~np.isnan(self.base)
        relatives = np.where(held, close / self.base, 0.0)  # 0: not in the index yet
        now = np.add.reduceat(self.units * relatives, self.offsets, axis=1)
        # An unchanged close leaves the level exactly as it was: value / value == 1.
        started = np.flatnonzero(~np.isnan(self.level[0]))
        self.level[:, started] *= now[:, started] / self.value[:, started]
        joining = ~held & self.has_close[self.flat]
        if joining.any():
            self._join(joining)
            held = ~np.isnan(self.base)
            relatives = np.where(held, close / self.base, 0.0)
            now = np.add.reduceat(self.units * relatives, self.offsets, axis=1)
        self.value = now
        self.index_members = np.bincount(self.group_of[held], minlength=len(self.names))
        equal = self.level[0]
        return equal, (self.level[1] if self.weights is not None else equal)

    def _join(self, joining: Flags) -> None:
        """Give the ``joining`` memberships their units, exactly as
        :class:`~agents.analytics.breadth.GroupIndices` does (the same ``math.fsum``
        sums, so saved units agree to the bit); a new index starts at 1.0. Joins are
        rare (a group's first closes, then late listings): a loop over their groups."""
        close = self.last_close
        for g in np.unique(self.group_of[joining]).tolist():
            lo, hi = int(self.offsets[g]), int(self.offsets[g] + self.sizes[g])
            seg = np.arange(lo, hi)
            new = seg[joining[lo:hi]]
            held = seg[~np.isnan(self.base[lo:hi])]
            if not held.size:
                cap_units = np.ones(new.size)
                if self.weights is not None:
                    members = self.members[self.names[g]]
                    names = tuple(members[i - lo] for i in new.tolist())
                    caps = dict(zip(names, self.caps[new].tolist(), strict=True))
                    shares = cap_weights(names, caps)
                    cap_units = np.array([shares[n] for n in names])
                self.units[0, new] = 1.0
                self.units[1, new] = cap_units
                self.level[:, g] = 1.0
            else:
                relatives = (close[self.flat[held]] / self.base[held]).tolist()
                values = [
                    math.fsum(
                        u * r for u, r in zip(self.units[k, held].tolist(), relatives, strict=True)
                    )
                    for k in range(2)
                ]
                average = values[0] / held.size
                cap_units = np.full(new.size, average)
                if self.weights is not None:
                    per_cap = values[1] / math.fsum(self.caps[held].tolist())
                    cap_units = np.array([c * per_cap for c in self.caps[new].tolist()])
                self.units[0, new] = average
                self.units[1, new] = cap_units
            self.base[new] = close[self.flat[new]]

    def to_state(self) -> dict[str, Any]:
        """``{"groups": {name: GroupBreadth.to_state() of that group}}``, plain JSON data."""
        groups = {}
        window = self.params.zweig_window
        for g, (name, members) in enumerate(self.members.items()):
            filled, nxt = int(self.zweig_filled[g]), int(self.zweig_next[g])
            ring = self.zweig_recent[g]
            recent = ring[:filled] if filled < window else np.roll(ring, -nxt)
            seg = slice(int(self.offsets[g]), int(self.offsets[g] + self.sizes[g]))
            groups[name] = {
                "ad_line": int(self.ad_line[g]),
                "summation_index": float(self.summation_index[g]),
                "mcclellan": self.mcclellan[g].tolist(),
                "ratio_adjusted": self.ratio_adjusted[g].tolist(),
                "zweig": {
                    "ema": float(self.zweig_ema[g]) if self.zweig_seeded[g] else None,
                    "recent": recent.tolist(),
                },
                "closes": {
                    m: float(self.last_close[at])
                    for m, at in zip(members, self.flat[seg].tolist(), strict=True)
                    if self.has_close[at]
                },
                **_index_state(members, self.base[seg], self.units[:, seg], self.level[:, g]),
            }
        return {"groups": groups}

    @classmethod
    def from_state(
        cls,
        groups: Mapping[str, Sequence[str]],
        symbols: Sequence[str],
        params: BreadthParams | None,
        state: Mapping[str, Any],
        caps: Mapping[str, float] | None = None,
    ) -> BreadthTable:
        """A table restored from :meth:`to_state` (or from one ``GroupBreadth.to_state()``
        per group); pass the groups, symbols, params and caps it ran with."""
        table = cls(groups, symbols, params, caps)
        saved = state["groups"]
        if set(saved) != set(table.names):
            raise ValueError(
                f"saved breadth covers groups {sorted(saved)}, not {sorted(table.names)}; "
                "a changed set of groups must start from a fresh BreadthTable"
            )
        window = table.params.zweig_window
        closes: dict[str, float] = {}
        for g, (name, members) in enumerate(table.members.items()):
            group = saved[name]
            seg = slice(int(table.offsets[g]), int(table.offsets[g] + table.sizes[g]))
            restored = _restore_index(name, members, group, table.weights_of(g))
            table.base[seg], table.units[:, seg], table.level[:, g] = restored
            table.ad_line[g] = int(group["ad_line"])
            table.summation_index[g] = float(group["summation_index"])
            table.mcclellan[g] = [float(x) for x in group["mcclellan"]]
            table.ratio_adjusted[g] = [float(x) for x in group["ratio_adjusted"]]
            ema = group["zweig"]["ema"]
            table.zweig_seeded[g] = ema is not None
            table.zweig_ema[g] = np.nan if ema is None else float(ema)
            recent = [float(x) for x in group["zweig"]["recent"]][-window:]
            table.zweig_recent[g, : len(recent)] = recent
            table.zweig_filled[g] = len(recent)
            table.zweig_next[g] = len(recent) % window
            outside = set(group["closes"]) - set(members)
            if outside:
                raise ValueError(f"saved closes of {name!r} name non-members {sorted(outside)}")
            for symbol, close in group["closes"].items():
                close = float(close)
                if closes.setdefault(str(symbol), close) != close:
                    raise ValueError(
                        f"saved closes of {symbol!r} differ between groups; "
                        "the groups did not run on the same intervals"
                    )
        for symbol, close in closes.items():
            at = table.positions[symbol]
            table.last_close[at] = close
            table.has_close[at] = True
        held = ~np.isnan(table.base)
        relatives = np.where(held, table.last_close[table.flat] / table.base, 0.0)
        table.value = np.add.reduceat(table.units * relatives, table.offsets, axis=1)
        table.value[np.isnan(table.level)] = np.nan
        return table


def _index_state(
    members: Sequence[str], base: Floats, units: Floats, level: Floats
) -> dict[str, Any]:
    """A group's chained indices as plain data: the members in them with the close
    they joined at and their units, and the levels (equal, cap weight)."""
    held = np.flatnonzero(~np.isnan(base)).tolist()
    if not held:
        return {"base": None, "units": None, "level": None}
    return {
        "base": {members[i]: float(base[i]) for i in held},
        "units": {members[i]: [float(units[0, i]), float(units[1, i])] for i in held},
        "level": [float(level[0]), float(level[1])],
    }


def _restore_index(
    name: str, members: Sequence[str], group: Mapping[str, Any], weights: Floats | None
) -> tuple[Floats, Floats, Floats]:
    """(base, units, level) of a group from :func:`_index_state`'s data.

    A state without ``units`` (written before the indices were chained) holds every
    member from its base: 1 unit each and the cap weights, at the level the closes
    give, as it then meant.
    """
    n = len(members)
    base, units, level = np.full(n, np.nan), np.zeros((2, n)), np.full(2, np.nan)
    saved = group.get("base")
    if not saved:
        return base, units, level
    outside = set(saved) - set(members)
    if outside:
        raise ValueError(
            f"saved index of {name!r} holds non-members {sorted(outside)}; "
            "a group whose members changed must start afresh"
        )
    position = {m: i for i, m in enumerate(members)}
    saved_units = group.get("units")
    if saved_units is None:
        if set(saved) != set(members):
            raise ValueError(
                f"saved index base of {name!r} covers {sorted(saved)}, not the members "
                f"{sorted(members)}; a group whose members changed must start afresh"
            )
        cap = np.ones(n) if weights is None else weights
        saved_units = {m: [1.0, float(cap[position[m]])] for m in members}
        closes = group["closes"]
        relatives = [float(closes[m]) / float(saved[m]) for m in members]
        equal = math.fsum(relatives) / n
        cap_level = math.fsum(float(c) * r for c, r in zip(cap, relatives, strict=True))
        saved_level = [equal, cap_level if weights is not None else equal]
    else:
        saved_level = [float(x) for x in group["level"]]
    for member, close in saved.items():
        i = position[member]
        base[i] = float(close)
        units[:, i] = [float(u) for u in saved_units[member]]
    level[:] = saved_level
    return base, units, level
