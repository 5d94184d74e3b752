"""SVG snapshots of the monitor, drawn from recorded gateway messages with a fixed clock.

The files in ``tests/snapshots/`` are what the screen looked like when the layout was
last reviewed (the main screen at 80x24 and 160x48, the quote panel at 80x24, a
signal's evidence); a change of layout, wording or colour fails here and shows the lines
that differ. After a deliberate change, regenerate them and review the diff::

    ROTATION_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/test_monitor_snapshots.py

The README's screenshot is ``tests/snapshots/monitor_160x48.svg``.
"""

from __future__ import annotations

import difflib
import html
import os
import re
from pathlib import Path

import pytest

from monitor.render import MARKET_TIME_LABEL
from monitor.widgets import SignalLog
from tests.test_monitor_app import played, recorded_app, signals_of

SNAPSHOTS = Path(__file__).with_name("snapshots")
UPDATE = "ROTATION_UPDATE_SNAPSHOTS"

# The tzdata dependency provides the zone where the OS has no tz database.
assert MARKET_TIME_LABEL == "ET"

_TEXT = re.compile(
    r'<text [^>]*?x="([0-9.]+)"[^>]*?textLength="([0-9.]+)"'
    r'[^>]*?clip-path="url\(#[\w-]+-line-(\d+)\)">(.*?)</text>'
)


def svg_rows(svg: str) -> list[str]:
    """The characters of each terminal row of a Rich SVG export, for a readable diff."""
    rows: dict[int, dict[int, str]] = {}
    for x, length, line, content in _TEXT.findall(svg):
        text = html.unescape(content).replace("\xa0", " ")
        cell = float(length) / max(len(text), 1)
        row = rows.setdefault(int(line), {})
        start = round(float(x) / cell)
        for i, char in enumerate(text):
            row[start + i] = char
    out = []
    for i in sorted(rows):
        row = rows[i]
        out.append("".join(row.get(col, " ") for col in range(max(row) + 1)).rstrip())
    return out


def check_snapshot(name: str, svg: str, tmp_path: Path) -> None:
    path = SNAPSHOTS / f"{name}.svg"
    if os.environ.get(UPDATE):
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(svg)
        return
    assert path.exists(), f"no snapshot {path}: run with {UPDATE}=1 to write it, then review it"
    expected = path.read_text()
    if svg == expected:
        return
    new = tmp_path / path.name
    new.write_text(svg)
    diff = "\n".join(
        difflib.unified_diff(svg_rows(expected), svg_rows(svg), "snapshot", "now", lineterm="")
    )
    pytest.fail(
        f"{name} differs from {path} (this run: {new}; {UPDATE}=1 accepts it)\n"
        + (diff or "same characters; colours or styles differ")
    )


async def screenshot(size: tuple[int, int], *keys: str, evidence: bool = False) -> str:
    app, source = recorded_app()
    async with app.run_test(size=size) as pilot:
        await played(app, source, pilot)
        if evidence:
            log = app.query_one(SignalLog)
            log.move_cursor(row=log.get_row_index(signals_of("rotation_regime")[0]["id"]))
            await pilot.press("enter")
        await pilot.press(*keys)
        await pilot.pause()
        return app.export_screenshot(title="rotation monitor")


async def test_main_screen_at_80x24(tmp_path):
    check_snapshot("monitor_80x24", await screenshot((80, 24)), tmp_path)


async def test_main_screen_at_160x48(tmp_path):
    check_snapshot("monitor_160x48", await screenshot((160, 48)), tmp_path)


async def test_recent_quotes_take_the_tables_place_at_80x24(tmp_path):
    check_snapshot("quotes_80x24", await screenshot((80, 24), "r"), tmp_path)


async def test_signal_evidence_at_80x24(tmp_path):
    check_snapshot("evidence_80x24", await screenshot((80, 24), evidence=True), tmp_path)


def test_snapshot_rows_read_back_as_text():
    svg = (SNAPSHOTS / "monitor_80x24.svg").read_text()
    rows = svg_rows(svg)
    assert len(rows) == 24
    assert rows[0].split() == [
        "IWM/QQQ",
        "no",
        "regime",
        "small_caps/mega_cap_tech",
        "no",
        "regime",
    ]
    assert rows[1].startswith("─Relative strength")
    assert rows[-2].lstrip().startswith("● live │ 2026-09-28 12:00 ET")
    legend = "q Quit  p Pause  / Filter  n Pair  s Symbols  d Detail  r Quotes  ? Help"
    assert rows[-1].strip() == legend
