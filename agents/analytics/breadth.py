"""Breadth of a group of symbols, one complete interval at a time.

Every figure comes from the members' :class:`~agents.analytics.symbols.SymbolStats`
at that interval (docs/analytics.md, "Breadth"). Per interval t, over the members that
have a bar in it (A, D, Un: advancers, decliners, unchanged; UV, DV: their volumes):

    net_advances   NA = A - D
    ad_line        ADL_t = ADL_{t-1} + NA_t, ADL = 0 before the first interval
    ad_ratio       A / D                                   None when D = 0
    ad_percent     RANA = (A - D) / (A + D)                None when A + D = 0
    pct_above_sma  100 * #{C > SMA} / #{members with an SMA}
    nh_nl          NH - NL
    up_volume_pct  UV / (UV + DV), a fraction (a 90% day is 0.90; Desmond, Lowry Research)
    trin           (A / D) / (UV / DV)                     Arms index (Richard Arms)

McClellan (mcoscillator.com), with T10_0 = T5_0 = 0:

    T10_t = T10_{t-1} + 0.10 (NA_t - T10_{t-1})            EMA 19, alpha = 2 / 20
    T5_t  = T5_{t-1}  + 0.05 (NA_t - T5_{t-1})             EMA 39, alpha = 2 / 40
    mcclellan_oscillator      = T10 - T5
    mcclellan_ratio_adjusted  = the same two EMAs of RANA * 1000, differenced
    summation_index           SI_t = SI_{t-1} + Osc_t, SI_0 = 1000
                              = 1000 + 19 T5_t - 9 T10_t   (with this seeding; in
                              general SI_0 + (slow - 1)/2 T_slow - (fast - 1)/2 T_fast)

Zweig breadth thrust (Martin Zweig, "Winning on Wall Street"):

    zweig_ema    ZBT_t = EMA10(A / (A + D)), alpha = 2 / 11, seeded with the first value
    zweig_thrust ZBT_t > 0.615 and ZBT_s < 0.40 for some s in [t - 10, t - 1]

Conventions (each changes results, so each is stated):

- Members without a bar in an interval are not counted in A, D, Un, volumes, new
  highs/lows or % above SMA; for the indices their last close is carried forward.
  A member's first bar has no previous close: it counts in ``reporting`` but is
  neither advancing, declining nor unchanged.
- Metrics of symbols that are not members are ignored, so one dict of the whole
  universe can be passed to every group.
- Every call to :meth:`GroupBreadth.on_interval` is one interval for the EMAs and the
  Zweig window, even if no member reported (NA = 0 then).
- When A + D = 0, RANA has no value: the ratio-adjusted EMAs are fed 0 (no net
  breadth), and the Zweig EMA holds its value (the interval still counts in its
  window).
- The indices are 1.0 at the group's first interval in which a member has a close
  (None before) and are chained (:class:`GroupIndices`): a member joins at its first
  close without moving the level. With every member in from the start,
  ``equal_weight_index`` = mean_i(C_i / B_i) and ``cap_weight_index`` =
  sum_i w_i C_i / B_i with w_i = cap_i / sum(cap), i.e. a portfolio bought at the base
  in cap proportions and held, so its weights drift with prices as cap weights do.
  Without caps it is the equal-weight index. ``index_members`` counts the members in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agents.analytics.indicators import Ema, RollingExtremes
from streams.records import GroupStats, SymbolStats


@dataclass(frozen=True)
class BreadthParams:
    """EMA lengths and Zweig thresholds; defaults are the published ones."""

    mcclellan_fast: int = 19
    mcclellan_slow: int = 39
    summation_start: float = 1000.0
    zweig_span: int = 10
    zweig_low: float = 0.40
    zweig_high: float = 0.615
    zweig_window: int = 10

    def __post_init__(self) -> None:
        if not 1 <= self.mcclellan_fast < self.mcclellan_slow:
            raise ValueError("need 1 <= mcclellan_fast < mcclellan_slow (published: 19, 39)")
        if self.zweig_span < 1 or self.zweig_window < 1:
            raise ValueError("zweig_span and zweig_window must be >= 1 (published: 10, 10)")
        if not 0 <= self.zweig_low < self.zweig_high <= 1:
            raise ValueError("need 0 <= zweig_low < zweig_high <= 1 (published: 0.40, 0.615)")


def arms_index(
    advancers: int, decliners: int, up_volume: float, down_volume: float
) -> float | None:
    """TRIN = (A / D) / (UV / DV) (Richard Arms); None when any of the four is 0."""
    if not (advancers and decliners and up_volume and down_volume):
        return None
    return (advancers / decliners) / (up_volume / down_volume)


class McClellanOscillator:
    """Osc = EMA_fast(x) - EMA_slow(x), both EMAs seeded at 0 (mcoscillator.com).

    With the published 19 and 39 (alphas 0.10 and 0.05) ``fast`` is the "10% trend"
    T10 and ``slow`` the "5% trend" T5.
    """

    def __init__(self, fast_bars: int = 19, slow_bars: int = 39) -> None:
        self.fast = Ema.span(fast_bars, seed=0.0)
        self.slow = Ema.span(slow_bars, seed=0.0)

    @property
    def value(self) -> float:
        return (self.fast.value or 0.0) - (self.slow.value or 0.0)

    def update(self, x: float) -> float:
        self.fast.update(x)
        self.slow.update(x)
        return self.value

    def to_state(self) -> list[float]:
        return [self.fast.value or 0.0, self.slow.value or 0.0]

    def restore(self, state: list[float]) -> McClellanOscillator:
        self.fast.restore(float(state[0]))
        self.slow.restore(float(state[1]))
        return self


class ZweigBreadthThrust:
    """ZBT = EMA_span(A / (A + D)) seeded with the first value; thrust from < low to > high.

    Source: Martin Zweig, "Winning on Wall Street" (10-day EMA, 0.40 and 0.615, within
    10 days). A thrust is flagged on every interval where ZBT > high and one of the
    ``window`` previous values was < low.
    """

    def __init__(self, span: int = 10, low: float = 0.40, high: float = 0.615, window: int = 10):
        self.ema = Ema.span(span)
        self.low = low
        self.high = high
        self.recent = RollingExtremes(window)

    def update(self, advancing_share: float | None) -> tuple[float | None, bool]:
        """Add one interval's A / (A + D) (None: no advancers or decliners, EMA holds)."""
        if advancing_share is not None:
            self.ema.update(advancing_share)
        value = self.ema.value
        if value is None:
            return None, False
        _, recent_low = self.recent.previous()
        thrust = value > self.high and recent_low is not None and recent_low < self.low
        # Only values from the first one on enter the window, so it always spans the
        # last ``window`` intervals that had a value, which are the last ``window``.
        self.recent.update(value)
        return value, thrust

    def to_state(self) -> dict[str, Any]:
        return {"ema": self.ema.to_state(), "recent": self.recent.to_state()}

    def restore(self, state: dict[str, Any]) -> ZweigBreadthThrust:
        self.ema.restore(None if state["ema"] is None else float(state["ema"]))
        self.recent.restore([float(x) for x in state["recent"]])
        return self


def cap_weights(members: tuple[str, ...], caps: Mapping[str, float]) -> dict[str, float]:
    """Each member's share of the group's total cap; every member needs a cap > 0."""
    missing = [m for m in members if m not in caps]
    if missing:
        raise ValueError(f"caps missing for members {missing}; give every member a cap")
    if any(not caps[m] > 0 for m in members):
        raise ValueError("every member's cap must be > 0")
    total = math.fsum(caps[m] for m in members)
    return {m: caps[m] / total for m in members}


class GroupIndices:
    """Equal- and cap-weight indices of a group, chained as an index provider's are.

    Each interval the index moves by the growth of the value of the units it holds:
    I_t = I_{t-1} * sum_i u_i C_i,t / B_i / sum_i u_i C_i,t-1 / B_i over the members
    in it at t-1 (B_i: the close member i joined at). A member joins at its first
    close with the value an index provider gives a newcomer: the average member's
    value (equal weight) or its cap times the value per unit of cap of those in (cap
    weight), so the level does not jump (S&P Dow Jones Indices, "Index Mathematics
    Methodology": the divisor adjustment). The first members start the index at 1.0
    with 1 unit each (equal weight) or their cap shares (cap weight). With every
    member in from the start this is mean_i(C_i / B_i) and sum_i w_i C_i / B_i, a
    buy-and-hold from the base; a late-listed member no longer holds the index back.
    """

    def __init__(self, members: tuple[str, ...], caps: Mapping[str, float] | None = None):
        self.members = members
        self.weights: dict[str, float] | None = None
        self.caps: dict[str, float] | None = None
        if caps is not None:
            self.weights = cap_weights(members, caps)
            self.caps = {m: float(caps[m]) for m in members}
        self.base: dict[str, float] = {}
        """Members in the indices: the close each joined at."""
        self.units: dict[str, tuple[float, float]] = {}
        """Each member's units in the (equal, cap weight) index."""
        self.level: tuple[float, float] | None = None
        self.value: tuple[float, float] = (0.0, 0.0)
        """The value of the units at the last interval."""

    def _values(self, closes: Mapping[str, float]) -> tuple[float, float]:
        relatives = [(m, closes[m] / self.base[m]) for m in self.members if m in self.base]
        return (
            math.fsum(self.units[m][0] * r for m, r in relatives),
            math.fsum(self.units[m][1] * r for m, r in relatives),
        )

    def update(self, closes: Mapping[str, float]) -> tuple[float | None, float | None]:
        """(equal weight, cap weight) from the members' latest closes (None before any)."""
        now = self._values(closes)
        if self.level is not None:
            self.level = (
                self.level[0] * now[0] / self.value[0],
                self.level[1] * now[1] / self.value[1],
            )
        joining = [m for m in self.members if m not in self.base and m in closes]
        if joining:
            self._join(joining, now, closes)
            now = self._values(closes)
        self.value = now
        if self.level is None:
            return None, None
        return self.level[0], (self.level[1] if self.caps is not None else self.level[0])

    def _join(
        self, joining: list[str], values: tuple[float, float], closes: Mapping[str, float]
    ) -> None:
        if self.level is None:
            shares = None if self.caps is None else cap_weights(tuple(joining), self.caps)
            for m in joining:
                self.units[m] = (1.0, 1.0 if shares is None else shares[m])
            self.level = (1.0, 1.0)
        else:
            average = values[0] / len(self.base)
            per_cap = (
                values[1] / math.fsum(self.caps[m] for m in self.base)
                if self.caps is not None
                else 0.0
            )
            for m in joining:
                self.units[m] = (
                    average,
                    average if self.caps is None else self.caps[m] * per_cap,
                )
        self.base.update((m, closes[m]) for m in joining)


class GroupBreadth:
    """Running breadth of one group; feed it every complete interval in order."""

    def __init__(
        self,
        members: tuple[str, ...],
        params: BreadthParams | None = None,
        caps: Mapping[str, float] | None = None,
    ) -> None:
        if not members or len(set(members)) != len(members):
            raise ValueError(f"a group needs distinct members, got {members!r}")
        self.members = tuple(members)
        self.params = params = params or BreadthParams()
        self.mcclellan = McClellanOscillator(params.mcclellan_fast, params.mcclellan_slow)
        self.ratio_adjusted = McClellanOscillator(params.mcclellan_fast, params.mcclellan_slow)
        self.zweig = ZweigBreadthThrust(
            params.zweig_span, params.zweig_low, params.zweig_high, params.zweig_window
        )
        self.indices = GroupIndices(self.members, caps)
        self.ad_line = 0
        self.summation_index = params.summation_start
        self.closes: dict[str, float] = {}

    def on_interval(self, metrics: Mapping[str, SymbolStats]) -> GroupStats:
        """Add one complete interval: ``metrics`` of the symbols that have a bar in it."""
        reporting = [metrics[m] for m in self.members if m in metrics]
        advancers = sum(1 for s in reporting if s.direction == 1)
        decliners = sum(1 for s in reporting if s.direction == -1)
        unchanged = sum(1 for s in reporting if s.direction == 0)
        net_advances = advancers - decliners
        decided = advancers + decliners
        up_volume = math.fsum(s.up_volume for s in reporting)
        down_volume = math.fsum(s.down_volume for s in reporting)
        with_sma = [s.above_sma for s in reporting if s.above_sma is not None]
        new_highs = sum(1 for s in reporting if s.new_high)
        new_lows = sum(1 for s in reporting if s.new_low)
        ad_percent = net_advances / decided if decided else None

        self.ad_line += net_advances
        oscillator = self.mcclellan.update(net_advances)
        self.summation_index += oscillator
        ratio_adjusted = self.ratio_adjusted.update(
            0.0 if ad_percent is None else ad_percent * 1000.0
        )
        zweig_ema, zweig_thrust = self.zweig.update(advancers / decided if decided else None)
        self.closes.update((m, metrics[m].close) for m in self.members if m in metrics)
        equal_weight, cap_weight = self.indices.update(self.closes)

        return GroupStats(
            members=len(self.members),
            reporting=len(reporting),
            advancers=advancers,
            decliners=decliners,
            unchanged=unchanged,
            net_advances=net_advances,
            ad_line=self.ad_line,
            ad_ratio=advancers / decliners if decliners else None,
            ad_percent=ad_percent,
            pct_above_sma=100.0 * sum(with_sma) / len(with_sma) if with_sma else None,
            new_highs=new_highs,
            new_lows=new_lows,
            nh_nl=new_highs - new_lows,
            up_volume=up_volume,
            down_volume=down_volume,
            up_volume_pct=(
                up_volume / (up_volume + down_volume) if up_volume + down_volume else None
            ),
            trin=arms_index(advancers, decliners, up_volume, down_volume),
            mcclellan_oscillator=oscillator,
            mcclellan_ratio_adjusted=ratio_adjusted,
            summation_index=self.summation_index,
            zweig_ema=zweig_ema,
            zweig_thrust=zweig_thrust,
            equal_weight_index=equal_weight,
            cap_weight_index=cap_weight,
            index_members=len(self.indices.base),
        )

    def to_state(self) -> dict[str, Any]:
        """Plain JSON-able data from which :meth:`from_state` continues identically."""
        return {
            "ad_line": self.ad_line,
            "summation_index": self.summation_index,
            "mcclellan": self.mcclellan.to_state(),
            "ratio_adjusted": self.ratio_adjusted.to_state(),
            "zweig": self.zweig.to_state(),
            "closes": dict(self.closes),
            "base": dict(self.indices.base) or None,
            "units": {m: list(u) for m, u in self.indices.units.items()} or None,
            "level": None if self.indices.level is None else list(self.indices.level),
        }

    @classmethod
    def from_state(
        cls,
        members: tuple[str, ...],
        params: BreadthParams | None,
        state: dict[str, Any],
        caps: Mapping[str, float] | None = None,
    ) -> GroupBreadth:
        """A group restored from :meth:`to_state`; pass the members, params and caps it ran with."""
        group = cls(members, params, caps)
        group.ad_line = int(state["ad_line"])
        group.summation_index = float(state["summation_index"])
        group.mcclellan.restore(state["mcclellan"])
        group.ratio_adjusted.restore(state["ratio_adjusted"])
        group.zweig.restore(state["zweig"])
        group.closes = {str(k): float(v) for k, v in state["closes"].items()}
        _restore_indices(group.indices, state)
        return group


def _restore_indices(indices: GroupIndices, state: Mapping[str, Any]) -> None:
    """Members, units and levels of :class:`GroupIndices` from ``GroupBreadth.to_state``.

    A state without ``units`` (written before the indices were chained) holds every
    member from its base: 1 unit each and the cap weights, at the level the closes
    give, as it then meant.
    """
    base = state.get("base")
    if not base:
        return
    outside = set(base) - set(indices.members)
    if outside:
        raise ValueError(
            f"saved index holds non-members {sorted(outside)}; "
            "a group whose members changed must start from a fresh GroupBreadth"
        )
    closes = {str(m): float(c) for m, c in state["closes"].items()}
    indices.base = {str(m): float(c) for m, c in base.items()}
    units = state.get("units")
    if units is None:
        if set(base) != set(indices.members):
            raise ValueError(
                f"saved index base covers {sorted(base)}, not the members "
                f"{sorted(indices.members)}; a group whose members changed must start "
                "from a fresh GroupBreadth"
            )
        weights = indices.weights
        indices.units = {m: (1.0, 1.0 if weights is None else weights[m]) for m in indices.members}
        value = indices._values(closes)
        count = len(indices.members)
        indices.level = (value[0] / count, value[1] if weights is not None else value[0] / count)
    else:
        indices.units = {str(m): (float(u[0]), float(u[1])) for m, u in units.items()}
        level = state["level"]
        indices.level = (float(level[0]), float(level[1]))
    indices.value = indices._values(closes)
