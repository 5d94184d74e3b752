"""Group breadth: published numbers, identities, pandas on random markets, state round trip."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import fields

from agents.analytics.breadth import (
    BreadthParams,
    GroupBreadth,
    McClellanOscillator,
    arms_index,
)
from agents.analytics.symbols import SymbolParams, SymbolState
from streams.records import GroupStats, SymbolStats
from tests.test_symbols import bars, ohlcv, pandas_symbol_metrics, same, symbol_params


def names(n: int) -> tuple[str, ...]:
    return tuple(f"M{i:04d}" for i in range(n))


def member(
    direction: int | None,
    volume: float = 0.0,
    close: float = 100.0,
    above_sma: bool | None = None,
    new_high: bool = False,
    new_low: bool = False,
) -> SymbolStats:
    """A member's figures with the given direction (the fields breadth reads)."""
    prev_close = None if direction is None else close - direction
    return SymbolStats(
        close=close,
        prev_close=prev_close,
        change_pct=None if prev_close is None else (close / prev_close - 1) * 100,
        return_pct=None,
        sma=None,
        ema=close,
        above_sma=above_sma,
        high_n=close,
        low_n=close,
        new_high=new_high,
        new_low=new_low,
        direction=direction,
        up_volume=volume if direction == 1 else 0.0,
        down_volume=volume if direction == -1 else 0.0,
        bars=1 if direction is None else 2,
    )


def interval(
    advancers: int,
    decliners: int,
    unchanged: int = 0,
    up_volume: float = 0.0,
    down_volume: float = 0.0,
) -> dict[str, SymbolStats]:
    """Members M0000... advancing, then declining, then unchanged; volumes split evenly."""
    directions = [1] * advancers + [-1] * decliners + [0] * unchanged
    volume = {1: up_volume / max(advancers, 1), -1: down_volume / max(decliners, 1), 0: 1.0}
    return {
        name: member(d, volume[d])
        for name, d in zip(names(len(directions)), directions, strict=True)
    }


def zweig_interval(advancing_share: float) -> dict[str, SymbolStats]:
    advancers = round(100 * advancing_share)
    return interval(advancers, 100 - advancers)


# --- Published references -------------------------------------------------------------


def test_mcclellan_matches_published_example():
    """mcoscillator.com, "how the oscillator moves up on a down day" (docs/analytics.md):
    previous Osc = -245.7, "oscillator unchanged" value U = -810.461308, A - D = -534.
    Then T10 = U - Osc, T5 = T10 - Osc, and one step gives Osc = -231.877 (+-0.001),
    which is the rule of thumb Osc + (NA - U) / 20."""
    previous, unchanged_value = -245.7, -810.461308
    ten_percent_trend = unchanged_value - previous
    five_percent_trend = ten_percent_trend - previous
    assert ten_percent_trend == pytest.approx(-564.761308, abs=1e-9)
    assert five_percent_trend == pytest.approx(-319.061308, abs=1e-9)

    members = names(1000)
    state = GroupBreadth(members).to_state()
    state["mcclellan"] = [ten_percent_trend, five_percent_trend]
    group = GroupBreadth.from_state(members, BreadthParams(), state)
    assert group.mcclellan.value == pytest.approx(previous, abs=1e-9)

    down_day = group.on_interval(interval(233, 767))
    assert down_day.net_advances == -534
    assert down_day.mcclellan_oscillator == pytest.approx(-231.877, abs=1e-3)
    rule_of_thumb = previous + (-534 - unchanged_value) / 20
    assert down_day.mcclellan_oscillator == pytest.approx(rule_of_thumb, abs=1e-9)
    # It rose on a down day because NA was above the "unchanged" value.
    assert down_day.mcclellan_oscillator > previous


net_advance_series = st.lists(
    st.floats(min_value=-3000, max_value=3000, allow_nan=False), min_size=1, max_size=100
)


@settings(max_examples=150, deadline=None)
@given(net_advance_series, st.floats(min_value=-3000, max_value=3000, allow_nan=False))
def test_mcclellan_identities_hold_for_any_series(series, next_net_advances):
    """docs/analytics.md, checkable identities (tolerance 1e-9), with T10_0 = T5_0 = 0:
    NA = T10 + Osc leaves Osc unchanged; NA = 19 T5 - 18 T10 takes Osc to 0;
    Osc_{t+1} - Osc_t = 0.05 (NA_{t+1} - (T10_t + Osc_t))."""
    oscillator = McClellanOscillator()
    for net_advances in series:
        oscillator.update(net_advances)
    t10, t5, osc = oscillator.fast.value, oscillator.slow.value, oscillator.value

    def step(net_advances: float) -> float:
        return McClellanOscillator().restore(oscillator.to_state()).update(net_advances)

    assert step(t10 + osc) == pytest.approx(osc, abs=1e-9)
    assert step(19 * t5 - 18 * t10) == pytest.approx(0.0, abs=1e-9)
    move = step(next_net_advances) - osc
    assert move == pytest.approx(0.05 * (next_net_advances - (t10 + osc)), abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=1, max_size=80))
def test_summation_index_is_1000_plus_19_t5_minus_9_t10(advancers_decliners):
    """McClellan Summation Index SI_t = SI_{t-1} + Osc_t, SI_0 = 1000; with T10_0 = T5_0 = 0
    it equals 1000 + 19 T5 - 9 T10 (docs/analytics.md: the web's "1000 + (T10 - T5) -
    [(10 T10) + (20 T5)]" is wrong)."""
    group = GroupBreadth(names(40))
    for advancers, decliners in advancers_decliners:
        out = group.on_interval(interval(advancers, decliners))
        t10, t5 = group.mcclellan.fast.value, group.mcclellan.slow.value
        assert out.summation_index == pytest.approx(1000 + 19 * t5 - 9 * t10, abs=1e-9)
        assert out.mcclellan_oscillator == pytest.approx(t10 - t5, abs=1e-12)


def test_zweig_thrust_matches_published_synthetic():
    """Zweig breadth thrust, docs/analytics.md synthetic: A/(A+D) = 0.50 for 30 bars, 0.25 for
    10, 0.85 for 12; EMA10 seeded with the first value has its minimum 0.2836 at index 39,
    its last value under 0.40 at index 40 (0.3866), and the first thrust at index 44
    (0.6423). Here each bar is a group of 100 members."""
    group = GroupBreadth(names(100))
    shares = [0.50] * 30 + [0.25] * 10 + [0.85] * 12
    out = [group.on_interval(zweig_interval(share)) for share in shares]
    ema = [o.zweig_ema for o in out]

    lowest = min(range(len(ema)), key=ema.__getitem__)
    assert (lowest, round(ema[lowest], 4)) == (39, 0.2836)
    last_under = max(i for i, value in enumerate(ema) if value < 0.40)
    assert (last_under, round(ema[last_under], 4)) == (40, 0.3866)
    first_thrust = next(i for i, o in enumerate(out) if o.zweig_thrust)
    assert (first_thrust, round(ema[first_thrust], 4)) == (44, 0.6423)


def test_zweig_thrust_needs_the_low_within_the_window():
    """The same rise fails when the dip under 0.40 is more than 10 bars before the cross."""
    group = GroupBreadth(names(100), BreadthParams(zweig_window=3))
    shares = [0.50] * 30 + [0.25] * 10 + [0.85] * 12
    assert not any(group.on_interval(zweig_interval(s)).zweig_thrust for s in shares)


@pytest.mark.parametrize(("dip", "thrust"), [(0.40, False), (0.39, True)])
def test_zweig_thrust_needs_a_value_strictly_under_the_low(dip, thrust):
    """With span 1 the EMA is A/(A+D) itself: a dip to exactly 0.40 is not "under 0.40"."""
    group = GroupBreadth(names(100), BreadthParams(zweig_span=1, zweig_window=1))
    group.on_interval(zweig_interval(dip))
    assert group.on_interval(zweig_interval(0.85)).zweig_thrust is thrust


def test_trin_matches_published_example():
    """Arms index (Richard Arms), docs/analytics.md: A = 2000, D = 1000, UV = 3e9, DV = 1e9
    gives 0.6667; D = 0 or UV = 0 gives no value."""
    assert arms_index(2000, 1000, 3e9, 1e9) == pytest.approx(0.6667, abs=1e-4)
    group = GroupBreadth(names(3000))
    published = group.on_interval(interval(2000, 1000, up_volume=3e9, down_volume=1e9))
    assert published.trin == pytest.approx(2 / 3, rel=1e-12)
    assert round(published.trin, 4) == 0.6667
    assert (published.up_volume, published.down_volume) == pytest.approx((3e9, 1e9))
    assert published.up_volume_pct == pytest.approx(0.75)
    assert group.on_interval(interval(3000, 0, up_volume=3e9)).trin is None  # D = 0
    assert group.on_interval(interval(2000, 1000, down_volume=1e9)).trin is None  # UV = 0


# --- Hand-worked conventions ----------------------------------------------------------


def test_counts_ratios_and_ad_line_over_reporting_members():
    group = GroupBreadth(("A", "B", "C", "D", "E"))
    first = group.on_interval(
        {
            "A": member(1, 300, above_sma=True, new_high=True),
            "B": member(1, 100, above_sma=False),
            "C": member(-1, 200, new_low=True),
            "D": member(0, 999, above_sma=True),
            "SPY": member(-1, 1e9, new_low=True),  # not a member: ignored
        }
    )
    assert (first.members, first.reporting) == (5, 4)  # E has no bar
    assert (first.advancers, first.decliners, first.unchanged) == (2, 1, 1)
    assert (first.net_advances, first.ad_line) == (1, 1)
    assert first.ad_ratio == 2.0 and first.ad_percent == pytest.approx(1 / 3)
    assert first.pct_above_sma == pytest.approx(200 / 3)  # 2 of the 3 with an SMA
    assert (first.new_highs, first.new_lows, first.nh_nl) == (1, 1, 0)
    assert (first.up_volume, first.down_volume) == (400, 200)  # D's volume is unchanged
    assert first.up_volume_pct == pytest.approx(2 / 3)
    assert first.trin == pytest.approx((2 / 1) / (400 / 200))
    # T10 = 0.1, T5 = 0.05 after NA = 1 from 0.
    assert first.mcclellan_oscillator == pytest.approx(0.05)
    assert first.summation_index == pytest.approx(1000.05)
    assert first.zweig_ema == pytest.approx(2 / 3)

    second = group.on_interval({"C": member(-1, 50), "E": member(None, 70)})
    assert (second.reporting, second.advancers, second.decliners, second.unchanged) == (
        2,
        0,
        1,
        0,  # E's first bar has no previous close: it is none of the three
    )
    assert (second.net_advances, second.ad_line) == (-1, 0)
    assert second.ad_ratio == 0.0 and second.ad_percent == -1.0
    assert second.pct_above_sma is None and second.up_volume_pct == 0.0
    assert second.trin is None


def test_interval_without_decided_members_has_no_ratios_and_holds_zweig():
    group = GroupBreadth(("A", "B", "C"))
    before = group.on_interval({"A": member(1, 10), "B": member(1, 10), "C": member(-1, 10)})
    empty = group.on_interval({"A": member(0, 10)})
    assert empty.ad_ratio is None and empty.ad_percent is None and empty.up_volume_pct is None
    assert empty.zweig_ema == before.zweig_ema == pytest.approx(2 / 3)
    # RANA has no value, so the ratio-adjusted EMAs are fed 0 after RANA * 1000 = 1000 / 3:
    # T10 = 0.9 * 0.1 * 1000 / 3, T5 = 0.95 * 0.05 * 1000 / 3.
    assert empty.mcclellan_ratio_adjusted == pytest.approx((0.09 - 0.0475) * 1000 / 3)
    assert empty.net_advances == 0 and empty.ad_line == before.ad_line == 1


def test_indices_start_at_one_with_the_first_close_and_carry_closes_forward():
    group = GroupBreadth(("BIG", "SMALL"), caps={"BIG": 3.0, "SMALL": 1.0})
    first = group.on_interval({"BIG": member(None, close=10.0)})
    assert (first.equal_weight_index, first.cap_weight_index, first.index_members) == (1.0, 1.0, 1)
    base = group.on_interval({"SMALL": member(None, close=20.0)})  # BIG's 10 carried
    assert base.equal_weight_index == 1.0 and base.cap_weight_index == 1.0
    assert base.index_members == 2
    later = group.on_interval({"BIG": member(1, close=11.0), "SMALL": member(-1, close=18.0)})
    assert later.equal_weight_index == pytest.approx((1.1 + 0.9) / 2)
    assert later.cap_weight_index == pytest.approx(0.75 * 1.1 + 0.25 * 0.9)
    only_big = group.on_interval({"BIG": member(1, close=12.0)})  # SMALL's 18 carried
    assert only_big.cap_weight_index == pytest.approx(0.75 * 1.2 + 0.25 * 0.9)

    no_caps = GroupBreadth(("BIG", "SMALL"))
    no_caps.on_interval({"BIG": member(None, close=10.0), "SMALL": member(None, close=20.0)})
    out = no_caps.on_interval({"BIG": member(1, close=11.0), "SMALL": member(-1, close=18.0)})
    assert out.cap_weight_index == out.equal_weight_index


def test_a_late_member_joins_the_chained_index_without_moving_its_level():
    """The divisor method: a newcomer gets the average member's value (equal weight) or
    its cap's share (cap weight), and the index goes on from where it was."""
    group = GroupBreadth(("OLD", "LATE", "NEVER"), caps={"OLD": 3.0, "LATE": 1.0, "NEVER": 1.0})
    group.on_interval({"OLD": member(None, close=10.0)})
    up = group.on_interval({"OLD": member(1, close=12.0)})
    assert up.equal_weight_index == pytest.approx(1.2) and up.index_members == 1
    joined = group.on_interval({"LATE": member(None, close=20.0)})
    assert joined.equal_weight_index == pytest.approx(1.2)
    assert joined.cap_weight_index == pytest.approx(1.2)
    assert (joined.index_members, joined.members) == (2, 3)  # NEVER has not traded
    # Both +10%: the chained index +10%. Then only LATE moves, by its weight.
    both = group.on_interval({"OLD": member(1, close=13.2), "LATE": member(1, close=22.0)})
    assert both.equal_weight_index == pytest.approx(1.32)
    assert both.cap_weight_index == pytest.approx(1.32)
    late = group.on_interval({"LATE": member(1, close=24.2)})
    assert late.equal_weight_index == pytest.approx(1.32 * (0.5 + 0.5 * 1.1))
    # Cap weight: LATE entered with a quarter of the value (cap 1 of 3 + 1).
    assert late.cap_weight_index == pytest.approx(1.32 * (0.75 + 0.25 * 1.1))


def test_bad_group_definitions_are_rejected():
    with pytest.raises(ValueError, match="distinct"):
        GroupBreadth(("A", "A"))
    with pytest.raises(ValueError, match="caps missing"):
        GroupBreadth(("A", "B"), caps={"A": 1.0})
    with pytest.raises(ValueError, match="mcclellan_fast"):
        BreadthParams(mcclellan_fast=39, mcclellan_slow=19)


# --- Streaming equals batch -----------------------------------------------------------


@st.composite
def markets(draw):
    """Bars per symbol and interval: late starts, early ends, gaps, a never-trading member."""
    intervals = draw(st.integers(1, 40), label="intervals")
    symbols = [f"S{k}" for k in range(draw(st.integers(1, 4), label="symbols"))]
    series = {}
    for symbol in symbols:
        first = draw(st.integers(0, intervals - 1))
        last = draw(st.integers(first, intervals - 1))
        trades = draw(
            st.lists(
                st.sampled_from([True, True, True, False]), min_size=intervals, max_size=intervals
            )
        )
        series[symbol] = {t: draw(bars) for t in range(first, last + 1) if trades[t]}
    members = draw(st.lists(st.sampled_from(symbols), min_size=1, unique=True), label="members")
    if draw(st.integers(0, 5)) == 0:
        members.append("NEVER_TRADES")
    caps = draw(
        st.one_of(
            st.none(),
            st.fixed_dictionaries({m: st.floats(0.1, 1000.0) for m in members}),
        ),
        label="caps",
    )
    return intervals, series, tuple(members), caps


breadth_params = st.builds(
    lambda fast, extra, span, window, low, high: BreadthParams(
        mcclellan_fast=fast,
        mcclellan_slow=fast + extra,
        zweig_span=span,
        zweig_window=window,
        zweig_low=low,
        zweig_high=high,
    ),
    st.integers(1, 20),
    st.integers(1, 20),
    st.integers(1, 6),
    st.integers(1, 5),
    # No threshold equals a share of <= 5 members, so no comparison is a float tie.
    st.sampled_from([0.37, 0.41, 0.45]),
    st.sampled_from([0.61, 0.615, 0.7]),
)


def pandas_group_metrics(
    refs: dict[str, pd.DataFrame],
    members: tuple[str, ...],
    params: BreadthParams,
    caps: dict[str, float] | None,
    intervals: int,
) -> pd.DataFrame:
    """Every GroupStats field from the members' per-interval figures, with pandas alone.

    ``refs[m]`` holds member m's figures on every interval (NaN where it had no bar).
    """
    index = pd.RangeIndex(intervals)
    empty = pd.DataFrame(index=index, columns=["close"], dtype=float)

    def panel(column: str) -> pd.DataFrame:
        return pd.DataFrame(
            {m: refs.get(m, empty).reindex(columns=[column])[column] for m in members},
            index=index,
            dtype=float,
        )

    direction = panel("direction")
    advancers = (direction == 1).sum(axis=1).astype(float)
    decliners = (direction == -1).sum(axis=1).astype(float)
    decided = advancers + decliners
    net = advancers - decliners
    up_volume = panel("up_volume").sum(axis=1)
    down_volume = panel("down_volume").sum(axis=1)
    above = panel("above_sma")
    new_highs = (panel("new_high") == 1).sum(axis=1)
    new_lows = (panel("new_low") == 1).sum(axis=1)
    rana = (net / decided).where(decided > 0)

    def mcclellan(x: pd.Series) -> pd.Series:
        seeded = pd.concat([pd.Series([0.0]), x], ignore_index=True)
        fast = seeded.ewm(alpha=2 / (params.mcclellan_fast + 1), adjust=False).mean()
        slow = seeded.ewm(alpha=2 / (params.mcclellan_slow + 1), adjust=False).mean()
        return (fast - slow).iloc[1:].set_axis(x.index)

    oscillator = mcclellan(net)
    share = (advancers / decided).where(decided > 0)
    zweig = share.dropna().ewm(span=params.zweig_span, adjust=False).mean()
    zweig = zweig.reindex(index).ffill()
    recent_low = zweig.shift(1).rolling(params.zweig_window, min_periods=1).min()

    closes = panel("close").ffill()
    equal_weight = chained_index(closes, list(members), None)
    cap_weight = equal_weight if caps is None else chained_index(closes, list(members), caps)
    in_index = closes.notna().sum(axis=1)

    return pd.DataFrame(
        {
            "members": float(len(members)),
            "reporting": panel("close").notna().sum(axis=1),
            "advancers": advancers,
            "decliners": decliners,
            "unchanged": (direction == 0).sum(axis=1),
            "net_advances": net,
            "ad_line": net.cumsum(),
            "ad_ratio": (advancers / decliners).where(decliners > 0),
            "ad_percent": rana,
            "pct_above_sma": 100 * above.sum(axis=1) / above.notna().sum(axis=1),
            "new_highs": new_highs,
            "new_lows": new_lows,
            "nh_nl": new_highs - new_lows,
            "up_volume": up_volume,
            "down_volume": down_volume,
            "up_volume_pct": (up_volume / (up_volume + down_volume)).where(
                up_volume + down_volume > 0
            ),
            "trin": ((advancers / decliners) / (up_volume / down_volume)).where(
                (advancers > 0) & (decliners > 0) & (up_volume > 0) & (down_volume > 0)
            ),
            "mcclellan_oscillator": oscillator,
            "mcclellan_ratio_adjusted": mcclellan((rana * 1000).fillna(0.0)),
            "summation_index": params.summation_start + oscillator.cumsum(),
            "zweig_ema": zweig,
            "zweig_thrust": (zweig > params.zweig_high) & (recent_low < params.zweig_low),
            "equal_weight_index": equal_weight,
            "cap_weight_index": cap_weight,
            "index_members": in_index.astype(float),
        },
        index=index,
    )


def chained_index(
    closes: pd.DataFrame, members: list[str], caps: dict[str, float] | None
) -> pd.Series:
    """An index provider's chained index, written out interval by interval: the level
    moves by the growth of the value of the units held; a member joins at its first
    close with the average member's value (equal weight) or its cap times the value
    per unit of cap held (cap weight). Sums run in member order, as the table's do for
    small groups, so that a pair of a member and its one-member index ties exactly."""
    level = float("nan")
    base: dict[str, float] = {}
    units: dict[str, float] = {}
    value = float("nan")
    out = []

    def worth(row: pd.Series, add=sum) -> float:
        return add(units[m] * (row[m] / base[m]) for m in members if m in base)

    for _, row in closes[members].iterrows():
        now = worth(row)
        if base:
            level = level * (now / value)
        new = [m for m in members if m not in base and not math.isnan(row[m])]
        if new:
            if not base:
                level = 1.0
                total = math.fsum(caps[m] for m in new) if caps else 1.0
                units |= {m: (caps[m] / total if caps else 1.0) for m in new}
            elif caps:  # newcomers' units from exact sums, as GroupIndices has them
                per_cap = worth(row, math.fsum) / math.fsum(caps[m] for m in base)
                units |= {m: caps[m] * per_cap for m in new}
            else:
                units |= {m: worth(row, math.fsum) / len(base) for m in new}
            base |= {m: row[m] for m in new}
            now = worth(row)
        value = now
        out.append(level)
    return pd.Series(out, index=closes.index, dtype=float)


def json_round_trip(state: dict) -> dict:
    return json.loads(json.dumps(state))


@settings(max_examples=60, deadline=None)
@given(markets(), symbol_params, breadth_params, st.data())
def test_streaming_equals_pandas_for_every_symbol_and_group_field(market, sp, bp, data):
    """Every field of every interval, computed bar by bar (with a save and restore through
    JSON at a random interval) and in one batch with pandas, agrees to 1e-9."""
    intervals, series, members, caps = market
    split = data.draw(st.integers(0, intervals), label="restore at")

    symbols = {s: SymbolState(sp) for s in series}
    group = GroupBreadth(members, bp, caps)
    streamed_symbols: dict[str, dict[int, SymbolStats]] = {s: {} for s in series}
    streamed_group: list[GroupStats] = []
    for t in range(intervals):
        if t == split:
            symbols = {
                s: SymbolState.from_state(sp, json_round_trip(state.to_state()))
                for s, state in symbols.items()
            }
            group = GroupBreadth.from_state(members, bp, json_round_trip(group.to_state()), caps)
        metrics = {s: symbols[s].on_bar(*ohlcv(*series[s][t])) for s in series if t in series[s]}
        for s, m in metrics.items():
            streamed_symbols[s][t] = m
        streamed_group.append(group.on_interval(metrics))

    refs = {}
    for s, bars_of_s in series.items():
        frame = pd.DataFrame(
            [ohlcv(*bar) for bar in bars_of_s.values()],
            columns=["open", "high", "low", "close", "volume"],
            index=list(bars_of_s),
        )
        ref = pandas_symbol_metrics(frame, sp)
        refs[s] = ref.astype(float).reindex(pd.RangeIndex(intervals))
        for t, got in streamed_symbols[s].items():
            for f in fields(SymbolStats):
                want = ref.loc[t, f.name]
                if f.name == "above_sma" and not math.isnan(want):
                    want = bool(want)
                assert same(getattr(got, f.name), want), f"{s} interval {t} {f.name}"

    expected = pandas_group_metrics(refs, members, bp, caps, intervals)
    for t, got in enumerate(streamed_group):
        for f in fields(GroupStats):
            want = expected.loc[t, f.name]
            assert same(getattr(got, f.name), want), (
                f"interval {t} {f.name}: streaming {getattr(got, f.name)!r}, pandas {want!r}"
            )


@settings(max_examples=40, deadline=None)
@given(markets(), breadth_params, st.data())
def test_group_state_round_trip_through_json_continues_identically(market, bp, data):
    intervals, series, members, caps = market
    split = data.draw(st.integers(0, intervals), label="restore at")
    sp = SymbolParams(sma_bars=3, ema_bars=3, return_bars=2, high_low_bars=3)
    symbols = {s: SymbolState(sp) for s in series}
    frames = [
        {s: symbols[s].on_bar(*ohlcv(*series[s][t])) for s in series if t in series[s]}
        for t in range(intervals)
    ]
    running = GroupBreadth(members, bp, caps)
    for metrics in frames[:split]:
        running.on_interval(metrics)
    state = json.dumps(running.to_state())
    restored = GroupBreadth.from_state(members, bp, json.loads(state), caps)
    for metrics in frames[split:]:
        assert restored.on_interval(metrics) == running.on_interval(metrics)


def test_restoring_a_base_of_other_members_is_refused():
    group = GroupBreadth(("A", "B"))
    group.on_interval({"A": member(None), "B": member(None)})
    with pytest.raises(ValueError, match="fresh GroupBreadth"):
        GroupBreadth.from_state(("A", "C"), None, group.to_state())
