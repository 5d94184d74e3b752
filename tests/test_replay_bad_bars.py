"""Bad bars (high below the open or close, low above them) are reported and not used."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import numpy as np
import pytest

from agents.analytics.tick_checks import decode_message
from rotation.bad_bars import bad_bars, why_bad
from rotation.tabular import read_table
from streams.admin import ensure_topics
from streams.codec import decode_deadletter
from streams.topics import DEFAULT_TOPICS
from tests.test_replay import (
    DAYS,
    MARKETDATA,
    SMALL_UNIVERSE,
    confluent_consumer,
    end_of,
    lines_of,
    pair_metrics,
    read_until,
    replay,
    rotation_closes,
    summary,
)

DAY_US = 86_400 * 1_000_000
BAD_CLOSE = 999.0
"""The close of every bad bar here: a value no good bar has."""
SECTORS = MARKETDATA / "etf_daily" / "alitalbi_storage_data_fy"


@pytest.fixture
def universe_file(tmp_path: Path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL_UNIVERSE)
    return path


def bars_with_bad_ones(path: Path, bad: dict[tuple[str, int], str]) -> Path:
    """Daily bars of IWM, QQQ and SPY in time order; the bar of (symbol, day) in ``bad``
    is made bad the way its value says (``high``: high below the close, ``low``: low
    above the open, ``both``: high below low), with the close :data:`BAD_CLOSE`."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Symbol", "Timestamp", "Open", "High", "Low", "Close", "Volume"])
        for d, day in enumerate(DAYS):
            for symbol, close in rotation_closes(d).items():
                o, h, low, c = close, close + 1, close - 1, close
                how = bad.get((symbol, d))
                if how == "high":
                    o, h, low, c = 998.0, 998.5, 997.0, BAD_CLOSE
                elif how == "low":
                    o, h, low, c = 1000.0, 1002.0, 1001.0, BAD_CLOSE
                elif how == "both":
                    o, h, low, c = BAD_CLOSE, 990.0, 1000.0, BAD_CLOSE
                writer.writerow([symbol, day.isoformat(), o, h, low, c, 1000 + d])
    return path


def test_the_rule_flags_each_kind_of_bad_bar_and_not_float_noise():
    o = np.array([10.0, 10.0, 10.0, 10.0, 10.0, np.nan, 10.0, 11.601027488708496])
    h = np.array([11.0, 9.5, 11.0, 9.0, np.nan, 9.0, 11.0, 11.601027488708494])
    low = np.array([9.0, 9.0, 10.5, 9.5, 12.0, 8.0, np.nan, 11.5])
    c = np.array([10.5, 10.0, 10.2, 9.2, 10.0, 10.0, 10.0, 11.601027488708496])
    assert bad_bars(o, h, low, c).tolist() == [
        False,  # a consistent bar
        True,  # high below the open
        True,  # low above the close
        True,  # high below low
        True,  # low above open and close; an empty high is no evidence
        True,  # high below the close; the open is empty
        False,  # an empty low is no evidence
        False,  # a high 2e-15 below the close: back-adjustment noise, not a bad print
    ]
    assert bad_bars(None, None, None, c).tolist() == [False] * c.size
    assert why_bad(10.0, 9.5, 9.0, 9.2) == "high 9.5 is below open 10"
    assert why_bad(10.0, 11.0, 10.5, 10.2) == "low 10.5 is above close 10.2"
    assert why_bad(9.2, 9.0, 9.1, 9.05) == "high 9 is below close 9.05"


def test_a_bad_bar_is_noted_with_its_row_and_not_used(universe_file, tmp_path):
    path = bars_with_bad_ones(tmp_path / "bars.csv", {("IWM", 10): "high", ("QQQ", 12): "low"})
    out = tmp_path / "out.jsonl"
    done = replay(path, "--config", universe_file, "--out", out)
    # Day 10 is rows 31-33 (lines 32-34); IWM is the first of each day.
    notes = [line for line in done.stderr.splitlines() if "bad bar" in line]
    assert notes[:2] == [
        f"note: {path}, row 31 (line 32): bad bar of IWM at 2026-01-19 00:00:00 not used: "
        "high 998.5 is below close 999 (open 998, high 998.5, low 997, close 999)",
        f"note: {path}, row 38 (line 39): bad bar of QQQ at 2026-01-21 00:00:00 not used: "
        "low 1001 is above close 999 (open 1000, high 1002, low 1001, close 999)",
    ]
    assert summary(done.stderr).endswith("0 late ticks, 2 bad bars")
    assert "120 rows, 472 ticks, 118 bars" in done.stderr
    rs = pair_metrics(lines_of(out), "IWM/QQQ")
    # The bad bars' close is never used; the good bars after them are.
    for d, symbol in ((10, "IWM"), (12, "QQQ")):
        closes = rotation_closes(d)
        closes[symbol] = BAD_CLOSE
        day = rs.get(end_of(DAYS[d].isoformat()))
        assert day is None or day["rs"] != closes["IWM"] / closes["QQQ"]
    for d in (11, 13):
        closes = rotation_closes(d)
        assert rs[end_of(DAYS[d].isoformat())]["rs"] == closes["IWM"] / closes["QQQ"]


def test_bad_bars_are_noted_up_to_twenty_then_counted(universe_file, tmp_path):
    bad = {("SPY", d): "both" for d in range(25)}
    path = bars_with_bad_ones(tmp_path / "bars.csv", bad)
    done = replay(path, "--config", universe_file, "--out", tmp_path / "out.jsonl")
    noted = [line for line in done.stderr.splitlines() if ": bad bar of SPY" in line]
    assert len(noted) == 20
    assert "high 990 is below close 999 (open 999, high 990, low 1000, close 999)" in noted[0]
    assert "note: 5 more bad bars not used (not noted one by one)" in done.stderr
    assert summary(done.stderr).endswith("25 bad bars")


def test_bad_bars_of_symbols_outside_the_universe_are_only_counted_as_outside(tmp_path):
    universe = tmp_path / "iwm_qqq.toml"
    universe.write_text(
        SMALL_UNIVERSE.split("[[pairs]]")[0]
        + '[[pairs]]\nname = "IWM/QQQ"\nnumerator = "IWM"\ndenominator = "QQQ"\n\n'
        + "[symbols]\nIWM = {}\nQQQ = {}\n"
    )
    path = bars_with_bad_ones(tmp_path / "bars.csv", {("SPY", 3): "high"})
    done = replay(path, "--config", universe, "--out", tmp_path / "out.jsonl")
    assert "bad bar" not in done.stderr.replace("0 bad bars", "")
    assert "40 rows of 1 symbol(s) not in the universe were skipped: SPY (40)" in done.stderr


def test_a_parquet_bad_bar_keeps_its_row_as_json(tmp_path):
    import pandas as pd

    path = bars_with_bad_ones(tmp_path / "bars.csv", {("QQQ", 0): "high"})
    frame = pd.read_csv(path)
    frame.to_parquet(tmp_path / "bars.parquet")
    table = read_table(tmp_path / "bars.parquet")
    (i,) = np.flatnonzero(table.bad).tolist()
    assert table.where(i) == f"{tmp_path / 'bars.parquet'}, row 2"
    assert table.original(i).startswith(b'{"Symbol": "QQQ", "Timestamp": "2026-01-05"')
    csv_table = read_table(path)
    (k,) = np.flatnonzero(csv_table.bad).tolist()
    assert csv_table.original(k) == b"QQQ,2026-01-05,998.0,998.5,997.0,999.0,1000"


@pytest.mark.skipif(not SECTORS.is_dir(), reason=f"real market data not present: {SECTORS}")
def test_real_vendor_bars_with_a_high_below_the_close_are_noted(tmp_path):
    """Yahoo's XLB and XLC histories each hold one bar whose high is below its close or
    open by cents (2025-09-08, 2025-08-19); XLB also has a few dozen highs below the
    close by 1e-15 from back-adjustment, which are not bad bars."""
    universe = tmp_path / "sectors.toml"
    universe.write_text(
        SMALL_UNIVERSE.split("[[pairs]]")[0]
        + '[[pairs]]\nname = "XLB/XLC"\nnumerator = "XLB"\ndenominator = "XLC"\n\n'
        + "[symbols]\nXLB = {}\nXLC = {}\n"
    )
    files = [SECTORS / "XLB.csv", SECTORS / "XLC.csv"]
    done = replay(*files, "--config", universe, "--out", tmp_path / "out.jsonl", "--quiet")
    notes = sorted(line for line in done.stderr.splitlines() if ": bad bar of " in line)
    assert len(notes) == 2, done.stderr
    assert notes[0].startswith(f"note: {files[0]}, row ") and "XLB at 2025-09-08" in notes[0]
    assert "high 92.0699996948 is below open 92.1299972534" in notes[0]
    assert notes[1].startswith(f"note: {files[1]}, row ") and "XLC at 2025-08-19" in notes[1]
    assert summary(done.stderr).endswith("2 bad bars")


def test_kafka_replay_dead_letters_bad_bars_and_sends_the_good_ones(
    broker, universe_file, tmp_path
):
    bad = {("IWM", 10): "high", ("QQQ", 12): "low"}
    path = bars_with_bad_ones(tmp_path / "bars.csv", bad)
    asyncio.run(ensure_topics(broker))
    done = replay(
        path,
        "--kafka",
        "--config",
        universe_file,
        "--bootstrap",
        broker,
        "--checkpoint",
        tmp_path / "checkpoint.json",
        "--quiet",
    )
    assert "2 bad bars to rotation.deadletter" in done.stderr
    assert f"note: {path}, row 31 (line 32): bad bar of IWM" in done.stderr

    topic = DEFAULT_TOPICS.deadletter
    consumer = confluent_consumer(broker, topic.name, topic.partitions)
    try:
        values = read_until(
            consumer,
            lambda v: sum(decode_deadletter(m).topic == str(path) for m in v) >= 2,
            settle=1.0,
        )
    finally:
        consumer.close()
    letters = sorted(
        (letter for letter in map(decode_deadletter, values) if letter.topic == str(path)),
        key=lambda letter: letter.offset,
    )
    assert [(letter.reason, letter.offset, letter.source) for letter in letters] == [
        ("bad_bar", 31, "replay"),
        ("bad_bar", 38, "replay"),
    ]
    assert letters[0].original == b"IWM,2026-01-19,998.0,998.5,997.0,999.0,1010"
    assert letters[1].original == b"QQQ,2026-01-21,1000.0,1002.0,1001.0,999.0,1012"
    assert "row 31 (line 32)" in letters[0].detail and "high 998.5 is below close 999" in (
        letters[0].detail
    )

    # The good bars of those symbols the day after went to quotes.ticks; the bad ones did not.
    day_of = {d: int(end_of(DAYS[d].isoformat())) - DAY_US for d in (10, 11, 12, 13)}
    ticks = DEFAULT_TOPICS.ticks
    consumer = confluent_consumer(broker, ticks.name, ticks.partitions)
    wanted = {("IWM", day_of[11]), ("QQQ", day_of[13])}

    def opens(values: list[bytes]) -> set[tuple[str, int, float]]:
        return {
            (t.symbol, t.ts, t.price)
            for m in values
            for t in decode_message(m).ticks
            if t.source == "replay" and t.ts in day_of.values()
        }

    try:
        values = read_until(
            consumer, lambda v: wanted <= {(s, ts) for s, ts, _ in opens(v)}, settle=1.0
        )
    finally:
        consumer.close()
    sent = opens(values)
    assert ("IWM", day_of[11], rotation_closes(11)["IWM"]) in sent
    assert ("QQQ", day_of[13], rotation_closes(13)["QQQ"]) in sent
    assert not {(s, ts) for s, ts, _ in sent} & {("IWM", day_of[10]), ("QQQ", day_of[12])}


def test_kafka_replay_of_a_folder_dead_letters_each_bad_bar_with_its_file(
    broker, universe_file, tmp_path
):
    long = bars_with_bad_ones(tmp_path / "bars.csv", {("SPY", 4): "low"})
    folder = tmp_path / "daily"
    folder.mkdir()
    lines = long.read_text().splitlines()
    for symbol in ("IWM", "QQQ", "SPY"):
        rows = [line.split(",", 1)[1] for line in lines[1:] if line.startswith(f"{symbol},")]
        (folder / f"{symbol}.csv").write_text(
            "Timestamp,Open,High,Low,Close,Volume\n" + "\n".join(rows) + "\n"
        )
    asyncio.run(ensure_topics(broker))
    done = replay(
        folder,
        "--kafka",
        "--config",
        universe_file,
        "--bootstrap",
        broker,
        "--checkpoint",
        tmp_path / "checkpoint.json",
        "--quiet",
    )
    assert "120 rows, 476 ticks, 119 bars" in done.stderr
    assert "1 bad bars to rotation.deadletter" in done.stderr
    spy = str(folder / "SPY.csv")
    topic = DEFAULT_TOPICS.deadletter
    consumer = confluent_consumer(broker, topic.name, topic.partitions)
    try:
        values = read_until(
            consumer, lambda v: any(decode_deadletter(m).topic == spy for m in v), settle=1.0
        )
    finally:
        consumer.close()
    (letter,) = [letter for letter in map(decode_deadletter, values) if letter.topic == spy]
    assert (letter.reason, letter.offset) == ("bad_bar", 5)
    assert letter.original == b"2026-01-09,1000.0,1002.0,1001.0,999.0,1004"
    assert letter.detail.startswith(f"{spy}, row 5 (line 6): bad bar of SPY at 2026-01-09")
