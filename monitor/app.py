"""The Textual app: the regime headline, relative strength, breadth, recent quotes, the
signal log and the rotation graph, fed by a :class:`gateway.client.GatewayClient`.

Network I/O runs in a worker task and only updates :class:`monitor.state.MonitorState`;
the panels are redrawn from that state a few times a second, so a flood of messages
costs no screen work and the screen stays responsive while the gateway is away. The
client reconnects by itself; every failure becomes a line in the status bar, never a
traceback.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Protocol

from textual.app import App, ComposeResult, ScreenStackError
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widgets import DataTable, Footer, Input

from gateway.client import Event
from monitor.headline import DEFAULT_REGIME_PAIRS
from monitor.quotes import DEFAULT_QUOTES
from monitor.screens import EvidenceScreen, HelpScreen
from monitor.state import LEVELS, MonitorState, SignalFilter
from monitor.widgets import (
    BreadthTable,
    PairDetail,
    QuoteTable,
    RegimeHeadline,
    RelativeStrengthTable,
    RotationGraph,
    SignalLog,
    StatusLine,
)

REDRAW_SECONDS = 0.25
"""How often the panels are redrawn from the state (when it changed)."""
RESTART_SECONDS = 2.0
"""Pause before a new client after the client itself failed unexpectedly."""
YIELD_EVERY = 100
"""Messages handled before the listener lets the screen run (a snapshot is a burst)."""


class EventSource(Protocol):
    """What the monitor needs of a gateway client (``GatewayClient`` is one)."""

    def events(self) -> AsyncIterator[Event]: ...


class RotationMonitor(App[None]):
    """The live terminal monitor of a rotation gateway."""

    TITLE = "rotation"
    ENABLE_COMMAND_PALETTE = False
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]
    CSS = """
    #main { height: 1fr; }
    #upper { height: auto; background: $surface; }
    #tables { height: auto; width: 1fr; }
    RelativeStrengthTable { max-height: 40vh; }
    BreadthTable { max-height: 25vh; }
    QuoteTable { width: 44; max-height: 65vh; border-left: vkey $primary-darken-2; }
    Screen.-narrow QuoteTable { display: none; }
    Screen.-narrow #main.-swap-quotes QuoteTable { display: block; width: 1fr; border-left: none; }
    Screen.-narrow #main.-swap-quotes #tables { display: none; }
    Screen.-wide #main.-swap-quotes QuoteTable { display: none; }
    #lower { height: 1fr; }
    #log-column { width: 1fr; }
    #graph-column { width: 40%; min-width: 30; max-width: 80; }
    RelativeStrengthTable, BreadthTable, QuoteTable, SignalLog, RotationGraph, PairDetail {
        border-top: solid $primary;
        border-title-color: $text-accent;
        border-title-style: bold;
        border-subtitle-color: $text-muted;
        background: $surface;
    }
    RotationGraph, PairDetail { border-left: vkey $primary-darken-2; }
    RelativeStrengthTable:focus, BreadthTable:focus, QuoteTable:focus, SignalLog:focus {
        border-top: solid $accent;
    }
    #filter { display: none; height: 1; border: none; padding: 0 1; }
    #filter.-visible { display: block; }
    Screen.-narrow PairDetail, Screen.-short PairDetail { display: none; }
    """
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("p", "pause", "Pause"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("n", "pair(1)", "Pair"),
        Binding("N", "pair(-1)", "Previous pair", show=False),
        Binding("g", "group(1)", "Group", show=False),
        Binding("G", "group(-1)", "Previous group", show=False),
        Binding("s", "symbols", "Symbols"),
        Binding("d", "detail", "Detail"),
        Binding("r", "quotes", "Quotes"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(
        self,
        url: str,
        *,
        exit_after: float | None = None,
        watchdog: Callable[[], str | None] | None = None,
        source: Callable[[str], EventSource] | None = None,
        clock: Callable[[], float] = time.time,
        quotes: Iterable[str] = DEFAULT_QUOTES,
        regime_pairs: Iterable[str] = DEFAULT_REGIME_PAIRS,
    ) -> None:
        """``url``: the gateway's websocket URL. ``exit_after``: quit after this many
        seconds. ``watchdog``: called every second; a non-empty answer is a problem
        that ends the app (kept in ``problem``). ``source``: makes the event source
        for ``url`` (default: a reconnecting ``GatewayClient``). ``clock``: wall time
        in seconds, for the lag and the rates. ``quotes``: the symbols of the quote
        panel. ``regime_pairs``: the pairs the headline always lists."""
        super().__init__()
        self.url = url
        self.exit_after = exit_after
        self.watchdog = watchdog
        self.source = source or _gateway_client
        self.clock = clock
        self.state = MonitorState(url, quotes=quotes, regime_pairs=regime_pairs)
        self.signal_filter = SignalFilter()
        self.problem: str | None = None
        self.paused = False
        self.listening = True
        """False once the event source has ended (recorded messages) or given up."""
        self._drawn_version = -1

    def compose(self) -> ComposeResult:
        yield RegimeHeadline(id="headline")
        with Vertical(id="main"):
            with Horizontal(id="upper"):
                with Vertical(id="tables"):
                    yield RelativeStrengthTable(id="rs")
                    yield BreadthTable(id="breadth")
                yield QuoteTable(id="quotes")
            with Horizontal(id="lower"):
                with Vertical(id="log-column"):
                    yield Input(
                        placeholder="filter: words, -word, score>=1, level:detail", id="filter"
                    )
                    yield SignalLog(id="signals")
                with Vertical(id="graph-column"):
                    yield RotationGraph(id="rrg")
                    yield PairDetail(id="detail")
        yield StatusLine(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(SignalLog).focus()
        self.run_worker(self._listen(), exclusive=True, name="gateway", exit_on_error=False)
        self.set_interval(REDRAW_SECONDS, self._tick)
        if self.exit_after:
            self.set_timer(self.exit_after, self.exit)
        if self.watchdog:
            self.set_interval(1.0, self._check_watchdog)
        self.redraw()

    # The gateway ----------------------------------------------------------------

    async def _listen(self) -> None:
        while True:
            try:
                handled = 0
                async for kind, payload in self.source(self.url).events():
                    try:
                        self.handle_event(kind, payload)
                    except Exception:  # one message the monitor cannot show is not fatal
                        self.state.ignored += 1
                    handled += 1
                    if handled % YIELD_EVERY == 0:
                        await asyncio.sleep(0)
                self.listening = False
                return
            except asyncio.CancelledError:
                raise
            except ValueError as exc:  # a URL the client cannot use: retrying will not help
                self.state.on_failure(str(exc))
                self.listening = False
                self.redraw()
                return
            except Exception as exc:  # never a traceback on screen; start a new client
                self.state.on_status(
                    f"disconnected ({type(exc).__name__}: {exc}); "
                    f"retrying in {RESTART_SECONDS:.1f} s"
                )
                self.redraw()
                await asyncio.sleep(RESTART_SECONDS)

    def handle_event(self, kind: str, payload: Any) -> None:
        """One event of the client: ``("status", text)``, or ``("message", message)``
        and ``("catch_up", message)`` with a typed message of the gateway."""
        if kind == "status":
            self.state.on_status(str(payload))
            self._show_status()
        elif kind in ("message", "catch_up"):
            errors = len(self.state.errors)
            self.state.apply(payload, self.clock(), catch_up=kind == "catch_up")
            for error in self.state.errors[errors:]:
                self.notify(error, title="gateway", severity="error")

    def _check_watchdog(self) -> None:
        if self.watchdog and (problem := self.watchdog()):
            self.problem = problem
            self.exit()

    # Drawing --------------------------------------------------------------------

    def _tick(self) -> None:
        try:
            if not self.paused and self.state.version != self._drawn_version:
                self.redraw()
            else:
                self._show_status()
        except (NoMatches, ScreenStackError):
            pass  # a tick that fired while the app shuts down and its widgets are gone

    def redraw(self) -> None:
        """Draw every panel from the state now (the app also does it on its own)."""
        self._show_status()
        if self.paused:
            return
        state = self.state
        self._drawn_version = state.version
        pair = state.current_pair()
        group = state.current_group()
        pairs = state.visible_pairs()
        self.query_one(RegimeHeadline).show(state.regime_headline())
        self.query_one(RelativeStrengthTable).show(pairs, pair.name if pair else None)
        self.query_one(QuoteTable).show(state.quote_rows())
        self.query_one(BreadthTable).show(state.visible_groups(), group.name if group else None)
        self.query_one(RotationGraph).show(pairs, pair)
        self.query_one(PairDetail).show(pair)
        self._draw_signals()

    def _draw_signals(self) -> None:
        state = self.state
        log = self.query_one(SignalLog)
        log.show(state.newest_signals(self.signal_filter))
        levels = state.shown_levels(self.signal_filter)
        title = "Signals (newest first)"
        if levels != set(LEVELS):
            title += " · " + " + ".join(level for level in LEVELS if level in levels)
        if self.signal_filter.text:
            shown = log.row_count
            total = sum(signal.level in levels for signal in state.signals.values())
            title += f" · filter “{self.signal_filter.text}”: {shown} of {total}"
        log.border_title = title

    def _show_status(self) -> None:
        self.query_one(StatusLine).show(self.state, self.clock(), paused=self.paused)

    # Keys -----------------------------------------------------------------------

    def action_pause(self) -> None:
        self.paused = not self.paused
        self.redraw()

    def action_pair(self, step: int) -> None:
        self.state.step_pair(step)
        self.redraw()

    def action_group(self, step: int) -> None:
        self.state.step_group(step)
        self.redraw()

    def action_symbols(self) -> None:
        self.state.toggle_symbols()
        self.redraw()

    def action_detail(self) -> None:
        self.state.toggle_detail()
        self._draw_signals()

    def action_quotes(self) -> None:
        self.query_one("#main").toggle_class("-swap-quotes")

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("-visible")
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.remove_class("-visible")
        self._set_filter("")
        self.query_one(SignalLog).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self._set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            if not event.value.strip():
                event.input.remove_class("-visible")
            self.query_one(SignalLog).focus()

    def _set_filter(self, text: str) -> None:
        self.signal_filter = SignalFilter.parse(text)
        self._draw_signals()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value if event.row_key else None
        if isinstance(event.data_table, RelativeStrengthTable) and key != self.state.selected_pair:
            self.state.selected_pair = key
            self.state.version += 1
        elif isinstance(event.data_table, BreadthTable) and key != self.state.selected_group:
            self.state.selected_group = key
            self.state.version += 1

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if isinstance(event.data_table, SignalLog):
            signal = event.data_table.shown.get(str(event.row_key.value))
            if signal is not None:
                self.push_screen(EvidenceScreen(signal))


def _gateway_client(url: str) -> EventSource:
    from gateway.client import GatewayClient

    return GatewayClient(url)
