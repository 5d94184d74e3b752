"""The monitor's widgets, each fed with decoded gateway messages."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.text import Text
from textual.widgets import DataTable, Static

SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float]) -> str:
    """Unicode block sparkline of ``values`` scaled to their own range."""
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = hi - lo or 1.0
    return "".join(SPARK[min(7, int((v - lo) / span * 8))] for v in values)


try:
    MARKET_TIME: tzinfo = ZoneInfo("America/New_York")
    MARKET_TIME_LABEL = "ET"
except ZoneInfoNotFoundError:  # no tz database on this machine
    MARKET_TIME, MARKET_TIME_LABEL = UTC, "UTC"


def event_time(micros: int) -> str:
    """Event time in New York market time, to the minute."""
    return datetime.fromtimestamp(micros / 1e6, MARKET_TIME).strftime("%Y-%m-%d %H:%M")


class RelativeStrengthTable(DataTable):
    """One row per pair: RS, its SMA, distance from it, change, state and a sparkline."""

    HISTORY = 40

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_columns("pair", "RS", "vs SMA %", "chg %", "state", "trend")
        self.history: dict[str, deque[float]] = {}

    def show(self, snapshot: dict[str, Any]) -> None:
        """Update the row of a pair snapshot (``kind == "pair"``)."""
        pair = snapshot["pair"]
        name = snapshot["subject"].removeprefix("pair:")
        line = self.history.setdefault(name, deque(maxlen=self.HISTORY))
        line.append(pair["rs"])
        vs = pair.get("rs_vs_sma_pct")
        chg = pair.get("rs_change_pct")
        above = pair.get("above_sma")
        colour = "green" if (vs or 0) > 0 else "red" if (vs or 0) < 0 else "white"
        cells = (
            Text(name, style="bold"),
            Text(f"{pair['rs']:.4f}"),
            Text("warming" if vs is None else f"{vs:+.2f}", style=colour),
            Text("" if chg is None else f"{chg:+.2f}", style="green" if (chg or 0) > 0 else "red"),
            Text(
                {True: "above", False: "below", None: "-"}[above],
                style={True: "green", False: "red", None: "dim"}[above],
            ),
            Text(sparkline(list(line)), style=colour),
        )
        if name in self.rows:
            for column, cell in zip(self.columns, cells, strict=True):
                self.update_cell(name, column, cell, update_width=True)
        else:
            self.add_row(*cells, key=name)


class SignalLog(DataTable):
    """Signals, newest first."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_columns(
            f"event time ({MARKET_TIME_LABEL})", "kind", "subject", "dir", "score", "summary"
        )
        self.count = 0
        self.signals: list[dict[str, Any]] = []

    def add(self, signal: dict[str, Any]) -> None:
        if signal["id"] in self.rows:
            return
        self.count += 1
        self.signals.append(signal)
        up = signal["direction"] == "up"
        self.add_row(
            event_time(signal["window_end"]),
            signal["kind"],
            Text(signal["subject"], style="bold"),
            Text("▲ up" if up else "▼ down", style="green" if up else "red"),
            f"{signal['score']:.2f}",
            signal["summary"],
            key=signal["id"],
        )
        self.sort(next(iter(self.columns)), reverse=True)


class StatusLine(Static):
    """Connection state, event time of the latest data and message counts."""

    def on_mount(self) -> None:
        self.connection = "connecting"
        self.event_ts: int | None = None
        self.metrics = 0
        self.signals = 0
        self.refresh_text()

    def refresh_text(self) -> None:
        when = f"{event_time(self.event_ts)} {MARKET_TIME_LABEL}" if self.event_ts else "-"
        live = self.connection.startswith("connected")
        state = "[green]● live[/]" if live else f"[yellow]○ {self.connection}[/]"
        self.update(f"{state} | {when} | metrics {self.metrics} | signals {self.signals}")
