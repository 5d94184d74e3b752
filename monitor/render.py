"""Pure text rendering for the monitor: numbers, times, sparklines, gauges and the
Relative Rotation Graph as lines of Rich text. No Textual, no I/O, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.text import Text

SPARK = "▁▂▃▄▅▆▇█"

UP = "green"
DOWN = "red"
FLAT = "grey62"

QUADRANT_STYLE = {
    "leading": "green",
    "weakening": "yellow",
    "lagging": "red",
    "improving": "dodger_blue1",
}

try:
    MARKET_TIME: tzinfo = ZoneInfo("America/New_York")
    MARKET_TIME_LABEL = "ET"
except ZoneInfoNotFoundError:  # no tz database on this machine
    MARKET_TIME, MARKET_TIME_LABEL = UTC, "UTC"


def event_time(micros: int, *, short: bool = False) -> str:
    """Event time in New York market time, to the minute (``short``: without the year)."""
    moment = datetime.fromtimestamp(micros / 1e6, MARKET_TIME)
    return moment.strftime("%m-%d %H:%M" if short else "%Y-%m-%d %H:%M")


def since_time(micros: int, bar_seconds: int) -> str:
    """When a regime began, from the end of its first bar: the session's date for daily
    (or longer) bars, date and time (ET) for intraday ones.

    A daily bar ends at midnight UTC, at the close or at midnight New York, depending
    on who stamped it; its date is that of the bar's last instant (end - 1 us) in New
    York, which is the session's date for all three.
    """
    if bar_seconds >= 86400:
        moment = datetime.fromtimestamp((micros - 1) / 1e6, MARKET_TIME)
        return moment.strftime("%Y-%m-%d")
    return event_time(micros)


def duration(seconds: float) -> str:
    """A duration in its largest unit: ``0.4 s``, ``12 s``, ``5 m``, ``3 h 20 m``, ``72 d``."""
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    if s < 10:
        text = f"{s:.1f} s"
    elif s < 120:
        text = f"{s:.0f} s"
    elif s < 3600:
        text = f"{s // 60:.0f} m"
    elif s < 86400:
        text = f"{s // 3600:.0f} h {s % 3600 // 60:.0f} m"
    else:
        text = f"{s / 86400:.0f} d"
    return sign + text


def rate(per_second: float) -> str:
    """A rate with as many digits as it deserves: ``1,234``, ``56.7``, ``0.4``."""
    if per_second >= 100:
        return f"{per_second:,.0f}"
    return f"{per_second:.1f}"


def signed(value: float | None, digits: int = 2, suffix: str = "") -> Text:
    """``+0.51`` green, ``-0.51`` red, ``-`` dim for ``None``."""
    if value is None or math.isnan(value):
        return Text("-", style="dim")
    return Text(f"{value:+.{digits}f}{suffix}", style=direction_style(value))


def direction_style(value: float | None) -> str:
    if value is None or value == 0:
        return FLAT
    return UP if value > 0 else DOWN


def sparkline(values: Sequence[float], width: int) -> str:
    """Unicode block sparkline of the last ``width`` values, scaled to their own range."""
    shown = list(values)[-width:] if width > 0 else []
    if not shown:
        return ""
    lo, hi = min(shown), max(shown)
    if hi - lo <= abs(hi) * 1e-12:
        return SPARK[3] * len(shown)
    span = hi - lo
    return "".join(SPARK[min(7, int((v - lo) / span * 8))] for v in shown)


def advance_decline_bar(advancers: int, decliners: int, unchanged: int, width: int) -> Text:
    """A bar of ``width`` cells: advancers green, unchanged grey, decliners red."""
    total = advancers + decliners + unchanged
    bar = Text()
    if total <= 0 or width <= 0:
        return bar.append("·" * max(width, 0), style="dim")
    up = round(width * advancers / total)
    down = round(width * decliners / total)
    down = min(down, width - up)
    bar.append("█" * up, style=UP)
    bar.append("░" * (width - up - down), style=FLAT)
    bar.append("█" * down, style=DOWN)
    return bar


@dataclass(frozen=True)
class RRGPoint:
    """One point of the Relative Rotation Graph with its tail (oldest first)."""

    label: str
    rs_ratio: float
    rs_momentum: float
    quadrant: str
    tail: tuple[tuple[float, float], ...] = ()
    provisional: bool = False


@dataclass(frozen=True)
class Axes:
    """The value ranges shown by an RRG canvas (both centred on 100)."""

    ratio_span: float
    momentum_span: float


@dataclass
class _Canvas:
    width: int
    height: int
    cells: list[list[tuple[str, str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cells = [[(" ", "")] * self.width for _ in range(self.height)]

    def put(self, x: int, y: int, char: str, style: str) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            self.cells[y][x] = (char, style)

    def free(self, x: int, y: int, length: int) -> bool:
        if y < 0 or y >= self.height or x < 0 or x + length > self.width:
            return False
        return all(self.cells[y][i][0] in " ─│┼·" for i in range(x, x + length))

    def write(self, x: int, y: int, text: str, style: str) -> None:
        for i, char in enumerate(text):
            self.put(x + i, y, char, style)

    def lines(self) -> list[Text]:
        out = []
        for row in self.cells:
            line = Text()
            for char, style in row:
                line.append(char, style=style or None)
            out.append(line)
        return out


def rrg_axes(points: Sequence[RRGPoint], minimum_span: float = 0.25) -> Axes:
    """Symmetric ranges around 100 that hold every point and tail, with a margin."""
    ratio = momentum = minimum_span
    for point in points:
        for x, y in (*point.tail, (point.rs_ratio, point.rs_momentum)):
            ratio = max(ratio, abs(x - 100) * 1.1)
            momentum = max(momentum, abs(y - 100) * 1.1)
    return Axes(ratio, momentum)


def rrg_canvas(
    points: Sequence[RRGPoint], width: int, height: int, selected: str | None = None
) -> tuple[list[Text], Axes]:
    """Draw the RRG: RS-Ratio across, RS-Momentum up, 100/100 in the middle.

    Quadrants are labelled in the corners (improving top left, leading top right,
    lagging bottom left, weakening bottom right); each point is a ``●`` in its
    quadrant's colour with ``·`` for its tail and its label beside it where no other
    point or label is (a label may cover tail dots); the ``selected`` point is a ``◆``
    and its label is drawn last, in reverse video, so it is never hidden.
    """
    axes = rrg_axes(points)
    if width < 8 or height < 4:
        return [Text("")] * max(height, 0), axes
    canvas = _Canvas(width, height)
    cx, cy = (width - 1) // 2, (height - 1) // 2

    # Points stay off the first and last rows, where the quadrant names are.
    reach = cy - 1 if height >= 7 else cy

    def cell(x: float, y: float) -> tuple[int, int]:
        col = cx + round((x - 100) / axes.ratio_span * cx)
        row = cy - round((y - 100) / axes.momentum_span * reach)
        return min(max(col, 0), width - 1), min(max(row, 0), height - 1)

    for x in range(width):
        canvas.put(x, cy, "─", "grey35")
    for y in range(height):
        canvas.put(cx, y, "│", "grey35")
    canvas.put(cx, cy, "┼", "grey35")
    corners = (
        ("improving", 0, 0),
        ("leading", width - len("leading"), 0),
        ("lagging", 0, height - 1),
        ("weakening", width - len("weakening"), height - 1),
    )
    for name, x, y in corners:
        canvas.write(x, y, name[: max(cx, 1)], f"dim {QUADRANT_STYLE[name]}")

    ordered = sorted(points, key=lambda p: p.label == selected)
    for point in ordered:
        style = QUADRANT_STYLE.get(point.quadrant, FLAT)
        for x, y in point.tail[:-1] if point.tail else ():
            col, row = cell(x, y)
            canvas.put(col, row, "·", style)
    heads: list[tuple[RRGPoint, int, int]] = []
    for point in ordered:
        style = QUADRANT_STYLE.get(point.quadrant, FLAT)
        col, row = cell(point.rs_ratio, point.rs_momentum)
        mine = point.label == selected
        head = "◆" if mine else ("○" if point.provisional else "●")
        canvas.put(col, row, head, f"bold {style}" if mine else style)
        heads.append((point, col, row))
    for point, col, row in heads:
        mine = point.label == selected
        label = point.label[: max(width // 2, 4)] if mine else point.label[:12]
        style = "reverse bold" if mine else QUADRANT_STYLE.get(point.quadrant, FLAT)
        for x in (col + 1, col - len(label)):
            if mine or canvas.free(x, row, len(label)):
                x = min(max(x, 0), width - len(label))
                canvas.write(x, row, label, style)
                if mine:
                    canvas.put(col, row, "◆", f"bold {QUADRANT_STYLE.get(point.quadrant, FLAT)}")
                break
    return canvas.lines(), axes
