"""The Textual app: RS table, signal log and status line, fed by a GatewayClient.

Network I/O runs in a worker task, so the screen stays responsive while the gateway
is unreachable; the client reconnects by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Footer, Header, Label

from gateway.client import GatewayClient
from monitor.widgets import RelativeStrengthTable, SignalLog, StatusLine

SHOWN_PAIRS = ("configured", "group_vs_benchmark")


class RotationMonitor(App[None]):
    TITLE = "rotation"
    SUB_TITLE = "small caps vs mega-cap tech"
    CSS = """
    #rs { height: auto; max-height: 50%; }
    #signals { height: 1fr; }
    .title { color: $accent; text-style: bold; padding: 0 1; }
    StatusLine { height: 1; background: $panel; padding: 0 1; }
    """
    BINDINGS = [Binding("q", "quit", "Quit"), Binding("p", "pause", "Pause")]

    def __init__(
        self,
        url: str,
        *,
        exit_after: float | None = None,
        watchdog: Callable[[], str | None] | None = None,
    ) -> None:
        super().__init__()
        self.url = url
        self.exit_after = exit_after
        self.watchdog = watchdog
        self.problem: str | None = None
        self.paused = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            yield Label("Relative strength", classes="title")
            yield RelativeStrengthTable(id="rs")
            yield Label("Signals (newest first)", classes="title")
            yield SignalLog(id="signals")
            yield StatusLine(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.run_worker(self._listen(), exclusive=True, name="gateway")
        if self.exit_after:
            self.set_timer(self.exit_after, self.exit)
        if self.watchdog:
            self.set_interval(1.0, self._check_watchdog)

    def _check_watchdog(self) -> None:
        if self.watchdog and (problem := self.watchdog()):
            self.problem = problem
            self.exit()

    async def _listen(self) -> None:
        async for kind, payload in GatewayClient(self.url).events():
            if kind == "status":
                self.on_status(payload)
            else:
                self.on_message_from_gateway(payload)

    def on_status(self, text: str) -> None:
        status = self.query_one(StatusLine)
        status.connection = text
        status.refresh_text()

    def on_message_from_gateway(self, message: dict[str, Any]) -> None:
        status = self.query_one(StatusLine)
        kind = message.get("type")
        if kind == "metrics":
            data = message["data"]
            status.metrics += 1
            status.event_ts = data["ts"]
            shown = data["kind"] == "pair" and data["pair"]["origin"] in SHOWN_PAIRS
            if shown and not self.paused:
                self.query_one(RelativeStrengthTable).show(data)
        elif kind == "signal":
            status.signals += 1
            self.query_one(SignalLog).add(message["data"])
        elif kind == "error":
            self.notify(message.get("message", "gateway error"), severity="error")
        status.refresh_text()

    def action_pause(self) -> None:
        self.paused = not self.paused
        self.sub_title = "paused" if self.paused else "small caps vs mega-cap tech"
