"""The monitor's widgets: one class each, drawn from :class:`monitor.state.MonitorState`.

Every panel has a ``show(...)`` that takes plain views and draws them; none of them
talks to the network or keeps a clock, so each can be tested alone with recorded
messages. The tables choose their columns from their own width: a narrow terminal
gets the essentials, a wide one every figure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.widget import Widget
from textual.widgets import DataTable

from monitor.headline import UPWARD_SIDES, RegimeView, split_regime
from monitor.quotes import QuoteView
from monitor.render import (
    DOWN,
    FLAT,
    MARKET_TIME_LABEL,
    QUADRANT_STYLE,
    UP,
    RRGPoint,
    advance_decline_bar,
    direction_style,
    duration,
    event_time,
    rate,
    rrg_canvas,
    signed,
    since_time,
    sparkline,
)
from monitor.state import GroupView, MonitorState, PairView
from streams.records import Signal


@dataclass(frozen=True)
class Column:
    """A table column: content ``width``; ``flex`` columns share what is left."""

    key: str
    label: str
    width: int
    priority: int = 0
    """Columns of lower priority are dropped first (highest number) when space is short."""
    flex: bool = False
    max_width: int = 200


CELL_PADDING = 2  # DataTable pads each cell by one on both sides


def fit_columns(columns: Sequence[Column], available: int) -> list[tuple[Column, int]]:
    """The columns that fit in ``available`` cells, in their order, with their widths."""
    chosen: set[str] = set()
    used = 0
    for column in sorted(columns, key=lambda c: c.priority):
        need = column.width + CELL_PADDING
        if used + need <= available or column.priority == 0:
            chosen.add(column.key)
            used += need
    flexible = [c for c in columns if c.flex and c.key in chosen]
    spare = max(0, available - used)
    widths: dict[str, int] = {}
    for i, column in enumerate(flexible):
        share = spare // (len(flexible) - i)
        widths[column.key] = min(column.max_width, column.width + share)
        spare -= widths[column.key] - column.width
    return [(c, widths.get(c.key, c.width)) for c in columns if c.key in chosen]


class Panel(DataTable):
    """A DataTable whose columns follow its width and whose rows are redrawn by key.

    Subclasses say which columns they have (``column_specs``) and build the cells of
    their rows for the widths chosen (``build_rows``); ``redraw`` does the rest.
    """

    DEFAULT_CSS = """
    Panel {
        height: auto;
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", cursor_foreground_priority="renderable")
        self._layout: list[tuple[Column, int]] = []
        self.cursor_key: str | None = None

    def column_specs(self, width: int) -> Sequence[Column]:
        raise NotImplementedError

    def build_rows(self, widths: dict[str, int]) -> Iterable[tuple[str, dict[str, Text]]]:
        """(row key, cells by column key) of every row, in order."""
        raise NotImplementedError

    @property
    def widths(self) -> dict[str, int]:
        return {column.key: width for column, width in self._layout}

    def on_resize(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        width = self.size.width or (self.app.size.width if self.is_attached else 80)
        # Keep room for the vertical scrollbar, so a long table never scrolls sideways.
        available = width - self.styles.scrollbar_size_vertical
        layout = fit_columns(self.column_specs(available), available)
        if layout != self._layout:
            self._layout = layout
            self.clear(columns=True)
            for column, column_width in layout:
                self.add_column(column.label, width=column_width, key=column.key)
        rows = list(self.build_rows(self.widths))
        keys = [key for key, _ in rows]
        if [str(key.value) for key in self.rows] != keys:
            self.clear()
            for key, cells in rows:
                self.add_row(*self._cells(cells), key=key)
        else:
            for key, cells in rows:
                for (column, _), cell in zip(self._layout, self._cells(cells), strict=True):
                    self.update_cell(key, column.key, cell)
        if self.cursor_key in keys:
            index = keys.index(self.cursor_key)
            if index != self.cursor_row:
                self.move_cursor(row=index, animate=False)

    def _cells(self, cells: dict[str, Text]) -> list[Text]:
        return [cells.get(column.key, Text("")) for column, _ in self._layout]


def _rs_text(rs: float) -> str:
    """RS to four significant digits (a group index against SPY is about 0.0013)."""
    if rs <= 0 or not math.isfinite(rs):
        return f"{rs:g}"
    return f"{rs:.{min(8, max(0, 3 - math.floor(math.log10(rs))))}f}"


def _regime_text(regime: str | None) -> Text:
    side, grade = split_regime(regime)
    if side is None:
        return Text("-", style="dim")
    style = UP if side in UPWARD_SIDES else DOWN
    grade_text = (grade or "").replace("_", " ")
    return Text(f"{side.replace('_', ' ')} ({grade_text})", style=f"bold {style}")


def _words(name: str) -> str:
    return name.replace("_", " ")


class RegimeHeadline(Widget):
    """The top line: each regime pair's side and grade, since when, and its RS change
    since then (one line, or one line per pair when they do not fit side by side)."""

    DEFAULT_CSS = """
    RegimeHeadline { height: auto; padding: 0 1; background: $boost; }
    """
    SEPARATOR = "   "

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.views: list[RegimeView] = []

    def show(self, views: Sequence[RegimeView]) -> None:
        self.views = list(views)
        self.refresh(layout=True)

    @property
    def plain(self) -> str:
        return "\n".join(line.plain for line in self.lines(self.content_size.width or 80))

    @staticmethod
    def entry(view: RegimeView, *, full: bool = True) -> Text:
        """``IWM/QQQ ▲ into small caps · rotation · since 2026-01-06 · RS +5.30%``;
        without a regime ``IWM/QQQ no regime``, and when ``full``, the last call."""
        out = Text(view.pair, style="bold")
        if not view.held:
            if not view.has_data:
                return out.append(" waiting for data", style="dim")
            out.append(" no regime", style=FLAT)
            call = view.last_call
            if full and call is not None and view.bar_seconds is not None:
                up = call.direction in UPWARD_SIDES
                grade = call.evidence.get("grade")
                out.append(" (last call ", style="dim")
                out.append("▲ " if up else "▼ ", style=UP if up else DOWN)
                out.append(_words(str(grade or call.direction)), style="dim")
                out.append(f" {since_time(call.window_end, view.bar_seconds)})", style="dim")
            return out
        colour = UP if view.upward else DOWN
        out.append(f" {'▲' if view.upward else '▼'} {_words(view.side or '')}", f"bold {colour}")
        if view.grade:
            grade = _words(view.grade)
            out.append(" · ", FLAT).append(grade, style="bold" if grade != "watch" else "")
        if view.since is not None and view.bar_seconds is not None:
            out.append(f" · since {since_time(view.since, view.bar_seconds)}", FLAT)
        if view.rs_change_pct is not None:
            out.append(" · RS ", FLAT).append_text(signed(view.rs_change_pct, 1, "%"))
        return out

    def _pack(self, entries: Iterable[Text], width: int) -> list[Text]:
        lines: list[Text] = []
        for entry in entries:
            last = lines[-1] if lines else None
            if last is not None and last.cell_len + len(self.SEPARATOR) + entry.cell_len <= width:
                last.append(self.SEPARATOR).append_text(entry)
            else:
                lines.append(entry)
        return lines

    def lines(self, width: int) -> list[Text]:
        """The entries side by side where they fit; the last calls of pairs without a
        regime are dropped first when that saves a line."""
        if not self.views:
            return [Text("no regime pair yet", style="dim")]
        lines = self._pack((self.entry(v) for v in self.views), width)
        if len(lines) > 1:
            compact = self._pack((self.entry(v, full=False) for v in self.views), width)
            lines = compact if len(compact) < len(lines) else lines
        for line in lines:
            line.truncate(width, overflow="ellipsis")
        return lines

    def render(self) -> Text:
        return Text("\n", no_wrap=True).join(self.lines(self.content_size.width or 80))


def _price_text(price: float | None) -> Text:
    if price is None or not math.isfinite(price):
        return Text("-", style="dim")
    return Text(f"{price:,.2f}" if price >= 1 else f"{price:.4f}")


def _marked(value: float | None) -> Text:
    """``▲ +0.51`` green, ``▼ -0.51`` red: the marker says the sign without colour."""
    if value is None or not math.isfinite(value):
        return Text("-", style="dim")
    marker = "▲ " if value > 0 else "▼ " if value < 0 else "  "
    return Text(marker, style=direction_style(value)).append_text(signed(value))


class QuoteTable(Panel):
    """Recent quotes: last price, change since the previous close, and RS against the
    benchmark (Mansfield RS, ``rs_vs_sma_pct``) of the chosen symbols."""

    BORDER_TITLE = "Recent quotes"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.quotes: list[QuoteView] = []

    @property
    def benchmark(self) -> str:
        return self.quotes[0].benchmark if self.quotes else "SPY"

    def column_specs(self, width: int) -> Sequence[Column]:
        return (
            Column("symbol", "symbol", 6),
            Column("last", "last", 9),
            Column("change", "chg %", 8),
            Column("rs", f"RS vs {self.benchmark}"[:12], 9),
            Column("rs_change", "RS chg %", 8, priority=2),
        )

    def show(self, quotes: Sequence[QuoteView]) -> None:
        self.quotes = list(quotes)
        self.redraw()

    def build_rows(self, widths: dict[str, int]) -> Iterable[tuple[str, dict[str, Text]]]:
        for quote in self.quotes:
            yield (
                quote.symbol,
                {
                    "symbol": Text(quote.symbol, style="bold"),
                    "last": _price_text(quote.last),
                    "change": _marked(quote.change_pct),
                    "rs": _marked(quote.rs_vs_benchmark_pct),
                    "rs_change": signed(quote.rs_change_pct),
                },
            )


class RelativeStrengthTable(Panel):
    """One row per pair: RS, its change over the window, z-score, state and RS sparkline."""

    BORDER_TITLE = "Relative strength"

    def column_specs(self, width: int) -> Sequence[Column]:
        return (
            Column("pair", "pair", 24),
            Column("rs", "RS", 8),
            Column("change", "chg %", 6),
            Column("zscore", "z", 5, priority=1),
            Column("vs_sma", "vs SMA %", 8, priority=3),
            Column("state", "state", 6, priority=2),
            Column("streak", "streak", 6, priority=4),
            Column("quadrant", "RRG", 9, priority=3),
            Column("regime", "regime", 26, priority=5),
            Column("trend", "trend", 16, priority=1, flex=True, max_width=120),
        )

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.pairs: list[PairView] = []

    def show(self, pairs: Sequence[PairView], selected: str | None) -> None:
        self.pairs = list(pairs)
        self.cursor_key = selected
        self.redraw()

    def build_rows(self, widths: dict[str, int]) -> Iterable[tuple[str, dict[str, Text]]]:
        for view in self.pairs:
            yield view.name, self._pair_cells(view, widths.get("trend", 0))

    @staticmethod
    def _pair_cells(view: PairView, trend_width: int) -> dict[str, Text]:
        pair = view.stats
        colour = direction_style(pair.rs_change_pct)
        above = pair.above_sma
        rrg = pair.rrg
        quadrant = (
            Text(
                rrg.quadrant + ("~" if rrg.provisional else ""), style=QUADRANT_STYLE[rrg.quadrant]
            )
            if rrg
            else Text("-", style="dim")
        )
        return {
            "pair": Text(view.name, style="bold"),
            "rs": Text(_rs_text(pair.rs), style=colour),
            "change": signed(pair.rs_change_pct),
            "zscore": signed(pair.zscore, 1),
            "vs_sma": signed(pair.rs_vs_sma_pct),
            "state": Text(
                {True: "above", False: "below", None: "-"}[above],
                style={True: UP, False: DOWN, None: "dim"}[above],
            ),
            "streak": Text(str(pair.streak), style=UP if pair.streak else FLAT),
            "quadrant": quadrant,
            "regime": _regime_text(pair.regime),
            "trend": Text(sparkline(view.rs_line, trend_width), style=colour),
        }


class BreadthTable(Panel):
    """One row per group: advancers/decliners bar, % above SMA, NH-NL, McClellan, thrust."""

    BORDER_TITLE = "Breadth"

    def column_specs(self, width: int) -> Sequence[Column]:
        return (
            Column("group", "group", 14),
            Column("ad", "adv / dec", 14, flex=True, max_width=30),
            Column("above_sma", "%>SMA", 5),
            Column("nh_nl", "NH-NL", 5, priority=1),
            Column("mcclellan", "McClellan", 9, priority=1),
            Column("thrust", "thrust", 11, priority=1),
            Column("zweig", "Zweig", 5, priority=2),
            Column("ad_line", "A/D line", 8, priority=3),
            Column("trin", "TRIN", 5, priority=3),
            Column("up_volume", "up vol", 6, priority=4),
            Column("summation", "summation", 9, priority=4),
        )

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.groups: list[GroupView] = []

    def show(self, groups: Sequence[GroupView], selected: str | None) -> None:
        self.groups = list(groups)
        self.cursor_key = selected
        self.redraw()

    def build_rows(self, widths: dict[str, int]) -> Iterable[tuple[str, dict[str, Text]]]:
        for view in self.groups:
            yield view.name, self._group_cells(view, widths.get("ad", 14))

    @staticmethod
    def _group_cells(view: GroupView, width: int) -> dict[str, Text]:
        g = view.stats
        counts = f"{g.advancers:>3}/{g.decliners:<3}"
        ad = Text(counts + " ").append_text(
            advance_decline_bar(g.advancers, g.decliners, g.unchanged, width - len(counts) - 1)
        )
        since = view.bars_since_thrust
        if g.zweig_thrust:
            thrust = Text("▲ THRUST", style=f"bold {UP}")
        elif since is not None:
            thrust = Text(f"{since} bars ago", style=UP if since < 20 else FLAT)
        else:
            thrust = Text("-", style="dim")
        pct = g.pct_above_sma
        return {
            "group": Text(view.name, style="bold"),
            "ad": ad,
            "above_sma": Text("-" if pct is None else f"{pct:.0f}%", style=_pct_style(pct)),
            "nh_nl": signed(g.nh_nl, 0),
            "mcclellan": signed(g.mcclellan_oscillator),
            "thrust": thrust,
            "zweig": Text("-" if g.zweig_ema is None else f"{g.zweig_ema:.2f}"),
            "ad_line": signed(g.ad_line, 0),
            "trin": Text("-" if g.trin is None else f"{g.trin:.2f}"),
            "up_volume": Text("-" if g.up_volume_pct is None else f"{g.up_volume_pct * 100:.0f}%"),
            "summation": Text(f"{g.summation_index:.1f}"),
        }


def _pct_style(pct: float | None) -> str:
    if pct is None:
        return "dim"
    return UP if pct > 50 else DOWN if pct < 50 else FLAT


KIND_LABEL = {
    "rs_crossover": "RS cross",
    "rs_breakout": "RS break",
    "rrg_quadrant": "quadrant",
    "breadth_thrust": "thrust",
    "breadth_divergence": "divergence",
    "rotation_regime": "ROTATION",
}
UPWARD = ("up", "into_small_caps", "broadening")
HEADLINE_MARK = "★"
"""Marks headline signals in the log (detail ones are drawn dim)."""


def direction_text(direction: str) -> Text:
    up = direction in UPWARD
    return Text(("▲ " if up else "▼ ") + direction.replace("_", " "), style=UP if up else DOWN)


class SignalLog(Panel):
    """Signals, newest first (by event time); Enter on a row opens its evidence."""

    BORDER_TITLE = "Signals (newest first)"
    DEFAULT_CSS = """
    SignalLog { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.shown: dict[str, Signal] = {}

    def column_specs(self, width: int) -> Sequence[Column]:
        wide = width >= 90
        return (
            Column("time", f"event time {MARKET_TIME_LABEL}", 16 if wide else 11),
            Column("kind", "kind", 10),
            Column("subject", "subject", 24 if wide else 12, flex=not wide, max_width=26),
            Column("direction", "direction", 16, priority=3),
            Column("score", "score", 5, priority=1),
            Column("summary", "summary", 20, priority=2, flex=wide, max_width=400),
        )

    def show(self, signals: Sequence[Signal]) -> None:
        """Show ``signals`` (already newest first and filtered); the cursor stays on the
        signal it was on, unless that was the newest, so the newest stays in view."""
        if [s.id for s in signals] == list(self.shown):
            return  # signals never change: the same ids, the same rows
        current = self._row_key_at_cursor()
        top = next(iter(self.shown), None)
        self.shown = {s.id: s for s in signals}
        self.cursor_key = None if current == top else current
        self.redraw()
        if self.cursor_key is None and self.row_count and self.cursor_row != 0:
            self.move_cursor(row=0, animate=False)

    def build_rows(self, widths: dict[str, int]) -> Iterable[tuple[str, dict[str, Text]]]:
        wide = widths.get("time", 0) > 11
        for signal in self.shown.values():
            yield signal.id, self._signal_cells(signal, wide)

    def highlighted(self) -> Signal | None:
        key = self._row_key_at_cursor()
        return self.shown.get(key) if key else None

    def _row_key_at_cursor(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        except Exception:
            return None

    @staticmethod
    def _signal_cells(signal: Signal, wide: bool) -> dict[str, Text]:
        up = signal.direction in UPWARD
        subject = signal.subject.split(":", 1)[-1]
        arrow = Text("▲ " if up else "▼ ", style=UP if up else DOWN)
        kind = KIND_LABEL.get(signal.kind, signal.kind)
        if signal.level == "headline":
            kind_text = Text(f"{HEADLINE_MARK} {kind}", style="bold yellow")
        else:
            kind_text = Text(kind, style=FLAT if signal.level == "detail" else "")
        detail = signal.level == "detail"
        return {
            "time": Text(event_time(signal.ts, short=not wide), style=FLAT if detail else ""),
            "kind": kind_text,
            "subject": arrow + Text(subject, style=FLAT if detail else "bold"),
            "direction": direction_text(signal.direction),
            "score": Text(f"{signal.score:.2f}"),
            "summary": Text(signal.summary, style=FLAT),
        }


class RotationGraph(Widget):
    """The Relative Rotation Graph: RS-Ratio across, RS-Momentum up, a tail per point."""

    BORDER_TITLE = "Rotation graph"
    DEFAULT_CSS = """
    RotationGraph { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.points: list[RRGPoint] = []
        self.selected: str | None = None

    def show(self, pairs: Sequence[PairView], selected: PairView | None) -> None:
        self.points = [
            RRGPoint(
                p.rrg_label,
                p.stats.rrg.rs_ratio,
                p.stats.rrg.rs_momentum,
                p.stats.rrg.quadrant,
                tuple((x, y) for x, y in p.stats.rrg.tail),
                p.stats.rrg.provisional,
            )
            for p in pairs
            if p.stats.rrg is not None
        ]
        self.selected = selected.rrg_label if selected else None
        rrg = selected.stats.rrg if selected else None
        self.border_title = "Rotation graph"
        if selected and rrg:
            self.border_title = f"RRG · {selected.name} {rrg.quadrant}"
        self.refresh()

    def render(self) -> Text:
        width, height = self.content_size
        if not self.points:
            return Text("waiting for RS-Ratio and RS-Momentum…", style="dim")
        lines, _ = rrg_canvas(self.points, width, height, self.selected)
        return Text("\n").join(lines)


class PairDetail(Widget):
    """Every figure of the selected pair (shown when the terminal is large enough)."""

    BORDER_TITLE = "Selected pair"
    DEFAULT_CSS = """
    PairDetail { height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: PairView | None = None

    def show(self, view: PairView | None) -> None:
        self.view = view
        self.refresh(layout=True)

    def render(self) -> Text:
        view = self.view
        if view is None:
            return Text("no pair yet", style="dim")
        p = view.stats
        out = Text()
        out.append(view.name, style="bold")
        out.append(f"  {p.numerator} vs {p.denominator} ({p.origin.replace('_', ' ')})\n", FLAT)
        out.append(f"RS {_rs_text(p.rs)}  SMA {'-' if p.rs_sma is None else _rs_text(p.rs_sma)}")
        out.append("  vs SMA ").append_text(signed(p.rs_vs_sma_pct, 2, "%")).append("\n")
        out.append("chg ").append_text(signed(p.rs_change_pct, 2, "%"))
        out.append("  z ").append_text(signed(p.zscore, 2))
        out.append(f"  streak {p.streak}\n")
        if p.rrg:
            out.append("RRG ").append(
                p.rrg.quadrant, style=f"bold {QUADRANT_STYLE[p.rrg.quadrant]}"
            )
            out.append(f"  {p.rrg.rs_ratio:.2f} / {p.rrg.rs_momentum:.2f}")
            out.append("  warming up\n" if p.rrg.provisional else "\n", FLAT)
        out.append("regime ").append_text(_regime_text(p.regime)).append("\n")
        out.append(
            f"as of {event_time(view.latest.ts)} {MARKET_TIME_LABEL}, "
            f"bar {view.latest.bars} of {view.latest.bar_seconds // 60} min",
            FLAT,
        )
        return out


class StatusLine(Widget):
    """Connection, event time of the newest data, its lag, ticks/s and signals/s."""

    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.segments: list[Text] = [Text("○ connecting", style="yellow")]

    def show(self, state: MonitorState, now: float, *, paused: bool = False) -> None:
        connection = state.connection
        segments: list[Text] = []
        if paused:
            segments.append(Text("⏸ PAUSED", style="bold reverse yellow"))
        if connection.phase == "live":
            quiet = state.quiet_for(now)
            if quiet is not None and quiet > 15:
                segments.append(Text(f"● live, quiet for {duration(quiet)}", style="yellow"))
            else:
                segments.append(Text("● live", style=f"bold {UP}"))
        else:
            style = "bold red" if connection.phase == "failed" else "yellow"
            segments.append(Text(f"○ {connection.describe()}", style=style))
        if state.latest_ts is not None:
            segments.append(Text(f"{event_time(state.latest_ts)} {MARKET_TIME_LABEL}"))
            lag = state.lag(now)
            if lag is not None:
                segments.append(Text(f"lag {duration(lag)}"))
        if connection.phase == "live" or state.latest_ts is not None:
            segments.append(Text(f"{rate(state.ticks_per_second(now))} ticks/s"))
            segments.append(Text(f"{rate(state.signals_per_second(now))} signals/s"))
            segments.append(
                Text(
                    f"metrics {state.metrics_received:,} · signals {state.signals_received:,}",
                    style=FLAT,
                )
            )
        if connection.phase == "live":
            segments.append(Text(connection.url, style=FLAT))
        self.segments = segments
        self.refresh()

    @property
    def plain(self) -> str:
        return " │ ".join(s.plain for s in self.segments)

    def render(self) -> Text:
        width = self.content_size.width or 80
        out = Text(no_wrap=True, overflow="ellipsis")
        for i, segment in enumerate(self.segments):
            if i and out.cell_len + 3 + segment.cell_len > width:
                break
            if i:
                out.append(" │ ", style=FLAT)
            out.append_text(segment)
        out.truncate(width, overflow="ellipsis")
        return out
