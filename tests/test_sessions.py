"""Bars follow the trading sessions of an exchange calendar (XNYS, real sessions).

Dates used: 2015-01-02 (a Friday session), 2025-11-26 (a full session), 2025-11-27
(Thanksgiving, closed), 2025-11-28 (early close 13:00 New York), 2025-12-25 (Christmas,
closed), 2026-03-06 and 2026-03-09 (the Friday before and the Monday after the switch to
daylight saving time: the open moves from 14:30 to 13:30 UTC).
"""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime

import exchange_calendars as xcals
import numpy as np
import pandas as pd
import pytest

from agents.analytics.bars import PartitionBars
from rotation.calendar import sessions_for
from rotation.config import ConfigError, load_universe
from streams.feeds.simulator import Simulator
from streams.records import Tick
from streams.sessions import DAY_US, Sessions
from streams.units import MICROS, micros_from_datetime

XNYS = sessions_for("XNYS")
HOUR = 3600
MINUTE_US = 60 * MICROS


def at(text: str) -> int:
    """An ISO 8601 time with offset as microseconds since the epoch."""
    return micros_from_datetime(datetime.fromisoformat(text))


def ticks(*times: int, symbol: str = "SPY") -> list[Tick]:
    return [
        Tick(symbol=symbol, ts=t, price=100.0 + i, size=1.0, source="test")
        for i, t in enumerate(times)
    ]


def test_the_calendar_has_the_holidays_early_closes_and_dst_of_xnys():
    dates = set(XNYS.dates(np.arange(len(XNYS))))
    assert "2025-11-26" in dates and "2025-11-28" in dates
    assert "2025-11-27" not in dates and "2025-12-25" not in dates
    i = XNYS.session_on_date(np.array([at("2025-11-28T12:00:00-05:00")]))[0]
    assert XNYS.close[i] == at("2025-11-28T13:00:00-05:00")
    friday, monday = XNYS.session_on_date(
        np.array([at("2026-03-06T12:00:00-05:00"), at("2026-03-09T12:00:00-04:00")])
    )
    assert XNYS.open[friday] == at("2026-03-06T14:30:00+00:00")
    assert XNYS.open[monday] == at("2026-03-09T13:30:00+00:00")


def test_exchange_names_24_7_and_none_mean_no_calendar():
    assert sessions_for("24/7").is_continuous
    assert sessions_for("none") == Sessions.continuous()
    assert sessions_for("xnys") is XNYS  # cached, one per exchange and process


def test_the_shipped_configuration_follows_xnys_and_a_bad_code_is_one_line(monkeypatch):
    assert load_universe().calendar == XNYS
    monkeypatch.setenv("ROTATION__CALENDAR__EXCHANGE", "Paris")
    with pytest.raises(ConfigError) as info:
        load_universe()
    message = str(info.value)
    assert "\n" not in message
    assert "ROTATION__CALENDAR__EXCHANGE" in message and "[calendar]: key 'exchange'" in message
    assert "get_calendar_names" in message


@pytest.mark.parametrize(
    "stamp",
    [
        "2015-01-02T00:00:00+00:00",  # a date-only row
        "2015-01-02T00:00:00-05:00",  # the vendor's midnight New York (05:00 UTC)
        "2015-01-02T09:30:00-05:00",  # the open
        "2015-01-02T16:00:00-05:00",  # the close (21:00 UTC)
        "2015-01-02T18:30:00-05:00",  # after hours, same date
    ],
)
def test_a_daily_bar_stamped_at_any_time_of_its_date_is_that_sessions_bar(stamp):
    bars = PartitionBars.every(86_400, sessions=XNYS)
    first = bars.apply(ticks(at(stamp)))
    assert not first.closed and not len(first.off_session)
    update = bars.apply(ticks(at("2015-01-05T10:00:00-05:00"), symbol="QQQ"))
    (bar,) = update.closed
    assert (bar.symbol, bar.start, bar.end) == (
        "SPY",
        at("2015-01-02T09:30:00-05:00"),
        at("2015-01-02T16:00:00-05:00"),
    )
    assert update.watermark == bar.end


def test_daily_stamps_at_midnight_close_and_date_make_one_bar_not_three():
    bars = PartitionBars.every(86_400, sessions=XNYS)
    stamps = ["2015-01-02T00:00:00+00:00", "2015-01-02T05:00:00+00:00", "2015-01-02T21:00:00Z"]
    update = bars.apply([*ticks(*map(at, stamps))])
    closed = update.closed + bars.flush().closed
    assert len(closed) == 1 and closed[0].ticks == 3


def test_a_daily_tick_on_a_holiday_or_a_weekend_is_off_session():
    bars = PartitionBars.every(86_400, sessions=XNYS)
    holiday, saturday = at("2025-12-25T00:00:00+00:00"), at("2025-11-29T12:00:00-05:00")
    update = bars.apply(ticks(at("2025-11-26T12:00:00-05:00"), holiday, saturday))
    assert sorted(update.off_session.ts.tolist()) == sorted([holiday, saturday])
    assert [b.ticks for b in bars.flush().closed] == [1]


def hourly_bars(times: list[int]) -> tuple[list, list[int]]:
    bars = PartitionBars.every(HOUR, 60, sessions=XNYS)
    update = bars.apply(ticks(*times))
    return update.closed + bars.flush().closed, update.off_session.ts.tolist()


def every_ten_minutes(first: str, last: str) -> list[int]:
    return list(range(at(first), at(last) + 1, 10 * MINUTE_US))


def test_hourly_bars_start_at_the_open_and_are_cut_at_the_close():
    closed, off = hourly_bars(
        every_ten_minutes("2025-11-26T09:30:00-05:00", "2025-11-26T15:50:00-05:00")
    )
    assert not off
    starts = [b.start for b in closed]
    assert starts == [at(f"2025-11-26T{h:02d}:30:00-05:00") for h in range(9, 16)]
    last = closed[-1]
    assert last.end == at("2025-11-26T16:00:00-05:00") and last.ticks == 3  # 15:30-16:00
    assert all(b.end - b.start == HOUR * MICROS for b in closed[:-1])


def test_hourly_bars_never_straddle_an_early_close_or_a_holiday():
    times = every_ten_minutes("2025-11-26T09:30:00-05:00", "2025-12-01T15:50:00-05:00")
    closed, off = hourly_bars(times)
    sessions = XNYS.session_of(np.array(times))
    assert sorted(off) == sorted(t for t, s in zip(times, sessions, strict=True) if s < 0)
    assert sum(b.ticks for b in closed) == int((sessions >= 0).sum())
    for bar in closed:
        (home,) = set(XNYS.session_of(np.array([bar.start, bar.end - 1])).tolist())
        assert home >= 0 and bar.end <= XNYS.close[home]
    early = [b for b in closed if b.start >= at("2025-11-28T00:00:00-05:00")]
    early = [b for b in early if b.end <= at("2025-11-28T23:00:00-05:00")]
    assert early[-1].start == at("2025-11-28T12:30:00-05:00")
    assert early[-1].end == at("2025-11-28T13:00:00-05:00")
    thanksgiving = (at("2025-11-27T00:00:00-05:00"), at("2025-11-28T00:00:00-05:00"))
    assert not [b for b in closed if thanksgiving[0] <= b.start < thanksgiving[1]]


def test_hourly_bars_follow_the_open_across_the_dst_change():
    times = [at("2026-03-06T09:45:00-05:00"), at("2026-03-09T09:45:00-04:00")]
    closed, off = hourly_bars(times)
    assert not off
    assert [b.start for b in closed] == [at("2026-03-06T14:30:00Z"), at("2026-03-09T13:30:00Z")]


def test_pre_and_post_market_ticks_go_to_the_dead_letter_not_a_bar():
    pre, post = at("2025-11-26T09:29:59-05:00"), at("2025-11-26T16:00:00-05:00")
    closed, off = hourly_bars([pre, at("2025-11-26T10:00:00-05:00"), post])
    assert sorted(off) == [pre, post]
    assert [b.ticks for b in closed] == [1]


def test_the_first_tick_of_the_next_session_closes_the_last_bar_of_the_previous():
    bars = PartitionBars.every(HOUR, 60, sessions=XNYS)
    friday_close = at("2025-11-28T13:00:00-05:00")
    update = bars.apply(ticks(friday_close - 1))
    assert not update.closed  # the 12:30-13:00 bar may still get late ticks
    monday = bars.apply(ticks(at("2025-12-01T09:30:10-05:00"), symbol="QQQ"))
    (bar,) = monday.closed
    assert (bar.symbol, bar.end) == ("SPY", friday_close)
    assert monday.watermark == friday_close  # in the gap: the last close
    late = bars.apply(ticks(friday_close - 2 * MINUTE_US))
    assert len(late.late) == 1 and not late.closed


def batch_bars(ts: np.ndarray, price: np.ndarray, interval: int) -> dict[int, tuple]:
    """Hourly bars by pandas and the exchange_calendars schedule directly."""
    schedule = xcals.get_calendar("XNYS", start="2025-11-20", end="2025-12-10").schedule
    opens = schedule["open"].array.as_unit("us").asi8
    closes = schedule["close"].array.as_unit("us").asi8
    frame = pd.DataFrame({"ts": ts, "price": price})
    rows = []
    for t in frame.ts:
        k = [i for i in range(len(opens)) if opens[i] <= t < closes[i]]
        rows.append(-1 if not k else opens[k[0]] + (t - opens[k[0]]) // interval * interval)
    frame["start"] = rows
    frame = frame[frame.start >= 0].sort_values("ts", kind="stable")
    grouped = frame.groupby("start").price
    return {
        int(s): (g.iloc[0], g.max(), g.min(), g.iloc[-1], len(g))
        for s, g in ((s, grouped.get_group(s)) for s in grouped.groups)
    }


@pytest.mark.filterwarnings("ignore:Series.values returning")  # inside exchange_calendars
def test_streaming_bars_on_sessions_equal_a_batch_computation():
    rng = random.Random(5)
    first, last = at("2025-11-25T08:00:00-05:00"), at("2025-12-02T18:00:00-05:00")
    ts = np.array(sorted(rng.randrange(first, last) for _ in range(3000)), dtype=np.int64)
    price = np.round(np.array([100 + rng.random() for _ in ts]), 2)
    expected = batch_bars(ts, price, HOUR * MICROS)
    ticks_all = [
        Tick(symbol="SPY", ts=int(t), price=float(p), size=1.0)
        for t, p in zip(ts, price, strict=True)
    ]
    bars = PartitionBars.every(HOUR, 0, sessions=XNYS)
    closed, i = [], 0
    while i < len(ticks_all):
        n = rng.choice([1, 3, 8, 9, 50, 400])
        closed += bars.apply(ticks_all[i : i + n]).closed
        i += n
    closed += bars.flush().closed
    got = {b.start: (b.open, b.high, b.low, b.close, b.ticks) for b in closed}
    assert got == expected


def test_the_simulator_skips_holidays_and_stops_at_an_early_close():
    universe = load_universe()
    start = datetime.fromisoformat("2025-11-26T09:30:00-05:00")
    universe = dataclasses.replace(
        universe, simulator=dataclasses.replace(universe.simulator, start=start)
    )
    sessions = list(Simulator(universe, seed=3).sessions(3))
    days = [XNYS.dates(XNYS.session_of(s.ts[:1]))[0] for s in sessions]
    assert days == ["2025-11-26", "2025-11-28", "2025-12-01"]
    for session in sessions:
        assert (XNYS.session_of(session.ts) >= 0).all()
    assert sessions[1].ts.max() < at("2025-11-28T13:00:00-05:00")


def test_continuous_sessions_keep_the_epoch_grid():
    grid = Sessions.continuous().grid(900 * MICROS)
    ts = np.array([at("2025-12-25T03:07:00Z")])
    start, end = grid.bounds(ts)
    assert start[0] == at("2025-12-25T03:00:00Z") and end[0] - start[0] == 900 * MICROS
    assert Sessions.continuous().grid(DAY_US).watermark(at("2025-12-25T03:07:00Z")) == at(
        "2025-12-25T00:00:00Z"
    )


@pytest.mark.parametrize("seconds", [60, HOUR, 86_400])
def test_one_tick_at_a_time_is_placed_as_the_columns_are(seconds):
    grid = XNYS.grid(seconds * MICROS)
    rng = np.random.default_rng(seconds)
    first, last = at("2025-11-20T00:00:00Z"), at("2026-03-20T00:00:00Z")
    ts = rng.integers(first, last, 5000)
    midnights = np.arange(first, last, DAY_US)  # date-only stamps, weekends and holidays too
    ts = np.concatenate([ts, midnights, XNYS.open[:5], XNYS.close[-5:] - 1]).astype(np.int64)
    starts, clocks = grid.place(ts)
    one_by_one = [grid.place_one(int(t)) for t in ts]
    assert [s for s, _ in one_by_one] == starts.tolist()
    assert [c for _, c in one_by_one] == clocks.tolist()
    assert (starts >= 0).any() and (starts < 0).any()
