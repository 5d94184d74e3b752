"""The monitor's pop-up screens: a signal's evidence, and help with the key legend."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from monitor.render import MARKET_TIME_LABEL, event_time
from monitor.widgets import direction_text
from streams.records import Signal

KEYS: tuple[tuple[str, str], ...] = (
    ("q", "quit"),
    ("p", "pause the panels (data keeps arriving; p again shows the latest)"),
    ("/", "filter the signal log (Enter: back to the log, Esc: clear the filter)"),
    ("n / N", "next / previous pair: highlighted in the tables and on the RRG"),
    ("g / G", "next / previous group in the breadth table"),
    ("s", "show or hide the symbol-vs-benchmark pairs (table and RRG)"),
    ("d", "show or hide detail signals (single symbols) in the log"),
    ("r", "recent quotes: on a small terminal in place of the tables, else hide them"),
    ("Enter", "on a signal: its evidence"),
    ("Tab", "move between panels; arrows move in a panel"),
    ("?", "this help"),
)

PANELS: tuple[tuple[str, str], ...] = (
    (
        "Top line",
        "each regime pair's rotation regime: side (▲ into small caps, ▼ into mega caps), "
        "grade, since when, and the RS change since then; 'no regime' when none is held",
    ),
    (
        "Relative strength",
        "each pair's RS line (numerator / denominator), its change over the window, the "
        "z-score of its last move, whether it is above its moving average (with "
        "hysteresis) and a sparkline of the RS line; green rising, red falling",
    ),
    (
        "Breadth",
        "per group: advancers (green) and decliners (red), % of members above their "
        "moving average, new highs minus new lows, McClellan oscillator, and when the "
        "last Zweig breadth thrust fired",
    ),
    (
        "Signals",
        "newest first by event time; headline (★) and supporting signals, d adds "
        "detail ones; filter words match kind, subject, direction and summary; -word "
        "excludes; score>=1 keeps strong ones; level:detail, level:headline, level:all "
        "choose levels, -level:supporting drops one",
    ),
    (
        "Recent quotes",
        "last price, change since the previous close (%) and RS vs the benchmark: "
        "Mansfield RS, the RS line's distance from its moving average (%)",
    ),
    (
        "Rotation graph",
        "RS-Ratio across, RS-Momentum up, 100 in the middle; leading (top right), "
        "weakening, lagging, improving; each point with its tail of recent intervals",
    ),
    (
        "Status line",
        "gateway connection, event time of the newest data and its lag behind the wall "
        "clock, ticks/s and signals/s over the last 10 s",
    ),
)


def help_text() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, what in KEYS:
        table.add_row(key, what)
    table.add_row("", "")
    for panel, what in PANELS:
        table.add_row(panel, what)
    return table


class HelpScreen(ModalScreen[None]):
    """The key legend and what each panel shows."""

    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 100; height: auto; max-height: 90%;
        border: round $accent; padding: 0 1; background: $surface;
    }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = "Keys (Esc closes)"
            yield Static(help_text())


def evidence_table(signal: Signal) -> Table:
    """Every field of a signal, its evidence one figure a line."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_row("kind", signal.kind)
    table.add_row("subject", signal.subject)
    table.add_row("direction", direction_text(signal.direction))
    table.add_row("level", signal.level)
    table.add_row("score", f"{signal.score:.3f}")
    table.add_row(
        "window",
        f"{event_time(signal.window_start)} - {event_time(signal.window_end)} {MARKET_TIME_LABEL}",
    )
    table.add_row("event time", f"{event_time(signal.ts)} {MARKET_TIME_LABEL}")
    table.add_row("summary", signal.summary)
    table.add_row("id", Text(signal.id, style="dim"))
    table.add_row("", "")
    table.add_row(Text("evidence", style="bold underline"), "")
    for name, value in signal.evidence.items():
        table.add_row(name, _evidence_value(value))
    return table


def _evidence_value(value: float | str | None) -> str:
    if value is None:
        return "-"
    return f"{value:.6g}" if isinstance(value, float) else str(value)


class EvidenceScreen(ModalScreen[None]):
    """One signal in full: what fired, when, and the figures behind it."""

    BINDINGS = [Binding("escape,enter,q", "dismiss", "Close")]
    DEFAULT_CSS = """
    EvidenceScreen { align: center middle; }
    EvidenceScreen > VerticalScroll {
        width: 90%; max-width: 110; height: auto; max-height: 90%;
        border: round $accent; padding: 0 1; background: $surface;
    }
    """

    def __init__(self, signal: Signal) -> None:
        super().__init__()
        self.signal = signal

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = f"Signal evidence (Esc closes): {self.signal.subject}"
            yield Static(evidence_table(self.signal), id="evidence")
