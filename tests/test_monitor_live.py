"""The monitor against the real system: simulator -> Kafka -> worker -> gateway -> monitor.

Driven with Pilot on the session's ``system`` fixture (tests/conftest.py), asserting
what the screen shows; one test restarts its own gateway under the monitor.
"""

from __future__ import annotations

import asyncio
import time

from monitor.app import RotationMonitor
from monitor.quotes import DEFAULT_QUOTES
from monitor.widgets import (
    BreadthTable,
    QuoteTable,
    RegimeHeadline,
    RelativeStrengthTable,
    RotationGraph,
    SignalLog,
    StatusLine,
)
from rotation.config import load_universe
from rotation.up import Child
from streams.probe import free_port
from tests.helpers import wait_for_port

GROUPS = set(load_universe().groups)  # the shipped universe's, each with its breadth row
CONFIGURED = {p.name for p in load_universe().pairs}
WAIT = 120.0  # seconds: generous for a loaded 2-core machine; a guard, nothing is timed


async def until(pilot, condition, what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"the monitor never showed {what}"
        await pilot.pause(0.2)


async def test_monitor_shows_a_received_signal(system):
    app = RotationMonitor(system.gateway_url)
    async with app.run_test(size=(120, 36)) as pilot:
        log = app.query_one(SignalLog)
        rs = app.query_one(RelativeStrengthTable)
        breadth = app.query_one(BreadthTable)
        graph = app.query_one(RotationGraph)
        quotes = app.query_one(QuoteTable)
        headline = app.query_one(RegimeHeadline)
        await until(
            pilot,
            lambda: (
                log.row_count
                and rs.row_count >= 5
                # a group index needs a bar of every member: it comes last
                and "small_caps/mega_cap_tech" in [key.value for key in rs.rows]
                and breadth.row_count == len(GROUPS)
                and graph.points
                and quotes.row_count
                and "waiting" not in headline.plain
            ),
            "signals, pairs, groups, the rotation graph, quotes and the regime headline",
        )
        app.redraw()  # the state may have moved on since the last redraw; now they agree
        newest = log.highlighted()
        assert newest is not None and newest.id in app.state.signals
        row = log.get_row(newest.id)
        assert newest.subject.split(":", 1)[1][:10] in row[2].plain
        assert app.state.newest_signals(app.signal_filter, limit=1)[0].id == newest.id
        shown_pairs = [key.value for key in rs.rows]
        configured = [name for name in shown_pairs if name in CONFIGURED]
        assert shown_pairs[: len(configured)] == configured  # configured pairs come first
        assert {"IWM/QQQ", "small_caps/mega_cap_tech", "RSP/SPY"} <= set(configured)
        rs_cell = rs.get_row("IWM/QQQ")[1].plain
        assert float(rs_cell) > 0
        assert {key.value for key in breadth.rows} == GROUPS
        assert {p.label for p in graph.points} <= {*shown_pairs, *GROUPS}
        status = app.query_one(StatusLine).plain
        assert status.startswith("● live │ ") and " ticks/s │ " in status
        symbols = [key.value for key in quotes.rows]
        assert symbols == [s for s in DEFAULT_QUOTES if s in symbols]
        assert headline.region.y == 0
        assert (
            headline.plain.startswith("IWM/QQQ ") and "small_caps/mega_cap_tech " in headline.plain
        )
        await pilot.press("q")


async def test_monitor_rides_through_a_gateway_restart(system, tmp_path):
    """The gateway goes away and comes back on the same port: the panels keep their
    data meanwhile, the status line says what is happening, and afterwards every
    pair's RS line goes on interval by interval, with nothing missing or repeated."""
    port = free_port()
    env = {"KAFKA_BOOTSTRAP": system.bootstrap, "PYTHONUNBUFFERED": "1"}

    def start_gateway(name: str) -> Child:
        child = Child(name, ["gateway", "--port", str(port)], env, tmp_path, None, time.monotonic())
        wait_for_port(port)
        return child

    gateway = await asyncio.to_thread(start_gateway, "gateway-1")
    app = RotationMonitor(f"ws://127.0.0.1:{port}/ws")
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            state = app.state
            # Keep every signal: on a busy machine the session's system has sent
            # thousands, and the display bound (1,000) would evict some from before.
            state.max_signals = 1_000_000
            rs = app.query_one(RelativeStrengthTable)
            await until(
                pilot,
                lambda: "IWM/QQQ" in state.pairs and len(state.pairs["IWM/QQQ"].history) >= 3,
                "a few intervals of IWM/QQQ",
            )
            await asyncio.to_thread(gateway.stop)
            await until(
                pilot,
                lambda: state.connection.phase == "retrying",
                "that the gateway went away",
            )
            app.redraw()
            assert app.query_one(StatusLine).plain.startswith(f"○ reconnecting to {app.url}")
            assert rs.row_count >= 5  # the last data stays on screen
            before = state.pairs["IWM/QQQ"].latest.ts
            signals_before = set(state.signals)

            gateway = await asyncio.to_thread(start_gateway, "gateway-2")
            await until(
                pilot,
                lambda: (
                    state.connection.phase == "live" and state.pairs["IWM/QQQ"].latest.ts > before
                ),
                "new data after the restart",
            )
            app.redraw()
            assert app.query_one(StatusLine).plain.startswith("● live")
            assert signals_before <= set(state.signals)
            for name in ("IWM/QQQ", "small_caps/mega_cap_tech", "RSP/SPY"):
                numbers = [point.bars for point in state.pairs[name].history]
                assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), (
                    f"{name}: the RS line has a gap or a repeat across the restart"
                )
            await pilot.press("q")
    finally:
        await asyncio.to_thread(gateway.stop)
