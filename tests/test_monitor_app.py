"""The monitor app driven with Pilot: keys, pause, filter, evidence, help, and failures.

The data comes from recorded gateway messages played by a stand-in client, so what
the screen must show is known exactly; ``test_monitor_live.py`` runs the same app
against the real gateway.
"""

from __future__ import annotations

import copy
import io
import time

from rich.console import Console
from textual.widgets import Input, Static

from monitor.app import RotationMonitor
from monitor.screens import EvidenceScreen, HelpScreen
from monitor.widgets import (
    BreadthTable,
    QuoteTable,
    RegimeHeadline,
    RelativeStrengthTable,
    RotationGraph,
    SignalLog,
    StatusLine,
)
from tests.fixtures.recorded import URL, Clock, RecordedGateway, recorded_messages

CONFIGURED = ["IWM/QQQ", "small_caps/mega_cap_tech", "RSP/SPY"]
GROUP_PAIRS = ["small_caps/SPY", "mega_cap_tech/SPY"]
WAIT = 30.0  # seconds; only a guard against hanging, nothing is timed


def recorded_app(**kwargs) -> tuple[RotationMonitor, RecordedGateway]:
    source = RecordedGateway(recorded_messages(), Clock())
    return RotationMonitor(URL, source=source, clock=source.clock, **kwargs), source


async def played(app: RotationMonitor, source: RecordedGateway, pilot) -> None:
    await source.wait_played()
    app.redraw()
    await pilot.pause()


def signals_of(kind: str) -> list[dict]:
    return [
        m["data"]
        for m in recorded_messages()
        if m["type"] == "signal" and m["data"]["kind"] == kind
    ]


def plain(renderable) -> str:
    console = Console(width=110, file=io.StringIO())
    console.print(renderable)
    return console.file.getvalue()


async def until(pilot, condition, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"the monitor never showed {what}"
        await pilot.pause(0.05)


async def test_every_panel_shows_the_recorded_data():
    app, source = recorded_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await played(app, source, pilot)
        rs = app.query_one(RelativeStrengthTable)
        assert [key.value for key in rs.rows] == CONFIGURED + GROUP_PAIRS
        assert [key.value for key in app.query_one(BreadthTable).rows] == [
            "small_caps",
            "mega_cap_tech",
        ]
        log = app.query_one(SignalLog)
        signals = [m["data"] for m in recorded_messages() if m["type"] == "signal"]
        assert 0 < log.row_count == len([s for s in signals if s["level"] != "detail"])
        assert len(app.query_one(RotationGraph).points) == 5
        status = app.query_one(StatusLine).plain
        assert status.startswith("● live │ 2026-09-28 12:00 ET │ lag ")
        assert " ticks/s │ " in status and " signals/s" in status


async def test_n_and_g_switch_the_selected_pair_and_group():
    app, source = recorded_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await played(app, source, pilot)
        rs, graph = app.query_one(RelativeStrengthTable), app.query_one(RotationGraph)
        assert rs.cursor_row == 0 and "IWM/QQQ" in graph.border_title
        await pilot.press("n", "n")
        assert rs.cursor_row == 2 and "RSP/SPY" in graph.border_title
        await pilot.press("N")
        assert rs.cursor_row == 1 and "small_caps/mega_cap_tech" in graph.border_title
        breadth = app.query_one(BreadthTable)
        await pilot.press("g")
        assert breadth.cursor_row == 1
        await pilot.press("g")
        assert breadth.cursor_row == 0


async def test_s_adds_the_symbol_pairs_to_the_table_and_the_graph():
    app, source = recorded_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await played(app, source, pilot)
        await pilot.press("s")
        rs = app.query_one(RelativeStrengthTable)
        assert "IWM/SPY" in [key.value for key in rs.rows] and rs.row_count > 5
        assert len(app.query_one(RotationGraph).points) == rs.row_count
        await pilot.press("s")
        assert rs.row_count == 5


async def test_slash_filters_the_signal_log_and_escape_clears_it():
    app, source = recorded_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await played(app, source, pilot)
        log = app.query_one(SignalLog)
        total = log.row_count
        await pilot.press("slash")
        box = app.query_one("#filter", Input)
        assert box.display and app.focused is box
        await pilot.press(*"thrust")
        thrusts = {s["id"] for s in signals_of("breadth_thrust")}
        assert {key.value for key in log.rows} == thrusts
        assert f"filter “thrust”: {len(thrusts)} of {total}" in log.border_title
        await pilot.press("enter")
        assert app.focused is log and log.row_count == len(thrusts)
        await pilot.press("escape")
        assert log.row_count == total and not box.display


def ids_of_level(*levels: str) -> set[str]:
    return {
        m["data"]["id"]
        for m in recorded_messages()
        if m["type"] == "signal" and m["data"]["level"] in levels
    }


async def test_the_regime_headline_is_the_first_line_on_screen():
    app, source = recorded_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await played(app, source, pilot)
        headline = app.query_one(RegimeHeadline)
        assert headline.region.y == 0 and headline.region.height == 1
        assert headline.plain.startswith("IWM/QQQ no regime")


async def test_d_shows_the_detail_signals_and_d_again_hides_them():
    app, source = recorded_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await played(app, source, pilot)
        log = app.query_one(SignalLog)
        default = ids_of_level("headline", "supporting")
        assert {key.value for key in log.rows} == default
        assert "headline + supporting" in log.border_title
        await pilot.press("d")
        assert {key.value for key in log.rows} == ids_of_level("headline", "supporting", "detail")
        assert log.border_title == "Signals (newest first)"
        await pilot.press("d")
        assert {key.value for key in log.rows} == default


async def test_level_words_in_the_filter_choose_what_the_log_shows():
    app, source = recorded_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await played(app, source, pilot)
        log = app.query_one(SignalLog)
        await pilot.press("slash", *"level:detail")
        detail = ids_of_level("detail")
        assert {key.value for key in log.rows} == detail
        assert f"filter “level:detail”: {len(detail)} of {len(detail)}" in log.border_title
        await pilot.press("escape", "slash", *"level:headline")
        assert {key.value for key in log.rows} == ids_of_level("headline")
        await pilot.press("enter")
        assert app.focused is log and log.row_count == 1


async def test_r_puts_the_quotes_in_place_of_the_tables_on_a_small_terminal():
    app, source = recorded_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await played(app, source, pilot)
        quotes, tables = app.query_one(QuoteTable), app.query_one("#tables")
        assert not quotes.display and tables.display
        await pilot.press("r")
        assert quotes.display and not tables.display and quotes.row_count == 7
        assert quotes.region.width == 80 and quotes.region.y == 1
        await pilot.press("r")
        assert not quotes.display and tables.display


async def test_a_large_terminal_shows_the_quotes_beside_the_tables_and_r_hides_them():
    app, source = recorded_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await played(app, source, pilot)
        quotes, rs = app.query_one(QuoteTable), app.query_one(RelativeStrengthTable)
        assert quotes.display and rs.display
        assert quotes.region.x >= rs.region.right and quotes.region.y == rs.region.y
        await pilot.press("r")
        assert not quotes.display and rs.display


async def test_enter_on_a_signal_opens_its_evidence():
    app, source = recorded_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await played(app, source, pilot)
        regime = signals_of("rotation_regime")[0]
        log = app.query_one(SignalLog)
        log.focus()
        log.move_cursor(row=log.get_row_index(regime["id"]))
        await pilot.press("enter")
        assert isinstance(app.screen, EvidenceScreen)
        assert app.screen.signal.id == regime["id"]
        shown = plain(app.screen.query_one("#evidence", Static).content)
        assert "into small caps" in shown and regime["id"] in shown
        assert "rho_long_pp" in shown and "persistence" in shown
        await pilot.press("escape")
        assert not isinstance(app.screen, EvidenceScreen)


async def test_question_mark_opens_the_key_legend():
    app, source = recorded_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await played(app, source, pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


def next_interval(subject: str, **pair_changes) -> dict:
    message = copy.deepcopy(
        next(
            m
            for m in reversed(recorded_messages())
            if m["type"] == "metrics" and m["data"]["subject"] == subject
        )
    )
    message["seq"] += 1000
    message["emit_ts"] += 1_000_000
    message["data"]["ts"] += 900_000_000
    message["data"]["bars"] += 1
    message["data"]["pair"].update(pair_changes)
    return message


async def test_pause_freezes_the_panels_and_p_again_shows_the_latest():
    app, source = recorded_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await played(app, source, pilot)
        rs = app.query_one(RelativeStrengthTable)
        before = rs.get_row("IWM/QQQ")[1].plain
        await pilot.press("p")
        await source.send(next_interval("pair:IWM/QQQ", rs=0.5))
        app.redraw()
        await pilot.pause()
        assert rs.get_row("IWM/QQQ")[1].plain == before
        assert app.query_one(StatusLine).plain.startswith("⏸ PAUSED")
        assert app.state.pairs["IWM/QQQ"].stats.rs == 0.5  # nothing is lost meanwhile
        await pilot.press("p")
        assert rs.get_row("IWM/QQQ")[1].plain == "0.5000"


async def test_unknown_messages_and_gateway_errors_do_not_disturb_the_screen():
    app, source = recorded_app()
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await played(app, source, pilot)
        await source.send(
            {"type": "heartbeat", "n": 7, "server_time": 1_795_594_100_000_000},
            {"type": "from_the_future", "x": [1, 2]},
            {"type": "error", "code": "rate_limited", "message": "too many requests"},
        )
        await pilot.pause()
        assert app.state.ignored == 1
        await until(pilot, lambda: app.screen.query("Toast"), "the gateway's error")
        assert app.query_one(StatusLine).plain.startswith("● live")


class Failing:
    """A client that fails the way a broken network stack or a bad URL would."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    def __call__(self, url: str) -> Failing:
        self.calls += 1
        return self

    async def events(self):
        raise self.error
        yield  # pragma: no cover


async def test_a_failing_client_becomes_a_status_line_not_a_traceback():
    failing = Failing(RuntimeError("network stack exploded"))
    app = RotationMonitor(URL, source=failing)
    async with app.run_test(size=(80, 24)) as pilot:
        status = app.query_one(StatusLine)
        await until(pilot, lambda: "exploded" in status.plain, "the failure")
        assert status.plain.startswith(f"○ cannot connect to {URL}, retrying in 2.0 s")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)  # still answering keys


async def test_a_bad_url_is_reported_and_not_retried():
    app = RotationMonitor("http://127.0.0.1:1/ws")
    async with app.run_test(size=(80, 24)) as pilot:
        status = app.query_one(StatusLine)
        await until(pilot, lambda: not app.listening, "the bad URL")
        app.redraw()
        assert status.plain.startswith("○ cannot connect to http://127.0.0.1:1/ws: not a websocket")


async def test_a_closed_port_shows_cannot_connect_and_retrying():
    """What ``rotation monitor --url ws://127.0.0.1:1/ws`` shows (real client, no server)."""
    app = RotationMonitor("ws://127.0.0.1:1/ws")
    async with app.run_test(size=(80, 24)) as pilot:
        status = app.query_one(StatusLine)
        await until(pilot, lambda: "retrying" in status.plain, "a retry")
        assert status.plain.startswith("○ cannot connect to ws://127.0.0.1:1/ws, retrying")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
