"""Per-symbol indicators: hand-worked bars, pandas on random series, state round trip."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import fields

from agents.analytics.symbols import SymbolParams, SymbolState
from streams.records import SymbolStats

# Few distinct prices so that equal closes (unchanged) and equal highs (no new high) occur.
closes = st.one_of(
    st.sampled_from([1.0, 1.5, 2.0, 2.5, 3.0]),
    st.floats(min_value=0.5, max_value=200.0, allow_nan=False, allow_infinity=False),
)
bars = st.tuples(
    closes,
    st.sampled_from([0.0, 0.01, 0.1]),  # high above close, as a fraction of close
    st.sampled_from([0.0, 0.01, 0.1]),  # low below close
    st.sampled_from([0.0, 100.0, 2500.0, 1e6]),
)
symbol_params = st.builds(
    SymbolParams,
    sma_bars=st.integers(1, 6),
    ema_bars=st.integers(1, 6),
    return_bars=st.integers(1, 5),
    high_low_bars=st.integers(1, 6),
)


def ohlcv(close: float, up: float, down: float, volume: float) -> tuple[float, ...]:
    """(open, high, low, close, volume) of a bar that opens at its close."""
    return close, close * (1 + up), close * (1 - down), close, volume


def same(actual: object, expected: object) -> bool:
    """Equal, with None for pandas' NaN and a 1e-9 tolerance on floats."""
    if isinstance(expected, float) and math.isnan(expected):
        return actual is None
    if isinstance(actual, bool) or isinstance(expected, (bool, np.bool_)):
        return actual == bool(expected)
    if actual is None:
        return False
    return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9)


def pandas_symbol_metrics(frame: pd.DataFrame, params: SymbolParams) -> pd.DataFrame:
    """Every SymbolStats field from one symbol's own bars (columns high, low, close, volume).

    Written with pandas alone, as the batch reference for the streaming classes.
    """
    c, h, lo, v = frame["close"], frame["high"], frame["low"], frame["volume"]
    n = params.high_low_bars
    sma = c.rolling(params.sma_bars).mean()
    # Above the SMA decided in exact rational arithmetic, so ties (a flat price) are ties.
    above = c.rolling(params.sma_bars).apply(
        lambda w: float(Fraction(w[-1]) * len(w) > sum(map(Fraction, w))), raw=True
    )
    direction = np.sign(c.diff())
    return pd.DataFrame(
        {
            "close": c,
            "prev_close": c.shift(1),
            "change_pct": (c / c.shift(1) - 1) * 100,
            "return_pct": (c / c.shift(params.return_bars) - 1) * 100,
            "sma": sma,
            "ema": c.ewm(span=params.ema_bars, adjust=False).mean(),
            "above_sma": above,
            "high_n": h.rolling(n, min_periods=1).max(),
            "low_n": lo.rolling(n, min_periods=1).min(),
            "new_high": h > h.shift(1).rolling(n).max(),
            "new_low": lo < lo.shift(1).rolling(n).min(),
            "direction": direction,
            "up_volume": v.where(direction == 1, 0.0),
            "down_volume": v.where(direction == -1, 0.0),
            "bars": np.arange(1, len(c) + 1, dtype=float),
        },
        index=frame.index,
    )


def assert_metrics_equal(actual: SymbolStats, expected: pd.Series, where: str) -> None:
    for f in fields(SymbolStats):
        got, want = getattr(actual, f.name), expected[f.name]
        if f.name == "above_sma" and not (isinstance(want, float) and math.isnan(want)):
            want = bool(want)
        assert same(got, want), f"{where} {f.name}: streaming {got!r}, pandas {want!r}"


def test_first_bar_has_no_previous_close_direction_or_return():
    first = SymbolState(SymbolParams(sma_bars=2, return_bars=1)).on_bar(10, 11, 9, 10.5, 500)
    assert first.prev_close is None and first.change_pct is None and first.direction is None
    assert first.return_pct is None and first.sma is None and first.above_sma is None
    assert first.ema == 10.5 and first.high_n == 11 and first.low_n == 9
    assert (first.up_volume, first.down_volume, first.bars) == (0.0, 0.0, 1)
    assert not first.new_high and not first.new_low


def test_advancing_declining_and_unchanged_bars_split_their_volume():
    symbol = SymbolState(SymbolParams(sma_bars=2, ema_bars=3, return_bars=2, high_low_bars=2))
    symbol.on_bar(10, 10, 10, 10, 100)
    up = symbol.on_bar(10, 12, 10, 12, 300)
    flat = symbol.on_bar(12, 12, 11, 12, 50)
    down = symbol.on_bar(12, 12, 8, 9, 700)
    assert (up.direction, up.up_volume, up.down_volume) == (1, 300, 0)
    assert (flat.direction, flat.up_volume, flat.down_volume) == (0, 0, 0)
    assert (down.direction, down.up_volume, down.down_volume) == (-1, 0, 700)
    assert up.change_pct == pytest.approx(20.0)  # 12 / 10 - 1
    assert down.change_pct == pytest.approx(-25.0)  # 9 / 12 - 1
    assert flat.return_pct == pytest.approx(20.0)  # 2 bars back: 12 / 10
    assert down.return_pct == pytest.approx(-25.0)  # 2 bars back: 9 / 12
    assert down.sma == pytest.approx(10.5) and down.above_sma is False  # (12 + 9) / 2
    assert up.above_sma is True  # 12 > (10 + 12) / 2
    # EMA span 3 (alpha 0.5) seeded with 10: 11, 11.5, 10.25.
    assert down.ema == pytest.approx(10.25)


def test_new_high_needs_a_full_window_and_a_strictly_higher_high():
    symbol = SymbolState(SymbolParams(high_low_bars=2))
    first, second = symbol.on_bar(5, 6, 4, 5, 1), symbol.on_bar(5, 7, 3, 5, 1)
    assert not second.new_high and not second.new_low  # only one previous bar
    assert (second.high_n, second.low_n) == (7, 3)
    tie = symbol.on_bar(5, 7, 3, 5, 1)
    assert not tie.new_high and not tie.new_low  # equal to the 2-bar high/low is not new
    higher = symbol.on_bar(5, 7.5, 3.5, 5, 1)
    assert higher.new_high and not higher.new_low
    # The window moved on: the previous two lows are 3 and 3.5, so 3.2 is no new low...
    assert not symbol.on_bar(5, 5, 3.2, 5, 1).new_low
    # ...but once 3 has left the window, 3.1 under min(3.5, 3.2) is.
    assert symbol.on_bar(5, 5, 3.1, 5, 1).new_low
    assert first.high_n == 6


@pytest.mark.parametrize(
    "bar",
    [(10, 9, 8, 10, 1), (10, 11, 0, 10, 1), (10, 11, 9, 10, -1), (10, 11, 9, math.nan, 1)],
)
def test_impossible_bar_is_rejected(bar):
    with pytest.raises(ValueError):
        SymbolState().on_bar(*bar)


@settings(max_examples=150, deadline=None)
@given(st.lists(bars, min_size=1, max_size=80), symbol_params)
def test_streaming_equals_pandas_for_every_field(series, params):
    frame = pd.DataFrame(
        [ohlcv(*bar) for bar in series], columns=["open", "high", "low", "close", "volume"]
    )
    expected = pandas_symbol_metrics(frame, params)
    symbol = SymbolState(params)
    for i, row in enumerate(frame.itertuples(index=False)):
        got = symbol.on_bar(row.open, row.high, row.low, row.close, row.volume)
        assert_metrics_equal(got, expected.iloc[i], f"bar {i}")


@settings(max_examples=100, deadline=None)
@given(st.lists(bars, min_size=2, max_size=60), symbol_params, st.data())
def test_state_round_trip_through_json_continues_identically(series, params, data):
    split = data.draw(st.integers(0, len(series)), label="split")
    running = SymbolState(params)
    for bar in series[:split]:
        running.on_bar(*ohlcv(*bar))
    restored = SymbolState.from_state(params, json.loads(json.dumps(running.to_state())))
    for bar in series[split:]:
        assert restored.on_bar(*ohlcv(*bar)) == running.on_bar(*ohlcv(*bar))
