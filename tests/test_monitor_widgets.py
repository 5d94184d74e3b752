"""Each monitor widget alone, in a bare Textual app, drawn from recorded gateway messages."""

from __future__ import annotations

import copy

from textual.app import App, ComposeResult
from textual.widget import Widget

from monitor.render import event_time
from monitor.state import MonitorState, SignalFilter
from monitor.widgets import (
    BreadthTable,
    Column,
    PairDetail,
    QuoteTable,
    RegimeHeadline,
    RelativeStrengthTable,
    RotationGraph,
    SignalLog,
    StatusLine,
    fit_columns,
)
from tests.fixtures.recorded import URL, ThroughClient, recorded_messages, sent_at
from tests.test_monitor_headline import JAN_6_CLOSE, JAN_26_CLOSE, feed, pair_snapshot

CONFIGURED = ["IWM/QQQ", "small_caps/mega_cap_tech", "RSP/SPY"]
GROUP_PAIRS = ["small_caps/SPY", "mega_cap_tech/SPY"]


class Harness(App[None]):
    """A bare app holding the widgets under test."""

    def __init__(self, *widgets: Widget) -> None:
        super().__init__()
        self.widgets = widgets

    def compose(self) -> ComposeResult:
        yield from self.widgets


def fed() -> ThroughClient:
    state = ThroughClient(URL)
    state.on_status(f"connected to {URL}")
    for message in recorded_messages():
        state.receive(message, sent_at(message) or 0.0)
    return state


def latest(subject: str) -> dict:
    found = [
        m["data"]
        for m in recorded_messages()
        if m["type"] == "metrics" and m["data"]["subject"] == subject
    ]
    return found[-1]


def cells(table, key: str) -> dict[str, str]:
    columns = [column.value for column in table.columns]
    return {c: cell.plain for c, cell in zip(columns, table.get_row(key), strict=True)}


def test_columns_fit_by_priority_and_the_flexible_one_takes_the_rest():
    columns = [
        Column("a", "a", 10),
        Column("b", "b", 10, priority=2),
        Column("c", "c", 5, priority=1, flex=True, max_width=30),
    ]
    assert fit_columns(columns, 30) == [(columns[0], 10), (columns[2], 16)]
    assert fit_columns(columns, 40) == [(columns[0], 10), (columns[1], 10), (columns[2], 14)]
    assert fit_columns(columns, 200)[-1] == (columns[2], 30)


async def test_relative_strength_table_shows_each_pair_with_its_latest_figures():
    state = fed()
    table = RelativeStrengthTable()
    async with Harness(table).run_test(size=(80, 10)) as pilot:
        table.show(state.visible_pairs(), "RSP/SPY")
        await pilot.pause()
        assert [key.value for key in table.rows] == CONFIGURED + GROUP_PAIRS
        assert set(table.widths) == {"pair", "rs", "change", "zscore", "state", "trend"}
        pair = latest("pair:IWM/QQQ")["pair"]
        row = cells(table, "IWM/QQQ")
        assert row["rs"] == f"{pair['rs']:.4f}"
        assert row["change"] == f"{pair['rs_change_pct']:+.2f}"
        assert row["zscore"] == f"{pair['zscore']:+.1f}"
        assert row["state"] == ("above" if pair["above_sma"] else "below")
        assert len(row["trend"]) == table.widths["trend"]
        assert set(row["trend"]) <= set("▁▂▃▄▅▆▇█")
        change = table.get_row("IWM/QQQ")[2]
        assert change.style == ("green" if pair["rs_change_pct"] > 0 else "red")
        assert table.cursor_row == CONFIGURED.index("RSP/SPY")


async def test_relative_strength_table_adds_figures_when_wide():
    state = fed()
    table = RelativeStrengthTable()
    async with Harness(table).run_test(size=(160, 10)) as pilot:
        table.show(state.visible_pairs(), None)
        await pilot.pause()
        assert {"vs_sma", "streak", "quadrant", "regime"} <= set(table.widths)
        pair = latest("pair:small_caps/mega_cap_tech")["pair"]
        row = cells(table, "small_caps/mega_cap_tech")
        assert row["quadrant"] == pair["rrg"]["quadrant"]
        assert row["vs_sma"] == f"{pair['rs_vs_sma_pct']:+.2f}"
        assert len(row["trend"]) == 32  # every recorded interval, the column is wider


async def test_breadth_table_shows_advancers_decliners_and_breadth_figures():
    state = fed()
    table = BreadthTable()
    async with Harness(table).run_test(size=(80, 6)) as pilot:
        table.show(state.visible_groups(), "mega_cap_tech")
        await pilot.pause()
        assert [key.value for key in table.rows] == ["small_caps", "mega_cap_tech"]
        group = latest("group:small_caps")["group"]
        row = cells(table, "small_caps")
        assert row["ad"].split()[0] == f"{group['advancers']}/{group['decliners']}"
        assert row["above_sma"] == f"{group['pct_above_sma']:.0f}%"
        assert row["nh_nl"] == f"{group['nh_nl']:+d}"
        assert row["mcclellan"] == f"{group['mcclellan_oscillator']:+.2f}"
        assert row["thrust"] == "-"
        assert table.cursor_row == 1


async def test_breadth_table_marks_a_thrust_and_counts_bars_since():
    state = fed()
    message = next(
        m
        for m in reversed(recorded_messages())
        if m["type"] == "metrics" and m["data"]["subject"] == "group:small_caps"
    )
    thrust = copy.deepcopy(message)
    thrust["data"].update(ts=thrust["data"]["ts"] + 900_000_000, bars=thrust["data"]["bars"] + 1)
    thrust["data"]["group"]["zweig_thrust"] = True
    state.receive(thrust, 0.0)
    table = BreadthTable()
    async with Harness(table).run_test(size=(80, 6)) as pilot:
        table.show(state.visible_groups(), None)
        await pilot.pause()
        assert cells(table, "small_caps")["thrust"] == "▲ THRUST"
        later = copy.deepcopy(thrust)
        later["data"].update(ts=later["data"]["ts"] + 900_000_000, bars=later["data"]["bars"] + 1)
        later["data"]["group"]["zweig_thrust"] = False
        state.receive(later, 0.0)
        table.show(state.visible_groups(), None)
        await pilot.pause()
        assert cells(table, "small_caps")["thrust"] == "1 bars ago"


async def test_signal_log_is_newest_first_and_keeps_the_cursor_on_its_signal():
    state = fed()
    log = SignalLog()
    everything = state.newest_signals(SignalFilter())
    async with Harness(log).run_test(size=(80, 30)) as pilot:
        log.show(everything[1:])
        await pilot.pause()
        assert [key.value for key in log.rows] == [s.id for s in everything[1:]]
        first = everything[1]
        row = cells(log, first.id)
        assert row["time"] == event_time(first.ts, short=True)
        assert row["subject"].endswith(first.subject.split(":", 1)[1][:10])
        log.move_cursor(row=3)
        chosen = log.highlighted()
        log.show(everything)  # a newer signal arrives on top
        await pilot.pause()
        assert log.highlighted() == chosen
        assert next(key.value for key in log.rows) == everything[0].id


async def test_signal_log_follows_the_newest_when_the_cursor_is_on_top():
    state = fed()
    log = SignalLog()
    everything = state.newest_signals(SignalFilter())
    async with Harness(log).run_test(size=(80, 30)) as pilot:
        log.show(everything[1:])
        await pilot.pause()
        log.show(everything)
        await pilot.pause()
        assert log.highlighted() == everything[0]


async def test_rotation_graph_draws_every_pair_and_names_the_selected_one():
    state = fed()
    graph = RotationGraph()
    async with Harness(graph).run_test(size=(60, 20)) as pilot:
        pairs = state.visible_pairs()
        graph.show(pairs, state.pairs["RSP/SPY"])
        await pilot.pause()
        assert len(graph.points) == len(pairs)
        text = graph.render().plain
        assert "RSP/SPY" in text and text.count("◆") == 1
        assert {"improving", "leading", "lagging", "weakening"} <= set(text.split())
        quadrant = latest("pair:RSP/SPY")["pair"]["rrg"]["quadrant"]
        assert graph.border_title == f"RRG · RSP/SPY {quadrant}"


async def test_pair_detail_lists_the_selected_pair():
    state = fed()
    detail = PairDetail()
    async with Harness(detail).run_test(size=(70, 10)) as pilot:
        detail.show(state.pairs["IWM/QQQ"])
        await pilot.pause()
        text = detail.render().plain
        pair = latest("pair:IWM/QQQ")["pair"]
        assert "IWM vs QQQ" in text and f"z {pair['zscore']:+.2f}" in text
        assert f"{pair['rrg']['rs_ratio']:.2f} / {pair['rrg']['rs_momentum']:.2f}" in text


async def test_status_line_reads_live_event_time_lag_and_rates():
    state = fed()
    status = StatusLine()
    now = state.latest_ts / 1e6 + 3 * 86400
    async with Harness(status).run_test(size=(100, 1)) as pilot:
        status.show(state, now)
        await pilot.pause()
        text = status.render().plain
        assert text.startswith("● live │ ")
        assert f"{event_time(state.latest_ts)} ET │ lag 3 d │ " in text
        assert "ticks/s" in text and "signals/s" in text
        status.show(state, now, paused=True)
        assert status.render().plain.startswith("⏸ PAUSED │ ● live")


async def test_status_line_says_when_it_cannot_connect_even_at_80_columns():
    state = MonitorState("ws://127.0.0.1:1/ws")
    state.on_status("disconnected (OSError: [Errno 111] Connect call failed); retrying in 0.3 s")
    status = StatusLine()
    async with Harness(status).run_test(size=(80, 1)) as pilot:
        status.show(state, 0.0)
        await pilot.pause()
        text = status.render().plain
        assert text.startswith("○ cannot connect to ws://127.0.0.1:1/ws, retrying in 0.3 s")
        assert len(text) <= 78


def regime_state() -> MonitorState:
    state = MonitorState(URL)
    feed(
        state,
        pair_snapshot(
            "IWM/QQQ",
            JAN_26_CLOSE,
            regime="into_small_caps:rotation",
            regime_since=JAN_6_CLOSE,
            regime_rs_change_pct=5.32,
        ),
        pair_snapshot(
            "small_caps/mega_cap_tech",
            JAN_26_CLOSE,
            regime="into_mega_caps:broad_rotation",
            regime_since=JAN_6_CLOSE,
            regime_rs_change_pct=-1.04,
        ),
    )
    return state


async def test_regime_headline_reads_side_grade_since_and_rs_change():
    headline = RegimeHeadline()
    async with Harness(headline).run_test(size=(80, 3)) as pilot:
        headline.show(regime_state().regime_headline())
        await pilot.pause()
        first, second = headline.lines(78)
        assert first.plain == "IWM/QQQ ▲ into small caps · rotation · since 2026-01-06 · RS +5.3%"
        assert (
            second.plain
            == (
                "small_caps/mega_cap_tech ▼ into mega caps · broad rotation · since 2026-01-06 "
                "· RS -1.0%"
            )[:77]
            + "…"
        )
        styles = {first.plain[span.start : span.end]: str(span.style) for span in first.spans}
        assert styles[" ▲ into small caps"] == "bold green"
        assert "bold red" in {str(span.style) for span in second.spans}
        assert headline.size.height == 2


async def test_regime_headline_shares_a_line_when_wide_and_says_when_none_is_held():
    headline = RegimeHeadline()
    async with Harness(headline).run_test(size=(200, 3)) as pilot:
        headline.show(regime_state().regime_headline())
        await pilot.pause()
        assert headline.size.height == 1 and "   small_caps/mega_cap_tech ▼" in headline.plain
        headline.show(fed().regime_headline())
        await pilot.pause()
        assert headline.plain == (
            "IWM/QQQ no regime (last call ▲ rotation 2026-09-08 13:45)   "
            "small_caps/mega_cap_tech no regime"
        )
        headline.show(MonitorState(URL).regime_headline())
        assert headline.plain.startswith("IWM/QQQ waiting for data   small_caps/")
        odd = MonitorState(URL, regime_pairs=["A/B"])
        feed(odd, pair_snapshot("A/B", JAN_26_CLOSE, regime="narrowing"))
        headline.show(odd.regime_headline())
        assert headline.plain == "A/B ▼ narrowing"  # a label without a grade, no since


async def test_regime_headline_drops_the_last_call_before_taking_a_second_line():
    headline = RegimeHeadline()
    async with Harness(headline).run_test(size=(80, 3)) as pilot:
        headline.show(fed().regime_headline())
        await pilot.pause()
        assert headline.plain == "IWM/QQQ no regime   small_caps/mega_cap_tech no regime"


async def test_quote_table_shows_last_change_and_rs_with_markers():
    state = fed()
    table = QuoteTable()
    async with Harness(table).run_test(size=(44, 12)) as pilot:
        table.show(state.quote_rows())
        await pilot.pause()
        assert [key.value for key in table.rows] == [
            "AAPL", "MSFT", "NVDA", "GOOGL", "AMZN", "META", "TSLA"
        ]  # fmt: skip
        assert set(table.widths) == {"symbol", "last", "change", "rs"}
        assert [str(column.label) for column in table.columns.values()][3] == "RS vs SPY"
        pair = latest("pair:AAPL/SPY")["pair"]
        row = cells(table, "AAPL")
        assert row["last"] == f"{pair['last']:,.2f}"
        assert row["change"] == ("▲ " if pair["change_pct"] > 0 else "▼ ") + (
            f"{pair['change_pct']:+.2f}"
        )
        assert row["rs"].endswith(f"{pair['rs_vs_sma_pct']:+.2f}")


async def test_quote_table_adds_the_rs_change_when_wide():
    table = QuoteTable()
    async with Harness(table).run_test(size=(80, 12)) as pilot:
        table.show(fed().quote_rows())
        await pilot.pause()
        pair = latest("pair:MSFT/SPY")["pair"]
        assert cells(table, "MSFT")["rs_change"] == f"{pair['rs_change_pct']:+.2f}"


async def test_signal_log_stars_headline_signals_and_dims_detail_ones():
    state = fed()
    state.toggle_detail()
    log = SignalLog()
    async with Harness(log).run_test(size=(80, 30)) as pilot:
        log.show(state.newest_signals(SignalFilter()))
        await pilot.pause()
        by_level = {}
        for signal in log.shown.values():
            by_level.setdefault(signal.level, signal)
        assert cells(log, by_level["headline"].id)["kind"] == "★ ROTATION"
        assert not cells(log, by_level["supporting"].id)["kind"].startswith("★")
        detail = log.get_row(by_level["detail"].id)
        assert "grey62" in str(detail[0].style)
