"""``rotation replay`` reads the layouts users have: files of one symbol, folders, several files."""

from __future__ import annotations

import csv
import random
import subprocess
from pathlib import Path

import numpy as np
import pytest

from rotation.tabular import InputError, read_table, symbol_of_file
from tests.test_replay import (
    DAYS,
    ETF_DAILY,
    EXAMPLE_CONFIG,
    SMALL_UNIVERSE,
    end_of,
    lines_of,
    pair_metrics,
    replay,
    rotation_closes,
    summary,
)

YAHOO_COLUMNS = ["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"]
ADJUSTMENT = {"IWM": 0.5, "QQQ": 0.8, "SPY": 0.9}
"""Adj Close / Close of each symbol in the files made here."""


@pytest.fixture
def universe_file(tmp_path: Path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(SMALL_UNIVERSE)
    return path


def bars_of(symbol: str) -> list[dict[str, object]]:
    """The daily bars of ``symbol`` in the rotation of tests.test_replay, as Yahoo names them."""
    rows: list[dict[str, object]] = []
    previous: float | None = None
    for d, day in enumerate(DAYS):
        close = rotation_closes(d)[symbol]
        open_ = close if previous is None else previous
        rows.append(
            {
                "Date": day.isoformat(),
                "Open": open_,
                "High": max(open_, close) + 1,
                "Low": min(open_, close) - 1,
                "Close": close,
                "Adj Close": close * ADJUSTMENT[symbol],
                "Volume": 1_000_000 + d,
            }
        )
        previous = close
    return rows


def write_csv(path: Path, rows: list[dict[str, object]], columns: list[str]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows([row[c.title() if c.islower() else c] for c in columns] for row in rows)
    return path


def write_long(path: Path, symbols: tuple[str, ...] = ("IWM", "QQQ", "SPY")) -> Path:
    """The same bars in long format (symbol, timestamp, ...), grouped by symbol."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["symbol", "timestamp", "open", "high", "low", "close", "volume"])
        for symbol in symbols:
            for row in bars_of(symbol):
                writer.writerow(
                    [symbol, *(row[c] for c in ("Date", "Open", "High", "Low", "Close", "Volume"))]
                )
    return path


@pytest.fixture
def yahoo_folder(tmp_path: Path) -> Path:
    """IWM, QQQ and SPY as one file each: Yahoo's columns, each file in another order and
    case, one of them Parquet."""
    import pandas as pd

    folder = tmp_path / "yahoo"
    folder.mkdir()
    shuffled = YAHOO_COLUMNS[:]
    random.Random(5).shuffle(shuffled)
    write_csv(folder / "IWM.csv", bars_of("IWM"), YAHOO_COLUMNS)
    write_csv(folder / "qqq.csv", bars_of("QQQ"), [c.lower() for c in shuffled if c != "Adj Close"])
    frame = pd.DataFrame(bars_of("SPY"))[list(reversed(YAHOO_COLUMNS))]
    frame["Date"] = pd.to_datetime(frame["Date"])
    frame.to_parquet(folder / "SPY.parquet")
    return folder


def test_a_folder_of_yahoo_files_gives_the_output_of_the_long_file(
    yahoo_folder, universe_file, tmp_path
):
    long = replay(
        write_long(tmp_path / "long.csv"),
        "--config",
        universe_file,
        "--out",
        tmp_path / "long.jsonl",
    )
    done = replay(yahoo_folder, "--config", universe_file, "--out", tmp_path / "folder.jsonl")
    expected = (tmp_path / "long.jsonl").read_bytes()
    assert expected and (tmp_path / "folder.jsonl").read_bytes() == expected
    assert summary(done.stderr).split(": ", 1)[1] == summary(long.stderr).split(": ", 1)[1]
    # Read whole, then handed on in chunks that never split one time's rows.
    replay(
        yahoo_folder,
        "--config",
        universe_file,
        "--out",
        tmp_path / "chunks.jsonl",
        "--chunk-rows",
        2,
    )
    assert (tmp_path / "chunks.jsonl").read_bytes() == expected
    assert "120 rows, 480 ticks, 120 bars" in done.stderr
    assert f"replayed {yahoo_folder} (3 files)" in done.stderr
    # The close replayed is Close, not Adj Close, and the replay says so.
    assert "close prices from 'Close', not 'Adj Close'" in done.stderr
    rs = pair_metrics(lines_of(tmp_path / "folder.jsonl"), "IWM/QQQ")
    assert rs[end_of(DAYS[0].isoformat())]["rs"] == 200 / 400


def test_several_files_given_are_merged_like_their_folder(yahoo_folder, universe_file, tmp_path):
    files = sorted(yahoo_folder.iterdir())
    replay(*files, "--config", universe_file, "--out", tmp_path / "files.jsonl")
    replay(yahoo_folder, "--config", universe_file, "--out", tmp_path / "folder.jsonl")
    expected = (tmp_path / "folder.jsonl").read_bytes()
    assert expected and (tmp_path / "files.jsonl").read_bytes() == expected


def test_adjusted_replays_adj_close_with_open_high_low_scaled(
    yahoo_folder, universe_file, tmp_path
):
    (yahoo_folder / "qqq.csv").unlink()
    write_csv(yahoo_folder / "QQQ.csv", bars_of("QQQ"), YAHOO_COLUMNS)
    out = tmp_path / "adjusted.jsonl"
    done = replay(yahoo_folder, "--adjusted", "--config", universe_file, "--out", out)
    assert "close prices from 'Adj Close' (--adjusted)" in done.stderr
    assert "0 bad bars" in done.stderr  # open, high and low follow the close down
    rs = pair_metrics(lines_of(out), "IWM/QQQ")
    assert rs[end_of(DAYS[0].isoformat())]["rs"] == pytest.approx((200 * 0.5) / (400 * 0.8))
    # Without an Adj Close column, --adjusted cannot read a file of the folder.
    table = read_table(yahoo_folder / "IWM.csv", adjusted=True)
    assert table.values["high"][0] == pytest.approx((200 + 1) * 0.5)
    plain = tmp_path / "plain.csv"
    write_csv(plain, bars_of("IWM"), ["Date", "Close"])
    with pytest.raises(InputError, match="--adjusted reads the 'Adj Close' column"):
        read_table(plain, adjusted=True)


def test_a_folder_lists_what_it_could_not_read_and_replays_the_rest(
    yahoo_folder, universe_file, tmp_path
):
    (yahoo_folder / "README.txt").write_text("prices from Yahoo\n")
    (yahoo_folder / "macro.csv").write_text("indicator,value,date\nDGS2,3.43,2026-02-17\n")
    (yahoo_folder / "broken.csv").write_text("Date,Close\n2026-01-05,12\n2026-01-06,abc\n")
    (yahoo_folder / ".DS_Store").write_bytes(b"\0\1")
    (yahoo_folder / "old").mkdir()
    out = tmp_path / "out.jsonl"
    done = replay(yahoo_folder, "--config", universe_file, "--out", out)
    assert "120 rows, 480 ticks, 120 bars" in done.stderr
    assert "4 file(s) of" in done.stderr and "not read (listed at the end)" in done.stderr
    listed = [line for line in done.stderr.splitlines() if line.startswith("note: not read: ")]
    assert listed == [
        f"note: not read: {yahoo_folder / 'README.txt'}: not a CSV or Parquet file (by its name)",
        f"note: not read: {yahoo_folder / 'broken.csv'}, row 2 (line 3), column 'Close': "
        "'abc' is not a number",
        f"note: not read: {yahoo_folder / 'macro.csv'}: missing column 'close' (bars) or "
        "'price' (ticks); columns: indicator, value, date",
        f"note: not read: {yahoo_folder / 'old'}: a folder (folders inside are not searched)",
    ]
    # Listed after the replay, just before the summary line.
    lines = done.stderr.splitlines()
    assert lines.index(listed[-1]) == len(lines) - 2 and lines[-1].startswith("replayed")


def test_a_folder_with_nothing_readable_stops_with_one_line(universe_file, tmp_path):
    folder = tmp_path / "nothing"
    folder.mkdir()
    (folder / "a.txt").write_text("x\n")
    (folder / "b.csv").write_text("indicator,value\nx,1\n")
    done = replay(folder, "--config", universe_file, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    message = done.stderr.strip()
    assert "\n" not in message, message
    assert message.startswith(f"rotation replay: error: {folder}: no file could be read: ")
    assert "a.txt: not a CSV or Parquet file" in message and "b.csv: missing column" in message


def test_a_symbol_in_two_files_is_an_error_naming_both(yahoo_folder, universe_file, tmp_path):
    write_long(yahoo_folder / "more.csv", ("QQQ",))
    done = replay(yahoo_folder, "--config", universe_file, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    message = done.stderr.strip()
    assert "\n" not in message, message
    assert f"QQQ is in both {yahoo_folder / 'more.csv'} and {yahoo_folder / 'qqq.csv'}" in message


def test_one_file_is_named_by_its_stem_or_by_symbol(universe_file, tmp_path):
    prices = write_csv(tmp_path / "prices.csv", bars_of("IWM"), ["Close", "Date", "Volume"])
    done = replay(prices, "--config", universe_file, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "none of its symbols (PRICES)" in done.stderr and "--symbol" in done.stderr

    out = tmp_path / "iwm.jsonl"
    done = replay(prices, "--symbol", "iwm", "--config", universe_file, "--out", out)
    assert "its rows are the bars of IWM, named by --symbol" in done.stderr
    assert "40 rows, 40 ticks, 40 bars" in done.stderr


def test_symbol_is_refused_where_it_cannot_apply(yahoo_folder, universe_file, tmp_path):
    done = replay(yahoo_folder, "--symbol", "IWM", "--config", universe_file, check=False)
    assert done.returncode == 2 and "--symbol names the symbol of one file" in done.stderr
    long = write_long(tmp_path / "long.csv")
    done = replay(long, "--symbol", "IWM", "--config", universe_file, check=False)
    assert done.returncode == 2 and "has a 'symbol' column" in done.stderr


def test_the_time_column_may_be_date_datetime_or_timestamp(tmp_path):
    path = tmp_path / "SPY.csv"
    path.write_text(
        "Datetime,Open,High,Low,Close,Volume\n"
        "2026-01-05 14:30:00+00:00,1,2,0.5,1.5,10\n"
        "2026-01-05 15:30:00+00:00,1.5,2,1,1.8,10\n"
    )
    table = read_table(path)
    assert table.layout == "one symbol" and list(table.symbols) == ["SPY", "SPY"]
    assert table.where(1, "timestamp") == f"{path}, row 2 (line 3), column 'Datetime'"
    assert np.diff(table.ts).tolist() == [3_600_000_000]
    both = tmp_path / "both.csv"
    both.write_text("date,timestamp,close\n2026-01-05,2026-01-05,1\n")
    with pytest.raises(InputError, match="columns 'timestamp' and 'date' both name the time"):
        read_table(both)
    none = tmp_path / "none.csv"
    none.write_text("day,close\n2026-01-05,1\n")
    with pytest.raises(InputError, match="missing the time column 'timestamp'"):
        read_table(none)


@pytest.mark.parametrize(
    ("name", "symbol"),
    [
        ("IWM.csv", "IWM"),
        ("iwm.csv", "IWM"),
        ("IWM.US.csv", "IWM"),
        ("brk.b.csv", "BRK.B"),
        ("^RUT.csv", "^RUT"),
        ("SPY.parquet", "SPY"),
    ],
)
def test_the_symbol_of_a_file_is_its_stem(name, symbol):
    assert symbol_of_file(Path("data") / name) == symbol


@pytest.mark.skipif(not ETF_DAILY.is_dir(), reason=f"real market data not present: {ETF_DAILY}")
def test_real_yahoo_files_give_the_metrics_of_their_long_format(tmp_path):
    """The kittycapital files (Date,Close,High,Low,Open,Volume: Yahoo's download order)
    replayed as they are give what the same bars in long format give."""
    files = [ETF_DAILY / f"{symbol}.csv" for symbol in ("IWM", "QQQ", "SPY", "DIA")]
    long = tmp_path / "long.csv"
    with long.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["symbol", "timestamp", "open", "high", "low", "close", "volume"])
        for path in files:
            with path.open(newline="") as f:
                for row in csv.DictReader(f):
                    writer.writerow(
                        [
                            path.stem,
                            *(row[c] for c in ("Date", "Open", "High", "Low", "Close", "Volume")),
                        ]
                    )
    a = replay(long, "--config", EXAMPLE_CONFIG, "--out", tmp_path / "long.jsonl", "--quiet")
    b = replay(*files, "--config", EXAMPLE_CONFIG, "--out", tmp_path / "files.jsonl", "--quiet")
    expected = (tmp_path / "long.jsonl").read_bytes()
    assert expected and (tmp_path / "files.jsonl").read_bytes() == expected
    assert summary(a.stderr).split(": ", 1)[1] == summary(b.stderr).split(": ", 1)[1]
    assert "4 inputs (4 files)" in b.stderr


def test_feed_replay_takes_a_folder_too(yahoo_folder, universe_file, tmp_path):
    from rotation import processes
    from streams.probe import free_port

    done = subprocess.run(
        processes.rotation_command(
            "feed",
            "replay",
            str(yahoo_folder),
            "--config",
            str(universe_file),
            "--bootstrap",
            f"127.0.0.1:{free_port()}",
            "--checkpoint",
            str(tmp_path / "c.json"),
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "no Kafka broker answers at 127.0.0.1:" in done.stderr
