"""The simulator: deterministic, near real prices, and the great rotation it promises."""

from __future__ import annotations

import math
import tracemalloc
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from rotation.config import load_universe
from streams.feeds.simulator import Regime, Simulator, SimulatorParams, SymbolSpec

REQUIRED = [
    "SPY",
    "QQQ",
    "IWM",
    "RSP",
    "AAPL",
    "MSFT",
    "NVDA",
    "GOOGL",
    "AMZN",
    "META",
    "TSLA",
    "GRC",
    "WLDN",
    "HCI",
    "PSTL",
    "DRH",
]


@pytest.fixture(scope="module")
def universe():
    return load_universe()


def test_default_universe_holds_the_required_symbols(universe):
    assert set(REQUIRED) <= set(universe.symbols)
    assert set(universe.groups["mega_cap_tech"]) == {
        "AAPL",
        "MSFT",
        "NVDA",
        "GOOGL",
        "AMZN",
        "META",
        "TSLA",
    }
    assert {"GRC", "WLDN", "HCI", "PSTL", "DRH"} <= set(universe.groups["small_caps"])


def test_same_seed_same_ticks_other_seed_other_ticks(universe):
    a = next(Simulator(universe, seed=11).sessions(1))
    b = next(Simulator(universe, seed=11).sessions(1))
    c = next(Simulator(universe, seed=12).sessions(1))
    for field in ("ts", "symbol", "price", "size"):
        assert np.array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.price[:100], c.price[:100])


def test_ticks_are_time_ordered_within_the_session_and_prices_start_near_config(universe):
    sim = Simulator(universe, seed=5)
    session = next(sim.sessions(1))
    assert np.all(np.diff(session.ts) >= 0)
    for i, symbol in enumerate(sim.symbols):
        first = session.price[session.symbol == i][0]
        assert first == pytest.approx(universe.symbols[symbol].price, rel=0.03), symbol


def test_ticks_fall_in_weekday_sessions_only(universe):
    eastern = ZoneInfo("America/New_York")
    for session in Simulator(universe, seed=1).sessions(7):
        for ts in (session.ts[0], session.ts[-1]):
            local = datetime.fromtimestamp(ts / 1e6, eastern)
            assert local.weekday() < 5
            assert time(9, 30) <= local.time() < time(16, 0)


def _close_of(session, sim, symbol):
    return session.price[session.symbol == sim.symbols.index(symbol)][-1]


def test_great_rotation_small_caps_lead_mega_cap_tech_lags(universe):
    """Over the 26-day rotation regime IWM gains about 8% against a slightly negative QQQ.

    The regime's expected returns are IWM +8.3% and QQQ -2.0% (factor loadings times
    factor drifts: IWM 1.05 x 1 + 1.0 x 7 - 0.1 x -2.5, QQQ 1.1 x 1 - 0.15 x 7 + 0.8 x
    -2.5); the mean over seeds must be near them.
    """
    regimes = universe.simulator.regimes
    assert [r.name for r in regimes[:2]] == ["mega-cap leadership", "great rotation"]
    before = regimes[0].days - 1  # the last day before the rotation
    last = before + regimes[1].days  # its last day
    lead, iwm_returns, qqq_returns = [], [], []
    for seed in range(6):
        sim = Simulator(universe, seed=seed)
        closes = {}
        for session in sim.sessions(last + 1):
            if session.day in (before, last):
                closes[session.day] = {s: _close_of(session, sim, s) for s in ("IWM", "QQQ")}
        iwm = closes[last]["IWM"] / closes[before]["IWM"] - 1
        qqq = closes[last]["QQQ"] / closes[before]["QQQ"] - 1
        iwm_returns.append(iwm)
        qqq_returns.append(qqq)
        lead.append(iwm - qqq)
    assert np.mean(iwm_returns) == pytest.approx(0.083, abs=0.035)
    assert np.mean(qqq_returns) == pytest.approx(-0.020, abs=0.035)
    assert min(lead) > 0.04  # small caps lead in every seed


@dataclass(frozen=True)
class Market:
    """A hand-made universe for the simulator (it needs only these two)."""

    symbols: dict[str, SymbolSpec]
    simulator: SimulatorParams


def market(symbols: dict[str, SymbolSpec], *regimes: Regime, interval: float = 30.0) -> Market:
    start = datetime(2026, 9, 1, 9, 30, tzinfo=timezone(timedelta(hours=-4)))
    return Market(symbols, SimulatorParams(start, 23_400, interval, 2000, regimes))


def _log_moves(sim: Simulator, days: int) -> np.ndarray:
    """Each symbol's log change from its configured price to its last tick of ``days``."""
    last = {}
    for session in sim.sessions(days):
        order = np.argsort(session.symbol, kind="stable")
        symbols = session.symbol[order]
        ends = np.append(np.flatnonzero(np.diff(symbols)), symbols.size - 1)
        last.update(zip(symbols[ends].tolist(), session.price[order][ends].tolist(), strict=True))
    start = np.array([sim.universe.symbols[s].price for s in sim.symbols])
    return np.log(np.array([last[i] for i in range(len(sim.symbols))]) / start)


def test_a_regime_moves_its_sectors_members_by_its_sectors_pct():
    """Industrials +10% over a 5-day regime, materials 0: industrials' members end
    ln(1.10) = 0.095 above the others on average. The noise of that mean is the sector
    factor's (0.04 x sqrt(5/252) = 0.006) and the members' own (0.2 x sqrt(5/252) /
    sqrt(60) = 0.004); the margin 0.02 is over 3 of both, and a missing sector factor
    (difference 0) fails it."""
    symbols = {
        f"S{i}": SymbolSpec(
            f"S{i}",
            beta_market=1.0,
            vol=0.2,
            sector=("industrials", "materials", "")[i % 3],
            beta_sector=1.0,
        )
        for i in range(180)
    }
    regime = Regime("boom", 5, 0.0, 0.0, 0.0, {"industrials": 10.0, "materials": 0.0})
    sim = Simulator(market(symbols, regime), seed=3)
    assert sim.sectors == ["industrials", "materials"]
    moves = _log_moves(sim, 5)
    sector = np.array([symbols[s].sector for s in sim.symbols])
    industrials = moves[sector == "industrials"].mean()
    materials = moves[sector == "materials"].mean()
    none = moves[sector == ""].mean()
    assert industrials - none == pytest.approx(math.log(1.10), abs=0.02)
    assert materials - none == pytest.approx(0.0, abs=0.02)


def test_own_noise_at_tick_times_has_the_configured_variance():
    """A symbol's own noise is Brownian at its tick times: over two sessions its log
    change has variance 2 x vol^2 / 252 (vol 0.5: std 0.0445), whatever its tick gaps.
    400 symbols estimate it within 20% (the estimate's own error is about 7%)."""
    symbols = {f"S{i}": SymbolSpec(f"S{i}", beta_market=0.0, vol=0.5, cap=1.0) for i in range(400)}
    flat = Regime("flat", 10, 0.0, 0.0, 0.0)
    moves = _log_moves(Simulator(market(symbols, flat, interval=600.0), seed=4), 2)
    assert moves.var() == pytest.approx(2 * 0.5**2 / 252, rel=0.2)
    assert abs(moves.mean()) < 4 * moves.std() / math.sqrt(moves.size)


def test_a_session_of_the_full_universe_takes_memory_in_proportion_to_its_ticks(universe):
    """No (seconds x symbols) array: one such float array of the shipped universe would
    be 23,400 x 2,490 x 8 bytes = 466 MB; a session's peak stays under 400 bytes a tick
    and the factor paths (23,401 x factors)."""
    sim = Simulator(universe, seed=9)
    seconds = universe.simulator.session_seconds
    tracemalloc.start()
    try:
        session = next(sim.sessions(1))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    factors = 3 + len(sim.sectors)
    dense = seconds * len(sim.symbols) * 8
    bound = 400 * session.ts.size + 3 * 8 * (seconds + 1) * factors
    assert len(sim.symbols) > 2000
    assert peak < bound < dense / 4, (peak, bound, dense)


def test_the_feed_plays_the_story_at_speed_then_real_time(broker, tmp_path):
    """A one-day story at a session per second, then real time: within the run the feed
    sends the whole story and only the few ticks real time makes due after it."""
    import asyncio
    import time as clock

    from streams.admin import ensure_topics
    from streams.feeds.sim import run_feed, story_clock

    text = (Path(__file__).parents[1] / "rotation" / "universe.toml").read_text()
    head, _, _ = text.partition("[[simulator.regimes]]")
    config = tmp_path / "story.toml"
    config.write_text(
        head
        + '[[simulator.regimes]]\nname = "story"\ndays = 1\nmarket_pct = 1.0\n'
        + "size_pct = 5.0\ntech_pct = -2.0\n\n"
        + '[[simulator.regimes]]\nname = "after"\ndays = 1000\nmarket_pct = 0.0\n'
        + "size_pct = 0.0\ntech_pct = 0.0\n"
    )
    universe = load_universe(config)
    story = story_clock(universe)
    assert story == universe.simulator.session_seconds

    duration = 10.0  # the story takes about 1 s of it
    started = clock.monotonic()

    async def feed() -> int:
        await ensure_topics(broker, universe.topics)
        return await run_feed(
            broker, universe, speed=story, then_speed=1.0, duration=duration, seed=5
        )

    sent = asyncio.run(feed())
    wall = clock.monotonic() - started
    first, second = Simulator(universe, 5).sessions(2)  # the story's session, the next
    assert first.ts.size <= sent, "the story was not sent whole"
    # After the story only what real time made due: at most `wall` trading seconds.
    due_after = int(np.searchsorted(second.clock, story + wall, side="right"))
    assert sent <= first.ts.size + due_after, (sent, first.ts.size, due_after)
    assert due_after < second.ts.size / 100  # a hundredth of the next session at most


def test_the_feeds_columnar_frames_hold_the_same_ticks_as_tick_records(universe):
    """The feed encodes a session's arrays straight into columnar frames; decoded, they
    are the ticks (symbol, time, price, size, bid, ask, partition) that the frames of
    one Tick record each hold, in the same order."""
    import msgspec

    from streams.codec import frames_for
    from streams.feeds.sim import frames_of, ticks_of
    from streams.records import ColumnarTickFrame
    from streams.tick_producer import partitioner

    sim = Simulator(universe, seed=3)
    session = next(sim.sessions(1))
    partition_of = partitioner(4)
    partition = np.array([partition_of(s) for s in sim.symbols])

    def rows(frames):
        out = []
        for p, data in frames:
            f = msgspec.json.decode(data, type=ColumnarTickFrame)
            columns = zip(f.symbol, f.ts, f.price, f.size, f.bid, f.ask, strict=True)
            out += [(p, f.symbols[i], *rest, f.source) for i, *rest in columns]
        return out

    for lo, hi in ((0, 4000), (1000, 9000), (session.ts.size - 3000, session.ts.size)):
        ticks = ticks_of(session, lo, hi, sim.symbols)
        expected = rows(frames_for(ticks, 500, {t.symbol: partition_of(t.symbol) for t in ticks}))
        frames = frames_of(session, lo, hi, sim.symbols, partition, 500)
        assert all(len(msgspec.json.decode(d)["ts"]) <= 500 for _, d in frames)
        assert rows(frames) == expected
