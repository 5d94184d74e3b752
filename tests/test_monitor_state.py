"""The monitor's state and text rendering, fed with recorded gateway messages (no Textual)."""

from __future__ import annotations

import copy

import pytest

from monitor.render import (
    RRGPoint,
    advance_decline_bar,
    duration,
    rate,
    rrg_canvas,
    sparkline,
)
from monitor.state import RATE_WINDOW, MonitorState, SignalFilter
from streams.records import Signal
from tests.fixtures.recorded import URL, ThroughClient, recorded_messages, sent_at

CONFIGURED = ["IWM/QQQ", "small_caps/mega_cap_tech", "RSP/SPY"]
GROUP_PAIRS = ["small_caps/SPY", "mega_cap_tech/SPY"]


def fed(messages=None) -> ThroughClient:
    state = ThroughClient(URL)
    state.on_status(f"connected to {URL}")
    for message in recorded_messages() if messages is None else messages:
        state.receive(message, sent_at(message) or 0.0)
    return state


def data_messages(kind: str) -> list[dict]:
    return [m for m in recorded_messages() if m["type"] == kind]


def metrics_of(subject: str) -> list[dict]:
    return [m for m in data_messages("metrics") if m["data"]["subject"] == subject]


def test_recorded_messages_fill_pairs_groups_and_signals():
    state = fed()
    assert [p.name for p in state.visible_pairs()] == CONFIGURED + GROUP_PAIRS
    assert set(state.groups) == {"small_caps", "mega_cap_tech"}
    iwm = metrics_of("pair:IWM/QQQ")
    view = state.pairs["IWM/QQQ"]
    assert view.rs_line == [m["data"]["pair"]["rs"] for m in iwm]
    assert view.latest.ts == iwm[-1]["data"]["ts"]
    assert state.latest_ts == max(m["data"]["ts"] for m in data_messages("metrics"))
    assert state.metrics_received == len(data_messages("metrics"))
    assert state.ignored == 0 and state.errors == []


def test_symbols_join_the_pairs_only_when_asked():
    state = fed()
    symbols = [p.name for p in state.pairs.values() if p.origin == "symbol_vs_benchmark"]
    assert symbols and not set(symbols) & {p.name for p in state.visible_pairs()}
    state.toggle_symbols()
    shown = [p.name for p in state.visible_pairs()]
    assert shown[:5] == CONFIGURED + GROUP_PAIRS
    assert sorted(shown[5:]) == sorted(symbols)


def test_signals_are_newest_first_by_event_time():
    state = fed()
    state.toggle_detail()
    shown = state.newest_signals(SignalFilter())
    recorded = [m["data"] for m in data_messages("signal")]
    assert {s.id for s in shown} == {s["id"] for s in recorded}
    assert [s.ts for s in shown] == sorted((s["ts"] for s in recorded), reverse=True)


def test_a_snapshot_after_a_reconnect_repeats_nothing():
    state = fed()
    lines = {name: list(view.history) for name, view in state.pairs.items()}
    latest = {}
    for message in data_messages("metrics"):
        latest[message["data"]["subject"]] = message
    signals = data_messages("signal")
    state.on_status("disconnected (gateway closed the connection); retrying in 0.2 s")
    state.on_status(f"connected to {URL}")
    welcome = recorded_messages()[0]
    assert welcome["type"] == "welcome"
    replay = [
        welcome,
        snapshot_header("metrics", len(latest)),
        *latest.values(),
        snapshot_header("signals", len(signals)),
        *signals,
    ]
    for message in replay:
        state.receive(message, 0.0)
    assert {name: list(view.history) for name, view in state.pairs.items()} == lines
    assert len(state.signals) == len(signals)
    assert state.signals_received == len(signals)
    assert state.ignored == 0


def test_a_resume_continues_the_rs_line_exactly():
    messages = recorded_messages()
    middle = len(messages) // 2
    whole = fed(messages)
    resumed = fed(messages[:middle])
    resumed.on_status("disconnected (ConnectionClosedError: no close frame); retrying in 1.0 s")
    resumed.on_status(f"connected to {URL}")
    for channel in ("metrics", "signals"):
        rest = [m for m in messages[middle:] if m.get("channel") == channel]
        header = {
            "type": "resumed",
            "channel": channel,
            "epoch": rest[0]["epoch"],
            "from_seq": rest[0]["seq"],
            "to_seq": rest[-1]["seq"],
            "count": len(rest),
        }
        for message in [header, *rest]:
            resumed.receive(message, 0.0)
    assert resumed.ignored == 0
    for name, view in whole.pairs.items():
        assert list(resumed.pairs[name].history) == list(view.history)


def test_an_older_copy_never_replaces_newer_data():
    state = fed()
    first = metrics_of("pair:IWM/QQQ")[0]
    before = state.pairs["IWM/QQQ"].latest
    state.receive(first, 0.0)
    assert state.pairs["IWM/QQQ"].latest == before


def test_unknown_and_malformed_messages_are_counted_and_skipped():
    state = fed()
    broken = copy.deepcopy(metrics_of("group:small_caps")[-1])
    broken["data"]["group"]["advancers"] = "many"
    for message in [
        {"type": "mystery", "payload": 1},
        {"type": "metrics"},
        broken,
        {"type": "signal", "channel": "signals", "data": {"id": "nope"}},
        {"no": "type"},
    ]:
        state.receive(message, 0.0)
    assert state.ignored == 5
    assert state.pairs and state.groups["small_caps"].stats.advancers != "many"


def test_gateway_errors_are_kept_for_the_screen():
    state = fed()
    state.receive({"type": "error", "code": "rate_limited", "message": "slow down"}, 0.0)
    assert state.errors == ["rate_limited: slow down"]


def snapshot_header(channel: str, count: int) -> dict:
    """The header of a snapshot of ``channel`` whose next ``count`` messages follow."""
    epoch = next(m["epoch"] for m in recorded_messages() if m.get("channel") == channel)
    return {"type": "snapshot", "channel": channel, "epoch": epoch, "seq": 9, "count": count}


def metrics_message(ts: int, subject: str, ticks: int, channel: str = "metrics") -> dict:
    template = copy.deepcopy(metrics_of("pair:RSP/SPY")[-1])
    template["channel"] = channel
    template["data"].update(ts=ts, subject=subject, interval_ticks=ticks)
    return template


def test_ticks_per_second_count_each_interval_once():
    state = ThroughClient(URL)
    for subject in ("pair:A/B", "pair:C/D", "pair:E/F"):
        state.receive(metrics_message(1_000_000_000, subject, 600), 100.0)
    state.receive(metrics_message(1_000_900_000, "pair:A/B", 400), 102.0)
    assert state.ticks_per_second(102.0) == pytest.approx(1000 / 2.0)
    assert state.ticks_per_second(102.0 + RATE_WINDOW + 1) == 0


def test_snapshot_and_replayed_messages_are_not_live_flow():
    state = ThroughClient(URL)
    state.receive(snapshot_header("metrics", 2), 100.0)
    state.receive(metrics_message(1_000_000_000, "pair:A/B", 600), 100.0)
    state.receive(metrics_message(1_000_900_000, "pair:A/B", 600), 100.0)
    assert state.ticks_per_second(100.0) == 0
    state.receive(metrics_message(1_001_800_000, "pair:A/B", 300), 101.0)
    assert state.ticks_per_second(101.0) == 300


def test_signals_per_second_count_new_ids_only():
    state = ThroughClient(URL)
    for second, message in enumerate(data_messages("signal")[:5]):
        state.receive(message, 100.0 + second)
        state.receive(message, 100.0 + second)
    assert state.signals_per_second(104.0) == pytest.approx(5 / 4.0)


def test_lag_is_the_wall_clock_minus_the_newest_event_time():
    state = fed()
    assert state.lag(state.latest_ts / 1e6 + 90.0) == pytest.approx(90.0)
    assert MonitorState(URL).lag(0.0) is None


def test_a_refused_connection_reads_cannot_connect_and_retrying():
    state = MonitorState("ws://127.0.0.1:1/ws")
    assert state.connection.describe() == "connecting to ws://127.0.0.1:1/ws"
    state.on_status(
        "disconnected (OSError: [Errno 111] Connect call failed ('127.0.0.1', 1)); "
        "retrying in 0.2 s"
    )
    assert state.connection.describe() == (
        "cannot connect to ws://127.0.0.1:1/ws, retrying in 0.2 s: "
        "OSError: [Errno 111] Connect call failed ('127.0.0.1', 1)"
    )


def test_a_lost_connection_reads_reconnecting_and_data_marks_it_live():
    state = ThroughClient(URL)
    state.on_status(f"connected to {URL}")
    state.on_status("disconnected (gateway closed the connection); retrying in 1.3 s")
    assert state.connection.describe() == (
        f"reconnecting to {URL}, retrying in 1.3 s: gateway closed the connection"
    )
    state.on_status("something the client says in a later version")
    assert state.connection.describe().startswith(f"reconnecting to {URL}, retrying")
    state.receive(metrics_of("pair:IWM/QQQ")[-1], 0.0)
    assert state.connection.phase == "live"


def test_a_shutdown_notice_shows_until_the_next_status():
    state = fed()
    state.receive({"type": "shutdown", "code": 1012, "message": "restarting"}, 0.0)
    assert "gateway stopping: restarting" in state.connection.describe()
    state.on_status("disconnected (gateway closed the connection); retrying in 0.2 s")
    assert "stopping" not in state.connection.describe()


def test_signal_filter_words_exclusions_and_minimum_score():
    signals = [Signal(**m["data"]) for m in data_messages("signal")]  # type: ignore[arg-type]
    kinds = {s.kind for s in signals}
    only_thrusts = SignalFilter.parse("thrust")
    assert {s.kind for s in signals if only_thrusts.matches(s)} == {"breadth_thrust"}
    no_spy = SignalFilter.parse("-spy")
    assert all("SPY" not in s.subject for s in signals if no_spy.matches(s))
    strong = SignalFilter.parse("score>=2")
    assert 0 < sum(strong.matches(s) for s in signals) < len(signals)
    assert all(s.score >= 2 for s in signals if strong.matches(s))
    assert SignalFilter.parse(">=2").min_score == 2.0
    assert all(SignalFilter.parse("").matches(s) for s in signals) and len(kinds) > 3
    both = SignalFilter.parse("IWM rotation")
    assert [s.kind for s in signals if both.matches(s)] == ["rotation_regime"]


def test_pair_and_group_selection_cycle_and_wrap():
    state = fed()
    assert state.current_pair().name == "IWM/QQQ"
    state.step_pair(1)
    assert state.current_pair().name == "small_caps/mega_cap_tech"
    state.step_pair(-2)
    assert state.current_pair().name == "mega_cap_tech/SPY"
    assert state.current_group().name == "small_caps"
    state.step_group(1)
    state.step_group(1)
    assert state.current_group().name == "small_caps"


def test_a_breadth_thrust_is_remembered_in_bars():
    state = fed()
    thrust = copy.deepcopy(metrics_of("group:small_caps")[-1])
    thrust["data"]["ts"] += 900_000_000
    thrust["data"]["bars"] += 1
    thrust["data"]["group"]["zweig_thrust"] = True
    later = copy.deepcopy(thrust)
    later["data"]["ts"] += 2 * 900_000_000
    later["data"]["bars"] += 2
    later["data"]["group"]["zweig_thrust"] = False
    state.receive(thrust, 0.0)
    assert state.groups["small_caps"].bars_since_thrust == 0
    state.receive(later, 0.0)
    assert state.groups["small_caps"].bars_since_thrust == 2


# Rendering -------------------------------------------------------------------------


def test_sparkline_scales_the_last_values_to_their_range():
    assert sparkline([1, 2, 3, 4, 5, 6, 7, 8], 8) == "▁▂▃▄▅▆▇█"
    assert sparkline([9, 9, 1, 2], 2) == "▁█"
    assert sparkline([5.0, 5.0, 5.0], 3) == "▄▄▄"
    assert sparkline([], 5) == "" and sparkline([1.0], 0) == ""


def test_advance_decline_bar_splits_its_width():
    bar = advance_decline_bar(3, 1, 1, 10)
    assert bar.plain == "██████░░██"
    assert [(span.style, span.end - span.start) for span in bar.spans] == [
        ("green", 6),
        ("grey62", 2),
        ("red", 2),
    ]
    assert advance_decline_bar(0, 0, 0, 4).plain == "····"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.42, "0.4 s"), (12.4, "12 s"), (300, "5 m"), (12000, "3 h 20 m"), (86400 * 72, "72 d")],
)
def test_durations_read_in_their_largest_unit(seconds, text):
    assert duration(seconds) == text
    assert duration(-seconds) == "-" + text


def test_rates_keep_the_digits_that_matter():
    assert (rate(6912.4), rate(56.74), rate(0.04)) == ("6,912", "56.7", "0.0")


def test_rrg_canvas_puts_points_in_their_quadrants():
    points = [
        RRGPoint("LEAD", 100.5, 100.5, "leading"),
        RRGPoint("LAG", 99.0, 99.0, "lagging"),
        RRGPoint("IMPR", 99.5, 100.5, "improving", tail=((99.8, 100.2), (99.5, 100.5))),
    ]
    lines, axes = rrg_canvas(points, 40, 11, selected="LAG")
    text = [line.plain for line in lines]
    assert text[0].startswith("improving") and text[0].endswith("leading")
    assert text[-1].startswith("lagging") and text[-1].endswith("weakening")
    assert text[5][19] == "┼"
    row_of = {
        label: next(i for i, t in enumerate(text) if label in t) for label in ("LEAD", "IMPR")
    }
    assert row_of["LEAD"] < 5 and row_of["IMPR"] < 5
    assert text[row_of["LEAD"]].index("LEAD") > 19 and text[row_of["IMPR"]].index("IMPR") < 19
    lag_row = next(i for i, t in enumerate(text) if "◆" in t)
    assert lag_row > 5 and "LAG" in text[lag_row]
    assert "·" in "".join(text)
    assert axes.ratio_span == pytest.approx(1.1) and axes.momentum_span == pytest.approx(1.1)
