"""The regime headline, the quote panel's rows and the signal levels, in the monitor's
state (no Textual): records built with the fields the worker now sends."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from gateway.messages import MetricsMessage, SignalMessage
from monitor.headline import DEFAULT_REGIME_PAIRS, parse_pairs
from monitor.quotes import DEFAULT_QUOTES, parse_symbols
from monitor.render import since_time
from monitor.state import DEFAULT_LEVELS, LEVELS, MonitorState, SignalFilter
from rotation.cli import build_parser
from streams.records import MetricsSnapshot, PairStats, Signal
from tests.fixtures.recorded import URL, ThroughClient, recorded_messages, sent_at

DAY = 86400


def micros(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1_000_000)


def pair_snapshot(
    name: str, ts: int, *, origin: str = "configured", bar_seconds: int = DAY, **stats
) -> MetricsSnapshot:
    numerator, denominator = name.split("/")
    pair = PairStats(numerator, denominator, origin, stats.pop("rs", 1.0), **stats)  # type: ignore[arg-type]
    return MetricsSnapshot(f"pair:{name}", "pair", ts, bar_seconds, 30, pair=pair)


def signal(kind: str, subject: str, ts: int, level: str, direction: str = "up") -> Signal:
    digest = hashlib.md5(f"{kind}{subject}{ts}".encode()).hexdigest()
    return Signal(
        digest,
        kind,  # type: ignore[arg-type]
        subject,
        direction,  # type: ignore[arg-type]
        1.0,
        ts - DAY * 1_000_000,
        ts,
        ts,
        f"{subject}: {kind}",
        {"grade": "rotation"} if kind == "rotation_regime" else {},
        level,  # type: ignore[arg-type]
    )


def feed(state: MonitorState, *records: MetricsSnapshot | Signal) -> None:
    for seq, record in enumerate(records, 1):
        if isinstance(record, MetricsSnapshot):
            state.apply(MetricsMessage("metrics", seq, record), 0.0)
        else:
            state.apply(SignalMessage("signals", seq, record), 0.0)


# The headline -----------------------------------------------------------------------

JAN_6_CLOSE = micros("2026-01-07T00:00:00")  # end of the 2026-01-06 daily bar (UTC grid)
JAN_26_CLOSE = micros("2026-01-27T00:00:00")


def test_headline_lists_the_named_regime_pairs_before_any_data():
    views = MonitorState(URL).regime_headline()
    assert [v.pair for v in views] == list(DEFAULT_REGIME_PAIRS)
    assert not any(v.held or v.has_data for v in views)


def test_headline_holds_side_grade_since_and_rs_change_of_each_regime_pair():
    state = MonitorState(URL)
    feed(
        state,
        pair_snapshot(
            "IWM/QQQ",
            JAN_26_CLOSE,
            rs=0.4164,
            regime="into_small_caps:rotation",
            regime_since=JAN_6_CLOSE,
            regime_rs_change_pct=5.3,
        ),
        pair_snapshot("small_caps/mega_cap_tech", JAN_26_CLOSE),
    )
    iwm, caps = state.regime_headline()
    assert (iwm.pair, iwm.side, iwm.grade, iwm.upward) == (
        "IWM/QQQ",
        "into_small_caps",
        "rotation",
        True,
    )
    assert (iwm.since, iwm.rs_change_pct) == (JAN_6_CLOSE, 5.3)
    assert since_time(iwm.since, iwm.bar_seconds) == "2026-01-06"
    assert caps.has_data and not caps.held


def test_a_pair_joins_the_headline_when_it_holds_a_regime_or_has_a_regime_signal():
    state = MonitorState(URL, regime_pairs=["IWM/QQQ"])
    feed(
        state,
        pair_snapshot("RSP/SPY", JAN_26_CLOSE),
        pair_snapshot("XLI/SPY", JAN_26_CLOSE, regime="into_small_caps:watch"),
        signal("rotation_regime", "pair:XLB/SPY", JAN_6_CLOSE, "headline", "into_mega_caps"),
        signal("rs_crossover", "pair:XLE/SPY", JAN_6_CLOSE, "supporting"),
    )
    assert [v.pair for v in state.regime_headline()] == ["IWM/QQQ", "XLI/SPY", "XLB/SPY"]
    xlb = state.regime_headline()[2]
    assert not xlb.has_data and xlb.last_call is not None
    assert xlb.last_call.direction == "into_mega_caps"


def test_a_regime_that_ends_leaves_no_regime_and_the_last_call():
    state = MonitorState(URL, regime_pairs=["IWM/QQQ"])
    call = signal("rotation_regime", "pair:IWM/QQQ", JAN_6_CLOSE, "headline", "into_small_caps")
    feed(
        state,
        call,
        pair_snapshot("IWM/QQQ", JAN_6_CLOSE, regime="into_small_caps:rotation"),
        pair_snapshot("IWM/QQQ", JAN_26_CLOSE, regime=None),
    )
    (view,) = state.regime_headline()
    assert view.has_data and not view.held and view.last_call == call


def test_since_is_the_session_date_for_daily_bars_however_they_are_stamped():
    for end in ("2026-01-07T00:00:00", "2026-01-06T21:00:00", "2026-01-07T05:00:00"):
        assert since_time(micros(end), DAY) == "2026-01-06", end
    assert since_time(micros("2026-01-06T15:45:00"), 900) == "2026-01-06 10:45"


# The quote panel -------------------------------------------------------------------


def test_quotes_follow_the_chosen_order_and_only_symbols_with_data():
    state = MonitorState(URL, quotes=["AAPL", "XLK", "MSFT", "KRE"])
    feed(
        state,
        pair_snapshot(
            "MSFT/SPY", JAN_26_CLOSE, origin="symbol_vs_benchmark", last=480.5, change_pct=-0.4
        ),
        pair_snapshot(
            "AAPL/SPY",
            JAN_26_CLOSE,
            origin="symbol_vs_benchmark",
            last=255.2,
            change_pct=1.2,
            rs_vs_sma_pct=2.5,
            rs_change_pct=0.8,
        ),
        pair_snapshot("XLK/SPY", JAN_26_CLOSE, last=290.0, change_pct=0.3, rs_vs_sma_pct=-1.0),
        pair_snapshot("IWM/QQQ", JAN_26_CLOSE, last=260.0),
    )
    rows = state.quote_rows()
    assert [r.symbol for r in rows] == ["AAPL", "XLK", "MSFT"]
    aapl = rows[0]
    assert (aapl.last, aapl.change_pct, aapl.rs_vs_benchmark_pct, aapl.rs_change_pct) == (
        255.2,
        1.2,
        2.5,
        0.8,
    )
    assert {r.benchmark for r in rows} == {"SPY"}


def test_a_configured_pair_stands_in_only_against_the_benchmark():
    state = MonitorState(URL, quotes=["XLK", "XLE"])
    feed(
        state,
        pair_snapshot("XLE/QQQ", JAN_26_CLOSE, last=90.0),
        pair_snapshot("XLK/SPY", JAN_26_CLOSE, last=290.0),
    )
    assert state.quote_rows() == []  # no group or symbol pair yet: no benchmark known
    feed(state, pair_snapshot("small_caps/SPY", JAN_26_CLOSE, origin="group_vs_benchmark"))
    assert [(r.symbol, r.last) for r in state.quote_rows()] == [("XLK", 290.0)]


def test_the_default_quotes_are_the_large_caps_and_sector_etfs():
    assert DEFAULT_QUOTES[:3] == ("AAPL", "MSFT", "NVDA") and "KRE" in DEFAULT_QUOTES
    assert len(DEFAULT_QUOTES) == len(set(DEFAULT_QUOTES)) == 21
    assert parse_symbols("aapl, MSFT,,xlk aapl") == ("AAPL", "MSFT", "XLK")


def test_recorded_symbol_pairs_fill_the_quote_panel():
    state = ThroughClient(URL)
    for message in recorded_messages():
        state.receive(message, sent_at(message) or 0.0)
    rows = state.quote_rows()
    assert [r.symbol for r in rows] == ["AAPL", "MSFT", "NVDA", "GOOGL", "AMZN", "META", "TSLA"]
    assert all(r.last and r.change_pct is not None for r in rows)


# Signal levels ---------------------------------------------------------------------


def levelled_state() -> MonitorState:
    state = MonitorState(URL)
    feed(
        state,
        signal("rotation_regime", "pair:IWM/QQQ", JAN_6_CLOSE, "headline", "into_small_caps"),
        signal("rs_crossover", "pair:small_caps/SPY", JAN_6_CLOSE + 1, "supporting"),
        signal("rs_crossover", "pair:AAPL/SPY", JAN_6_CLOSE + 2, "detail", "down"),
    )
    return state


def kinds_and_levels(state: MonitorState, text: str = "") -> list[str]:
    return [s.level for s in state.newest_signals(SignalFilter.parse(text))]


def test_the_log_shows_headline_and_supporting_until_detail_is_asked_for():
    state = levelled_state()
    assert set(DEFAULT_LEVELS) == {"headline", "supporting"}
    assert kinds_and_levels(state) == ["supporting", "headline"]
    state.toggle_detail()
    assert kinds_and_levels(state) == ["detail", "supporting", "headline"]
    state.toggle_detail()
    assert kinds_and_levels(state) == ["supporting", "headline"]


def test_level_words_in_the_filter_choose_the_levels():
    state = levelled_state()
    assert kinds_and_levels(state, "level:detail") == ["detail"]
    assert kinds_and_levels(state, "level:headline") == ["headline"]
    assert kinds_and_levels(state, "level:head level:detail") == ["detail", "headline"]
    assert kinds_and_levels(state, "level:all") == ["detail", "supporting", "headline"]
    assert kinds_and_levels(state, "-level:supporting") == ["headline"]
    assert kinds_and_levels(state, "crossover level:all") == ["detail", "supporting"]
    assert kinds_and_levels(state, "level:nonsense") == []
    words = SignalFilter.parse("level:detail iwm")
    assert words.include == ("iwm",) and words.levels == {"detail"}
    assert set(LEVELS) == {"headline", "supporting", "detail"}


def test_rotation_monitor_takes_the_quotes_and_regime_pairs_as_options():
    args = build_parser().parse_args(
        ["monitor", "--quotes", "xlk,KRE", "--regime-pairs", "IWM/QQQ,RSP/SPY"]
    )
    assert parse_symbols(args.quotes) == ("XLK", "KRE")
    assert parse_pairs(args.regime_pairs) == ("IWM/QQQ", "RSP/SPY")
    defaults = build_parser().parse_args(["monitor"])
    assert defaults.quotes is None and defaults.regime_pairs is None
    assert parse_pairs("IWM/QQQ, small_caps/mega_cap_tech IWM/QQQ") == DEFAULT_REGIME_PAIRS
