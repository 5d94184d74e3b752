"""The signal hierarchy on the engine: every signal's level, detail signals off by
default and summed up per group, the score floor, and the regime's figures in PairStats."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from agents.analytics.pipeline import Pipeline
from agents.analytics.rules.group_crossovers import GroupCrossoverParams, GroupCrossovers
from agents.analytics.rules.levels import level_of
from agents.analytics.rules.scores import scaled
from agents.analytics.session_change import SessionChange
from agents.analytics.universe import PairSpec, Universe
from rotation.config import load_universe
from streams.feeds.simulator import Simulator
from streams.partitioning import partitioner
from tests.helpers import session_ticks

SEED, DAYS = 4, 30


def run(universe: Universe) -> Pipeline:
    sim = Simulator(universe, seed=SEED)
    pipeline = Pipeline(universe, partitioner(universe.topics.ticks.partitions))
    for session in sim.sessions(DAYS):
        pipeline.apply_batch(session_ticks(sim.symbols, session, source="sim"))
    return pipeline


@pytest.fixture(scope="module")
def default_run() -> tuple[Universe, Pipeline]:
    universe = load_universe()
    return universe, run(universe)


@pytest.fixture(scope="module")
def detail_run() -> tuple[Universe, Pipeline]:
    universe = load_universe()
    signals = dataclasses.replace(universe.signals, detail=True, min_score=0.0)
    universe = dataclasses.replace(universe, signals=signals)
    return universe, run(universe)


def test_levels_follow_the_table():
    assert level_of("rotation_regime", PairSpec("IWM/QQQ", "IWM", "QQQ", regime=True)) == (
        "headline"
    )
    assert level_of("rs_crossover", PairSpec("IWM/QQQ", "IWM", "QQQ")) == "supporting"
    assert level_of("rs_crossover", PairSpec("XLI/SPY", "XLI", "SPY")) == "supporting"
    group_pair = PairSpec("small_caps/SPY", "small_caps", "SPY", "group_vs_benchmark")
    assert level_of("rrg_quadrant", group_pair) == "supporting"
    assert level_of("breadth_thrust", None) == "supporting"
    assert level_of("group_crossovers", None) == "supporting"
    symbol_pair = PairSpec("AAPL/SPY", "AAPL", "SPY", "symbol_vs_benchmark")
    assert level_of("rs_crossover", symbol_pair) == "detail"
    assert level_of("rs_breakout", symbol_pair) == "detail"


def test_scores_share_one_scale():
    assert scaled(3.0, 3.0) == 50.0  # the threshold just met
    assert scaled(9.0, 3.0) == 100.0  # capped
    assert scaled(0.0, 0.5) == 0.0
    assert scaled(1.0, 0.0) == 100.0


def test_every_signal_carries_its_level_and_no_detail_by_default(default_run):
    universe, pipeline = default_run
    specs = {f"pair:{p.name}": p for p in universe.all_pairs()}
    assert pipeline.signals, "the simulated rotation should give signals"
    for signal in pipeline.signals:
        assert signal.level == level_of(signal.kind, specs.get(signal.subject))
        assert signal.level != "detail"
        assert signal.score >= universe.signals.min_score
    assert {s.level for s in pipeline.signals} == {"headline", "supporting"}
    assert {s.kind for s in pipeline.signals if s.level == "headline"} == {"rotation_regime"}


def test_detail_on_sends_single_symbol_signals_and_no_group_crossovers(detail_run):
    universe, pipeline = detail_run
    detail = [s for s in pipeline.signals if s.level == "detail"]
    assert detail, "with detail on, symbol vs benchmark pairs should signal"
    origins = {p.name: p.origin for p in universe.all_pairs()}
    assert {origins[s.subject.removeprefix("pair:")] for s in detail} == {"symbol_vs_benchmark"}
    assert not [s for s in pipeline.signals if s.kind == "group_crossovers"]
    # min_score 0 lets through what the default floor drops.
    assert min(s.score for s in pipeline.signals) < load_universe().signals.min_score


def test_the_score_floor_drops_weak_signals(default_run, detail_run):
    _, floored = default_run
    _, everything = detail_run
    kept = {s.id for s in floored.signals}
    weak = [s for s in everything.signals if s.level != "detail" and s.score < 50.0]
    assert weak and not kept & {s.id for s in weak}


def test_pair_stats_carry_last_close_session_change_and_regime_start(default_run):
    _, pipeline = default_run
    pairs = [s for s in pipeline.snapshots if s.subject == "pair:IWM/QQQ"]
    assert all(s.pair is not None and s.pair.last is not None for s in pairs)
    # The first bar of each session compares with the last close of the session before.
    sessions = 0
    for before, after in itertools.pairwise(pairs):
        assert before.pair is not None and after.pair is not None
        if after.ts - before.ts > after.bar_seconds * 1_000_000:
            sessions += 1
            assert after.pair.change_pct == pytest.approx(
                100 * (after.pair.last / before.pair.last - 1)
            )
    assert sessions >= DAYS - 2
    held = [s for s in pairs if s.pair is not None and s.pair.regime is not None]
    assert held, "the simulated rotation should hold a regime"
    for snapshot in held:
        assert snapshot.pair is not None and snapshot.pair.regime_since is not None
        assert snapshot.pair.regime_since <= snapshot.ts
        start = next(s for s in pairs if s.ts == snapshot.pair.regime_since)
        assert start.pair is not None
        assert snapshot.pair.regime_rs_change_pct == pytest.approx(
            100 * (snapshot.pair.rs / start.pair.rs - 1)
        )
    assert all(s.pair.regime_since is None for s in pairs if s.pair and s.pair.regime is None)


def test_group_crossovers_counts_members_by_their_latest_crossover_and_cools_down():
    rule = GroupCrossovers(
        "group:small_caps",
        "small_caps",
        ("A", "B", "C", "D", "E"),
        "SPY",
        GroupCrossoverParams(share=0.6, bars=3, cooldown_bars=5),
    )
    bars = [
        {},
        {},
        {"A": "up", "B": "up"},  # 2 of 5
        {"C": "up", "A": "down"},  # A's latest is down: still 2 up
        {"D": "up"},  # B, C, D up: 3 of 5 = 0.6
        {"A": "up", "E": "up"},  # inside the cooldown
    ]
    out = [rule.update(bar) for bar in bars]
    assert [i for i, f in enumerate(out) if f is not None] == [4]
    fired = out[4]
    assert fired is not None and fired.direction == "up"
    assert fired.summary == "3 of 5 small_caps crossed above SPY within 3 bars"
    assert fired.evidence["symbols"] == "B,C,D" and fired.score == 50.0
    restored = GroupCrossovers.from_state(rule.to_state())
    assert restored.to_state() == rule.to_state()


def test_session_change_on_daily_bars_is_against_the_previous_bar():
    day = 86_400 * 1_000_000
    change = SessionChange(86_400)
    change.update(1 * day, {"IWM": 200.0})
    assert change.change_pct("IWM") is None  # no previous close yet
    change.update(2 * day, {"IWM": 210.0})
    assert change.change_pct("IWM") == pytest.approx(5.0)
    change.update(5 * day, {"IWM": 199.5})  # after a weekend: still the previous bar
    assert change.change_pct("IWM") == pytest.approx(-5.0)


def test_session_change_on_intraday_bars_is_against_the_close_before_the_gap():
    bar = 900 * 1_000_000
    change = SessionChange(900)
    for i, close in enumerate([100.0, 101.0, 102.0]):
        change.update((i + 1) * bar, {"IWM": close})
    assert change.change_pct("IWM") is None  # no session break seen yet
    overnight = 3 * bar + 70 * bar
    change.update(overnight, {"IWM": 104.04})
    change.update(overnight + bar, {"IWM": 99.96})
    assert change.change_pct("IWM") == pytest.approx(-2.0)  # against 102, not 104.04


def test_snapshots_name_their_provisional_figures_until_the_windows_fill(default_run):
    """Warm-up is explicit: a pair's RS average is provisional for its first sma_bars
    bars, a group's McClellan figures until their slow EMA's seed weighs under 5%."""
    universe, pipeline = default_run
    rs_sma_bars = universe.relative_strength.sma_bars
    pair = [s for s in pipeline.snapshots if s.subject == "pair:IWM/QQQ"]
    assert all("rs_sma" in s.provisional for s in pair[: rs_sma_bars - 1])
    assert all("rs_sma" not in s.provisional for s in pair[rs_sma_bars:])
    assert "regime" in pair[0].provisional and "regime" not in pair[-1].provisional
    group = [s for s in pipeline.snapshots if s.subject == "group:small_caps"]
    assert len(group) > 59
    assert all("mcclellan_oscillator" in s.provisional for s in group[:58])
    assert all("mcclellan_oscillator" not in s.provisional for s in group[59:])
    assert "zweig_ema" not in group[15].provisional
