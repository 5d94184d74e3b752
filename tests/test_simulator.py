"""The simulator: deterministic, near real prices, and the great rotation it promises."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from rotation.config import load_universe
from streams.feeds.simulator import Simulator

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
    eastern = timezone(timedelta(hours=-4))  # the configured start's offset
    for session in Simulator(universe, seed=1).sessions(7):
        for ts in (session.ts[0], session.ts[-1]):
            local = datetime.fromtimestamp(ts / 1e6, eastern)
            assert local.weekday() < 5
            assert time(9, 30) <= local.time() < time(16, 0)


def _close_of(session, sim, symbol):
    return session.price[session.symbol == sim.symbols.index(symbol)][-1]


def test_great_rotation_small_caps_lead_mega_cap_tech_lags(universe):
    """Over the 26-day rotation regime IWM gains about 8% against a slightly negative QQQ.

    The regime's expected returns are IWM +8.3% and QQQ -1.6% (factor loadings times
    factor drifts); the mean over seeds must be near them.
    """
    lead, iwm_returns, qqq_returns = [], [], []
    for seed in range(6):
        sim = Simulator(universe, seed=seed)
        closes = {}
        for session in sim.sessions(30):
            if session.day in (3, 29):  # last day before and last day of the rotation
                closes[session.day] = {s: _close_of(session, sim, s) for s in ("IWM", "QQQ")}
        iwm = closes[29]["IWM"] / closes[3]["IWM"] - 1
        qqq = closes[29]["QQQ"] / closes[3]["QQQ"] - 1
        iwm_returns.append(iwm)
        qqq_returns.append(qqq)
        lead.append(iwm - qqq)
    assert np.mean(iwm_returns) == pytest.approx(0.083, abs=0.035)
    assert np.mean(qqq_returns) == pytest.approx(-0.016, abs=0.035)
    assert min(lead) > 0.04  # small caps lead in every seed


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
