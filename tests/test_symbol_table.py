"""SymbolTable equals SymbolState, symbol by symbol and bar by bar.

A universe's bars go, interval by interval, through one :class:`SymbolTable` (one
``on_bars`` call per interval) and through one :class:`SymbolState` per symbol. Symbols
skip intervals and new ones appear; closes repeat and sit on small decimal values so
that the close often equals its moving average (the near ties ``above_sma`` must decide
exactly); the table is restored from its states mid-stream; bad bars are rejected with
nothing changed. Every record must agree: integers, booleans and None exactly, every
float bit for bit except the SMA (numpy's sum instead of ``math.fsum``: 1e-12 relative).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.analytics.symbol_table import RECORD_FIELDS, IndicatorColumns, SymbolTable
from agents.analytics.symbols import SymbolParams, SymbolState
from streams.records import SymbolStats

MARKETDATA = Path(__file__).resolve().parents[2] / "shared" / "marketdata"
ETF_DAILY = MARKETDATA / "etf_daily" / "kittycapital_etf-seasonality"

# Values whose sums and means round: n equal closes of 0.1 do not average to 0.1.
TIE_CLOSES = (0.1, 0.2, 0.3, 0.7, 1.1, 2.675, 1 / 3, 100.0)


def assert_same_record(got: SymbolStats, want: SymbolStats, where: str) -> None:
    for name in RECORD_FIELDS:
        g, w = getattr(got, name), getattr(want, name)
        assert type(g) is type(w), f"{where} {name}: type {type(g)} vs {type(w)} ({g!r}, {w!r})"
        if name == "sma" and w is not None:
            assert math.isclose(g, w, rel_tol=1e-12, abs_tol=0.0), f"{where} sma {g!r} vs {w!r}"
        else:
            assert g == w, f"{where} {name}: table {g!r}, SymbolState {w!r}"


# --- random universes ------------------------------------------------------------------


@dataclass
class Interval:
    """One interval: which symbols exist, which close a bar, and what happens after."""

    size: int  # symbols in the universe (grows)
    trading: list[int]  # symbols with a bar, in row order
    bad_row: int | None  # a row made invalid (the call must fail)
    bad_kind: int
    restore: bool  # rebuild the table from its states after this interval


@dataclass
class Story:
    params: SymbolParams
    seed: int
    intervals: list[Interval] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Story({self.params}, seed={self.seed}, {len(self.intervals)} intervals)"


params_strategy = st.builds(
    SymbolParams,
    sma_bars=st.integers(1, 8) | st.sampled_from([20, 50]),
    ema_bars=st.integers(1, 8),
    return_bars=st.integers(1, 6),
    high_low_bars=st.integers(1, 8) | st.just(52),
)


@st.composite
def stories(draw: st.DrawFn) -> Story:
    story = Story(draw(params_strategy), draw(st.integers(0, 2**32 - 1)))
    size = draw(st.integers(0, 4))
    for _ in range(draw(st.integers(1, 40))):
        size += draw(st.sampled_from((0, 0, 0, 1, 3)))
        trading = draw(st.lists(st.integers(0, max(size - 1, 0)), unique=True)) if size else []
        bad_row = None
        if trading and draw(st.integers(0, 9)) == 0:
            bad_row = draw(st.integers(0, len(trading) - 1))
        story.intervals.append(
            Interval(size, trading, bad_row, draw(st.integers(0, 7)), draw(st.integers(0, 7)) == 0)
        )
    return story


def make_bar(rng: np.random.Generator, last: float | None) -> tuple[float, ...]:
    """OHLCV: closes often repeat or sit on TIE_CLOSES; highs and lows on the body."""
    pick = rng.integers(0, 4)
    if last is not None and pick == 0:
        close = last
    elif pick == 1:
        close = float(rng.choice(TIE_CLOSES))
    else:
        close = float(np.round((last or 50.0) * math.exp(rng.normal(0, 0.03)), 2)) or 0.01
    open_ = close
    if rng.integers(0, 3):
        open_ = float(np.round(close * rng.uniform(0.97, 1.03), 4))
    body_high, body_low = max(open_, close), min(open_, close)
    high = body_high if rng.integers(0, 3) == 0 else body_high * rng.uniform(1.0, 1.02)
    low = body_low if rng.integers(0, 3) == 0 else body_low * rng.uniform(0.98, 1.0)
    volume = float(rng.choice([0.0, 100.0, float(rng.integers(1, 10**6)), rng.uniform(0, 1e4)]))
    return open_, float(high), float(low), close, volume


def spoil(bar: tuple[float, ...], kind: int) -> tuple[float, ...]:
    """A bar SymbolState rejects: ``kind`` chooses how."""
    o, h, lo, c, v = bar
    return [
        (o, h, h * 1.5, c, v),  # low above the body
        (o, lo * 0.5, lo, c, v),  # high below the body
        (o, h, 0.0, c, v),  # low not positive
        (o, h, lo, math.nan, v),
        (math.inf, h, lo, c, v),
        (o, h, lo, c, -1.0),
        (o, h, lo, c, math.nan),
        (o, h, lo, c, math.inf),
    ][kind]


def restored(table: SymbolTable, size: int) -> SymbolTable:
    """A new table continuing from ``table``'s states, as stored and read back as JSON."""
    states = [json.loads(json.dumps(table.to_state(i))) for i in range(table.size)]
    fresh = SymbolTable(table.params, size)
    for i, state in enumerate(states):
        fresh.from_state(i, state)
    return fresh


def table_states(table: SymbolTable) -> list[dict[str, Any]]:
    return [table.to_state(i) for i in range(table.size)]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(stories())
def test_table_equals_symbol_state_for_every_symbol_and_bar(story):
    rng = np.random.default_rng(story.seed)
    table = SymbolTable(story.params)
    states: list[SymbolState] = []
    last: dict[int, float] = {}
    checked_restore = False
    for t, interval in enumerate(story.intervals):
        table.grow(interval.size)
        states += [SymbolState(story.params) for _ in range(interval.size - len(states))]
        bars = [make_bar(rng, last.get(i)) for i in interval.trading]

        if interval.bad_row is not None:
            bad = list(bars)
            bad[interval.bad_row] = spoil(bars[interval.bad_row], interval.bad_kind)
            before = table_states(table)
            symbol = interval.trading[interval.bad_row]
            with pytest.raises(ValueError) as reference:
                states[symbol].on_bar(*bad[interval.bad_row])
            with pytest.raises(ValueError) as raised:
                table.on_bars(interval.trading, *zip(*bad, strict=True))
            assert str(raised.value) == (
                f"row {interval.bad_row} (symbol index {symbol}): {reference.value}"
            )
            assert table_states(table) == before  # nothing changed

        columns = table.on_bars(
            np.array(interval.trading, dtype=np.int64),
            *(np.array(col, dtype=np.float64) for col in zip(*bars, strict=True))
            if bars
            else [np.empty(0)] * 5,
        )
        records = table.records(columns)
        assert len(records) == len(columns) == len(interval.trading)
        for row, (symbol, bar) in enumerate(zip(interval.trading, bars, strict=True)):
            want = states[symbol].on_bar(*bar)
            where = f"interval {t} row {row} symbol {symbol}"
            assert_same_record(records[row], want, where)
            assert table.record(columns, row) == records[row]
            last[symbol] = bar[3]

        if interval.restore:
            table = restored(table, interval.size)
            checked_restore = True
    # The states are SymbolState's own, to the bit (SymbolState.from_state reads them).
    assert table_states(table) == [s.to_state() for s in states]
    if checked_restore:
        for i, state in enumerate(states):
            back = SymbolState.from_state(story.params, table.to_state(i))
            assert back.to_state() == state.to_state()


# --- specific cases ---------------------------------------------------------------------


def feed(table: SymbolTable, index: list[int], bars: list[tuple[float, ...]]) -> IndicatorColumns:
    return table.on_bars(index, *(list(col) for col in zip(*bars, strict=True)))


def test_columns_use_nan_and_masks_for_none_and_int8_directions():
    table = SymbolTable(SymbolParams(sma_bars=2, ema_bars=3, return_bars=1, high_low_bars=2), 3)
    first = feed(table, [2, 0], [(10, 11, 9, 10, 5), (20, 20, 20, 20, 0)])
    assert first.index.tolist() == [2, 0]
    assert not first.has_prev.any() and not first.has_return.any() and not first.has_sma.any()
    assert np.isnan(first.prev_close).all() and np.isnan(first.sma).all()
    assert first.direction.dtype == np.int8 and first.direction.tolist() == [0, 0]
    second = feed(table, [0, 2], [(20, 21, 19, 21, 7), (10, 10, 9, 9, 3)])
    assert second.direction.tolist() == [1, -1] and second.has_prev.all()
    assert second.up_volume.tolist() == [7.0, 0.0] and second.down_volume.tolist() == [0.0, 3.0]
    assert second.sma.tolist() == [20.5, 9.5] and second.above_sma.tolist() == [True, False]
    assert second.bars.tolist() == [2, 2]
    record = table.records(second)[1]
    assert record.direction == -1 and type(record.direction) is int
    assert table.records(first)[0].above_sma is None
    assert table.to_state(1) == SymbolState(table.params).to_state()  # no bars yet


def test_equal_closes_are_never_above_their_own_average():
    """Three closes of 0.1 sum to 0.30000000000000004: a rounded mean is not 0.1."""
    for n in (3, 7, 10, 50):
        params = SymbolParams(sma_bars=n)
        table, state = SymbolTable(params, 1), SymbolState(params)
        for _ in range(n + 2):
            got = table.records(feed(table, [0], [(0.1, 0.1, 0.1, 0.1, 1)]))[0]
            want = state.on_bar(0.1, 0.1, 0.1, 0.1, 1)
            assert_same_record(got, want, f"n={n}")
        assert got.above_sma is False


def test_the_same_window_gives_the_same_sma_bits_whatever_came_before():
    """The SMA depends on the window only: not on the symbol's history, its row in the
    call or the other symbols of the call."""
    params = SymbolParams(sma_bars=5, high_low_bars=3)
    rng = np.random.default_rng(3)
    window = rng.uniform(1, 1000, 5).tolist()
    table = SymbolTable(params, 40)
    for length in range(40):  # symbol i sees `i` other closes first
        history = rng.uniform(1, 1000, length).tolist()
        for x in history:
            feed(table, [length], [(x, x, x, x, 1)])
    smas = []
    for x in window:
        order = rng.permutation(40).tolist()
        columns = feed(table, order, [(x, x, x, x, 1)] * 40)
    smas = columns.sma.tolist()
    assert len(set(smas)) == 1
    alone = SymbolTable(params, 1)
    for x in window:
        only = feed(alone, [0], [(x, x, x, x, 1)])
    assert only.sma.tolist() == [smas[0]]


def test_symbols_in_place_and_gathered_give_the_same_bits():
    """Consecutive ascending symbols use the windows in place, any other order gathers
    them: the figures are the same to the bit."""
    params = SymbolParams(sma_bars=9, ema_bars=4, return_bars=3, high_low_bars=5)
    rng = np.random.default_rng(11)
    in_place, gathered = SymbolTable(params, 30), SymbolTable(params, 30)
    last: dict[int, float] = {}
    for _ in range(40):
        order = list(range(30))
        bars = [make_bar(rng, last.get(i)) for i in order]
        last.update((i, bar[3]) for i, bar in zip(order, bars, strict=True))
        a = feed(in_place, order, bars)
        b = feed(gathered, order[::-1], bars[::-1])
        for name in RECORD_FIELDS:
            x, y = getattr(a, name), getattr(b, name)[::-1]
            assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), name
    assert table_states(in_place) == table_states(gathered)


@pytest.mark.parametrize(
    ("index", "message"),
    [
        ([0, 3], "row 1: symbol index 3 is not in 0..2"),
        ([-1, 0], "row 0: symbol index -1 is not in 0..2"),
        ([1, 2, 1], "row 2: symbol index 1 has a bar already in row 0"),
    ],
)
def test_bad_indices_are_rejected_and_change_nothing(index, message):
    table = SymbolTable(SymbolParams(sma_bars=2), 3)
    feed(table, [0, 1, 2], [(5, 6, 4, 5, 1)] * 3)
    before = table_states(table)
    with pytest.raises(ValueError, match=message):
        feed(table, index, [(5, 6, 4, 5, 1)] * len(index))
    assert table_states(table) == before


def test_bad_shapes_and_types_are_rejected():
    table = SymbolTable(SymbolParams(), 2)
    with pytest.raises(ValueError, match="close must be a 1-D array of 2 values"):
        table.on_bars([0, 1], [1, 1], [1, 1], [1, 1], [1], [1, 1])
    with pytest.raises(ValueError, match="index must hold integers"):
        table.on_bars([0.0], [1], [1], [1], [1], [1])
    with pytest.raises(ValueError, match="cannot shrink"):
        table.grow(1)
    with pytest.raises(IndexError):
        table.to_state(2)
    assert len(table.on_bars([], [], [], [], [], [])) == 0


def test_grow_keeps_existing_symbols_and_adds_empty_ones():
    params = SymbolParams(sma_bars=2, return_bars=1, high_low_bars=2)
    table, reference = SymbolTable(params, 1), SymbolState(params)
    for step in range(1, 100):  # one more symbol per bar: capacity doubles under it
        table.grow(step + 1)
        bar = (float(step), step + 1.0, step - 0.5, float(step), 10.0)  # floats, as on the wire
        want = reference.on_bar(*bar)
        got = table.records(feed(table, [0, step], [bar] * 2))
        assert_same_record(got[0], want, f"step {step}")
        assert got[1].bars == 1 and got[1].prev_close is None
    assert table.to_state(0) == reference.to_state()


def test_from_state_takes_a_symbol_states_own_dict():
    params = SymbolParams(sma_bars=3, ema_bars=2, return_bars=2, high_low_bars=4)
    state = SymbolState(params)
    bars = [(c, c + 1, c - 1, c, 1.0) for c in (10.0, 11.0, 10.5, 12.0, 11.0, 11.5)]
    for bar in bars[:4]:
        state.on_bar(*bar)
    table = SymbolTable(params, 2)
    table.from_state(1, state.to_state())
    assert table.to_state(1) == state.to_state()
    for bar in bars[4:]:
        assert_same_record(table.records(feed(table, [1], [bar]))[0], state.on_bar(*bar), "")


def test_record_fields_are_those_of_symbol_stats():
    assert SymbolStats.__struct_fields__ == RECORD_FIELDS


# --- real daily bars --------------------------------------------------------------------


def read_daily(path: Path) -> dict[str, tuple[float, ...]]:
    """Date -> (open, high, low, close, volume) of one kittycapital file."""
    with path.open(newline="") as f:
        return {
            row["Date"]: tuple(float(row[k]) for k in ("Open", "High", "Low", "Close", "Volume"))
            for row in csv.DictReader(f)
        }


@pytest.mark.skipif(
    not ETF_DAILY.is_dir(), reason=f"real daily ETF bars not present at {ETF_DAILY}"
)
@pytest.mark.parametrize(
    "params",
    [SymbolParams(), SymbolParams(sma_bars=200, ema_bars=10, return_bars=5, high_low_bars=252)],
)
def test_real_daily_bars_of_thirteen_etfs_since_1993(params):
    """SPY from 1993, the others joining as they list (ARKK in 2014): every record of
    every day as SymbolState gives it."""
    files = sorted(ETF_DAILY.glob("*.csv"))
    assert len(files) >= 10
    series = [read_daily(path) for path in files]
    dates = sorted(set().union(*series))
    table, states = SymbolTable(params), [SymbolState(params) for _ in files]
    table.grow(len(files))
    compared = 0
    for date in dates:
        index = [i for i, bars in enumerate(series) if date in bars]
        bars = [series[i][date] for i in index]
        records = table.records(feed(table, index, bars))
        for i, bar, got in zip(index, bars, records, strict=True):
            assert_same_record(got, states[i].on_bar(*bar), f"{files[i].stem} {date}")
            compared += 1
    assert compared == sum(len(s) for s in series) > 70_000
    assert table_states(table) == [s.to_state() for s in states]
